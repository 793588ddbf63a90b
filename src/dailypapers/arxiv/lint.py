"""Catch queries arXiv accepts but reads differently from what the user meant.

arXiv's operators are uppercase only, so ``abs:x or abs:y`` searches the
word "or" (and ANDs everything); ``AND NOT`` searches the word "NOT"; an
unknown ``cat:`` value silently matches nothing. Those are errors. Text that
is legal and only *probably* a mistake (``au:Yann LeCun``, ``&&``) is a
warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dailypapers.arxiv import query as q
from dailypapers.arxiv.taxonomy import ARCHIVES, CATEGORIES, suggest_category

_SYMBOLS = {"&&": "AND", "&": "AND", "+": "AND", "||": "OR", "|": "OR"}
_URL_OPERATOR = re.compile(r"\+(?:AND|OR|ANDNOT)\+")
_URL_SPACE = re.compile(r"[^\W\d_]\+[^\W\d_]")  # letters both sides: not C++ nor 3+1


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a query; ``error`` findings stop the config from loading."""

    message: str
    error: bool


def lint(query: str) -> list[Finding]:
    """Every likely mistake in ``query``, errors first. The query must parse."""
    tokens = q.lex(query)
    findings: list[Finding] = []
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        if isinstance(token.leaf, q.Term):
            field = f"{token.leaf.field}:"
            quoted = query.startswith('"', token.position) or query.startswith(
                f'{field}"', token.position
            )
            findings += _check_term(token.leaf, quoted, previous)
    return sorted(findings, key=lambda finding: not finding.error)


def errors(query: str) -> list[str]:
    """The messages of the error findings of ``query``."""
    return [finding.message for finding in lint(query) if finding.error]


def warnings(query: str) -> list[str]:
    """The messages of the warning findings of ``query``."""
    return [finding.message for finding in lint(query) if not finding.error]


def _check_term(term: q.Term, quoted: bool, previous: q.Token | None) -> list[Finding]:
    url_like = "+" in term.text and (term.field != "cat" or _URL_OPERATOR.search(term.text))
    if url_like and not quoted and term.text not in _SYMBOLS:  # a bare `+`: below
        return _check_url_encoding(term)
    if term.field == "cat":
        return _check_category(term.text)
    if term.field != "all" or quoted:
        return []
    word = term.text
    if word.upper() in q.OPERATORS:
        return [
            Finding(
                f"lowercase `{word}` is searched as a word (arXiv's operators are uppercase); "
                f"did you mean `{word.upper()}`?",
                True,
            )
        ]
    if word.upper() == "NOT":
        after_and = previous is not None and previous.kind == "op" and previous.value == "AND"
        text = "`AND NOT` searches the word NOT" if after_and else "arXiv has no `NOT`"
        return [Finding(f"{text}; arXiv writes `ANDNOT` (as in `abs:x ANDNOT abs:y`)", True)]
    if word in _SYMBOLS:
        return [Finding(f"`{word}` is searched as text; did you mean `{_SYMBOLS[word]}`?", False)]
    return _check_split_value(term, previous)


def _check_url_encoding(term: q.Term) -> list[Finding]:
    """``ti:reward+AND+abs:model``, copied from arXiv's API examples (URL-encoded): one
    term, searched as that text, which matches nothing."""
    text = term.text
    plain = " ".join(text.replace("+", " ").split())
    if _URL_OPERATOR.search(text):
        written = f"{term.field}:{text}" if term.field != "all" else text
        return [
            Finding(
                f"`{written}` is one term: `+` is a URL's space (arXiv's examples are "
                f"URL-encoded); write `{term.field + ':' if term.field != 'all' else ''}{plain}`",
                True,
            )
        ]
    if not _URL_SPACE.search(text):  # `C++`: a name, not a space
        return []
    return [
        Finding(
            f"`+` in `{text}` is searched as text (a URL's space?); "
            f'did you mean `{term.field}:"{plain}"`?',
            False,
        )
    ]


def _check_split_value(term: q.Term, previous: q.Token | None) -> list[Finding]:
    """``au:Yann LeCun``: the second word goes to all fields, not to the author."""
    leaf = previous.leaf if previous is not None else None
    if not isinstance(leaf, q.Term) or leaf.field == "all" or leaf.phrase:
        return []
    together = f'{leaf.field}:"{leaf.text} {term.text}"'
    return [
        Finding(
            f"`{term.text}` after `{leaf.field}:{leaf.text}` is searched in all fields; "
            f"did you mean `{together}`?",
            False,
        )
    ]


def _check_category(name: str) -> list[Finding]:
    if name in CATEGORIES or name in ARCHIVES:
        return []
    guess = suggest_category(name)
    hint = f"did you mean `{guess}`?" if guess else "see https://arxiv.org/category_taxonomy"
    return [Finding(f"unknown category `{name}`; {hint}", True)]
