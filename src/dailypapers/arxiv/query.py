"""arXiv's query grammar: parse, validate, build, print and evaluate locally.

The grammar is the one of arXiv's API user manual, as validated by the
backend arXiv deployed on 2025-11-11:

* ``field:value`` with the fields ``ti au abs co jr cat rn id all`` and the
  date ranges ``submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`` and
  ``lastUpdatedDate:[...]`` (GMT, inclusive; 14 digits with seconds are
  accepted too, other date forms are errors as on arXiv).
* A value is a bare word or a double-quoted phrase. A bare word without a
  field means ``all:`` (arXiv rewrites bare words the same way).
* ``AND``, ``OR`` and ``ANDNOT`` (uppercase only, as on arXiv), with
  parentheses. ``AND``/``ANDNOT`` bind tighter than ``OR``; all are
  left-associative.

Choices of ours where arXiv documents nothing:

* Two terms with no operator between them combine with ``AND``.
* A bare value that cannot be sent bare (a hyphen, a colon, ...) is stored
  as a phrase: an unquoted hyphenated term acts as NOT on arXiv
  (arXiv/arxiv-search#322), so :func:`to_string` quotes it.
* Matching is on analysed tokens (:func:`analyze`): a value of one token
  matches when its stem occurs in the field; a value of several tokens
  (a phrase, or ``au:del_maestro`` where underscores mean spaces) matches
  when the stems occur consecutively inside one field, or inside one
  author's name. ``cat`` compares category names exactly; ``id`` compares
  the id with or without its current version; ``rn`` never matches (the
  model keeps no report numbers). A value with no word characters never
  matches.
* A date range whose bound has no seconds covers that whole minute.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dailypapers.models import Paper

TEXT_FIELDS = frozenset({"ti", "au", "abs", "co", "jr", "cat", "rn", "id", "all"})
DATE_FIELDS = frozenset({"submittedDate", "lastUpdatedDate"})
FIELDS = TEXT_FIELDS | DATE_FIELDS
OPERATORS = frozenset({"AND", "OR", "ANDNOT"})

_WORD_RE = re.compile(r"[^\W_]+")
# ASCII text: every character but a letter or digit becomes a space, then str.split
# (the same tokens as _WORD_RE, about three times faster).
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
_BARE_RE = re.compile(r"[A-Za-z0-9._]+")
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_DELIMITERS = frozenset('()"')
_DATE_RANGE_RE = re.compile(r"\[(\d{12}|\d{14})\s+TO\s+(\d{12}|\d{14})\]")
_DATE_RANGE_HINT = "expected [YYYYMMDDHHMM TO YYYYMMDDHHMM]"
_STAMP_SLICES = ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))  # seconds optional


# --- text analysis -----------------------------------------------------------

_STEMMER_LOCK = threading.Lock()  # snowball stemmers keep state: not thread-safe


@functools.cache
def _stemmer() -> Any:
    """Snowball's English stemmer, imported on first use (config loading needs none).

    PyStemmer (snowballstemmer's C backend) keeps a cache of its own, 10,000
    words by default, which :class:`_StemCache` makes redundant: with it,
    stemming a cold start's 21,000 distinct words of real text through
    the stem cache took 78 ms instead of 24 (its purges), so it is turned off.
    """
    import snowballstemmer

    stemmer = snowballstemmer.stemmer("english")
    if hasattr(stemmer, "maxCacheSize"):  # PyStemmer; the pure-Python one has none
        stemmer.maxCacheSize = 0
    return stemmer


MAX_STEMS = 1 << 18  # words whose stems are kept (a 20-topic cold start meets 21,000)


class _StemCache(dict[str, str]):
    """Each word's stem, stemmed on its first look-up (``__missing__``).

    Read through ``map(_STEMS.__getitem__, words)``, a known word is one
    look-up in C: the 280,000 words of 1,400 real titles and abstracts take
    10 ms, against 20-30 ms through ``functools.lru_cache``, which also
    reorders its entries on every hit. Bounded: a full cache starts over.
    """

    misses = 0  # words stemmed (``bench/phases.py`` reports them)

    def __missing__(self, word: str) -> str:
        with _STEMMER_LOCK:
            stem = str(_stemmer().stemWord(word))
            self.misses += 1
        if len(self) >= MAX_STEMS:
            self.clear()
        self[word] = stem
        return stem


_STEMS = _StemCache()


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def analyze(text: str) -> list[str]:
    """Split ``text`` into the stemmed word tokens used for all matching.

    Accents are folded (NFKD), case is lowered, anything that is not a
    letter or digit separates tokens (so ``reward-model`` is two), and each
    token is stemmed with Snowball's English stemmer, as arXiv's search is.
    """
    folded = _fold(text)
    if folded.isascii():
        words = folded.translate(_ASCII_SEPARATORS).split()
    else:
        words = _WORD_RE.findall(folded)
    return list(map(_STEMS.__getitem__, words))


# --- syntax tree -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """``field:text``; ``phrase`` is True when the value is (or must be) quoted."""

    field: str
    text: str
    phrase: bool = False

    def __post_init__(self) -> None:
        if self.field not in TEXT_FIELDS:
            raise ValueError(f"not a text field: {self.field!r}")
        if not self.text.strip() or '"' in self.text:
            raise ValueError(f"a value must be non-blank and without quotes: {self.text!r}")
        if not self.phrase and not _BARE_RE.fullmatch(self.text):
            object.__setattr__(self, "phrase", True)


@dataclass(frozen=True, slots=True)
class DateRange:
    """``field:[start TO end]``, inclusive, on an aware UTC timestamp."""

    field: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.field not in DATE_FIELDS:
            raise ValueError(f"not a date field: {self.field!r}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("date range bounds must be timezone-aware")
        if self.start > self.end:
            raise ValueError("date range starts after it ends")


@dataclass(frozen=True, slots=True)
class And:
    """Both sides match."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    """Either side matches."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class AndNot:
    """The left side matches and the right side does not."""

    left: Node
    right: Node


Node = Term | DateRange | And | Or | AndNot


MAX_DEPTH = 50  # nested parentheses: far beyond any real query, far below Python's stack


class QuerySyntaxError(ValueError):
    """A query arXiv would reject; the message names the character position."""

    def __init__(self, message: str, position: int | None = None, detail: str = "") -> None:
        text = message if position is None else f"{message} at {position}"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.position = position


# --- lexer -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(" ")" "op" "leaf" "end"
    position: int
    value: str = ""
    leaf: Term | DateRange | None = None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> list[_Token]:
        found: list[_Token] = []
        while self._skip_space():
            found.append(self._next())
        found.append(_Token("end", len(self.text)))
        return found

    def _skip_space(self) -> bool:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos < len(self.text)

    def _next(self) -> _Token:
        start, char = self.pos, self.text[self.pos]
        if char in "()":
            self.pos += 1
            return _Token(char, start)
        match = _FIELD_RE.match(self.text, start)
        if match is None:
            return self._bare_or_operator(start)
        field = match.group(1)
        if field not in FIELDS:
            raise QuerySyntaxError(f"unknown field {field!r}", start)
        self.pos = match.end()
        if field in DATE_FIELDS:
            return _Token("leaf", start, leaf=self._date_range(field))
        return _Token("leaf", start, leaf=self._value(field))

    def _bare_or_operator(self, start: int) -> _Token:
        if self.text[start] != '"':
            word = self._word()
            if word in OPERATORS:
                return _Token("op", start, word)
            return _Token("leaf", start, leaf=Term("all", word))
        return _Token("leaf", start, leaf=self._value("all"))

    def _value(self, field: str) -> Term:
        start = self.pos
        if start < len(self.text) and self.text[start] == '"':
            return Term(field, self._quoted(), phrase=True)
        word = self._word()
        if not word:
            raise QuerySyntaxError(f"missing value for {field!r}", start)
        return Term(field, word)

    def _word(self) -> str:
        start = self.pos
        text = self.text
        while self.pos < len(text) and not text[self.pos].isspace():
            if text[self.pos] in _DELIMITERS:
                break
            self.pos += 1
        return text[start : self.pos]

    def _quoted(self) -> str:
        start = self.pos
        end = self.text.find('"', start + 1)
        if end < 0:
            raise QuerySyntaxError("unterminated quote", start)
        value = self.text[start + 1 : end]
        if not value.strip():
            raise QuerySyntaxError("empty phrase", start)
        self.pos = end + 1
        return value

    def _date_range(self, field: str) -> DateRange:
        start = self.pos
        match = _DATE_RANGE_RE.match(self.text, start)
        if match is None:
            raise QuerySyntaxError("bad date range", start, _DATE_RANGE_HINT)
        self.pos = match.end()
        low, high = (_parse_stamp(group, start) for group in match.groups())
        if low > high:
            raise QuerySyntaxError("bad date range", start, "start is after end")
        return DateRange(field, low, high)


def _parse_stamp(digits: str, position: int) -> datetime:
    year, month, day, hour, minute, second = (int(digits[a:b] or 0) for a, b in _STAMP_SLICES)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise QuerySyntaxError("bad date range", position, f"no such date {digits}") from None


Token = _Token


def lex(query: str) -> list[Token]:
    """The tokens of ``query``, ending with an ``end`` token (used by the linter)."""
    return _Lexer(query).tokens()


# --- parser ------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0  # parentheses open around the current token

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def query(self) -> Node:
        node = self._or()
        if self.current.kind != "end":  # only a stray ")" stops the loops early
            raise QuerySyntaxError("unbalanced parenthesis", self.current.position)
        return node

    def _or(self) -> Node:
        node = self._and()
        while self.current.kind == "op" and self.current.value == "OR":
            self._advance()
            node = Or(node, self._and())
        return node

    def _and(self) -> Node:
        node = self._primary()
        while True:
            token = self.current
            if token.kind == "op" and token.value in ("AND", "ANDNOT"):
                self._advance()
                right = self._primary()
                node = And(node, right) if token.value == "AND" else AndNot(node, right)
            elif token.kind in ("leaf", "("):
                node = And(node, self._primary())  # adjacent terms: implicit AND
            else:
                return node

    def _primary(self) -> Node:
        token = self._advance()
        if token.kind == "leaf" and token.leaf is not None:
            return token.leaf
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    f"parentheses nested deeper than {MAX_DEPTH}", token.position
                )
            node = self._or()
            self.depth -= 1
            if self.current.kind != ")":
                raise QuerySyntaxError("unbalanced parenthesis", token.position)
            self._advance()
            return node
        if token.kind in ("end", ")"):
            raise QuerySyntaxError("expected a term", token.position)
        raise QuerySyntaxError(f"unexpected operator {token.value!r}", token.position)


def parse(query: str) -> Node:
    """Parse an arXiv query string into its syntax tree.

    Raises :class:`QuerySyntaxError` (a ``ValueError``) with a one-line
    message naming the position, e.g. ``unbalanced parenthesis at 14``.
    """
    if not query.strip():
        raise QuerySyntaxError("empty query")
    return _Parser(_Lexer(query).tokens()).query()


# --- printing ----------------------------------------------------------------

_SYMBOLS: dict[type, str] = {And: "AND", Or: "OR", AndNot: "ANDNOT"}
_LEVELS: dict[type, int] = {And: 1, AndNot: 1, Or: 0}


def _stamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y%m%d%H%M%S" if value.second else "%Y%m%d%H%M")


def _leaf_string(node: Term | DateRange) -> str:
    if isinstance(node, DateRange):
        return f"{node.field}:[{_stamp(node.start)} TO {_stamp(node.end)}]"
    value = f'"{node.text}"' if node.phrase else node.text
    return f"{node.field}:{value}"


def _operand(node: Node) -> str:
    text = to_string(node)
    return text if isinstance(node, Term | DateRange) else f"({text})"


def to_string(node: Node) -> str:
    """The canonical arXiv query string for ``node``; ``parse`` reverses it.

    Every term carries its field, phrases and values that cannot go bare
    are quoted, and parentheses make the grouping explicit.
    """
    if isinstance(node, Term | DateRange):
        return _leaf_string(node)
    # Only a left operand of the same level goes bare: arXiv documents no
    # precedence, so anything that relies on it is parenthesised. Walking the
    # left spine in a loop keeps long OR/ANDNOT chains off the call stack.
    level, tail = _LEVELS[type(node)], []
    while isinstance(node, And | Or | AndNot) and _LEVELS[type(node)] == level:
        tail.append(f"{_SYMBOLS[type(node)]} {_operand(node.right)}")
        node = node.left
    return " ".join([_operand(node), *reversed(tail)])


# --- builders ----------------------------------------------------------------


def phrase(field: str, text: str) -> Term:
    """A quoted term, ``field:"text"``, as the reference tool sent every keyword.

    Runs of whitespace collapse to one space. (For one word, quoting changes
    nothing in matching; use ``Term(field, word)`` for a bare ``field:word``.)
    """
    return Term(field, " ".join(text.split()), phrase=True)


def any_of(nodes: Iterable[Node]) -> Node:
    """``a OR b OR ...``; raises ``ValueError`` when ``nodes`` is empty."""
    return _chain(Or, nodes)


def all_of(nodes: Iterable[Node]) -> Node:
    """``a AND b AND ...``; raises ``ValueError`` when ``nodes`` is empty."""
    return _chain(And, nodes)


def exclude(node: Node, nodes: Iterable[Node]) -> Node:
    """``node ANDNOT a ANDNOT b ...``; ``node`` itself when ``nodes`` is empty."""
    return functools.reduce(AndNot, nodes, node)


def _chain(operator: type[And] | type[Or], nodes: Iterable[Node]) -> Node:
    items = list(nodes)
    if not items:
        raise ValueError(f"{operator.__name__} of no query terms")
    return functools.reduce(operator, items)


# --- local evaluation --------------------------------------------------------

_Segments = tuple[tuple[str, ...], ...]
_ANALYSED_FIELDS = ("ti", "abs", "au", "co", "jr", "all")


def _segments(texts: Iterable[str | None]) -> _Segments:
    return tuple(tuple(analyze(text)) for text in texts if text)


_FIELD_TEXTS: dict[str, Callable[[Paper], Iterable[str | None]]] = {
    "ti": lambda paper: [paper.title],
    "abs": lambda paper: [paper.abstract],
    "au": lambda paper: paper.author_names,
    "co": lambda paper: [paper.comment],
    "jr": lambda paper: [paper.journal_ref],
}


class _Analysed(dict[str, _Segments]):
    """A paper's segments, each field analysed when a matcher first asks for it
    (a scan of thousands of papers for title and abstract queries never
    analyses their authors, comments or journal references)."""

    def __init__(self, paper: Paper) -> None:
        super().__init__()
        self.paper = paper

    def __missing__(self, field: str) -> _Segments:
        if field == "all":
            every = (*(self[name] for name in _FIELD_TEXTS), _segments(self.paper.categories))
            found = tuple(segment for group in every for segment in group)
        elif field in _FIELD_TEXTS:
            found = _segments(_FIELD_TEXTS[field](self.paper))
        else:
            raise KeyError(field)
        self[field] = found
        return found


class _Stems(dict[str, frozenset[str]]):
    """The set of each field's tokens, built when first asked for."""

    def __init__(self, segments: dict[str, _Segments]) -> None:
        super().__init__()
        self.segments = segments

    def __missing__(self, field: str) -> frozenset[str]:
        found = frozenset(token for segment in self.segments[field] for token in segment)
        self[field] = found
        return found


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """A paper analysed once for matching.

    ``segments`` maps ``ti abs au co jr all`` to token runs a phrase may not
    cross (one per author, one per field inside ``all``); ``stems`` maps the
    same fields to the set of their tokens. Both are filled field by field,
    as matchers ask.
    """

    segments: dict[str, _Segments]
    stems: dict[str, frozenset[str]]
    categories: frozenset[str]
    ids: frozenset[str]
    published: datetime
    updated: datetime

    @classmethod
    def from_paper(cls, paper: Paper) -> Document:
        """A document of ``paper``, whose fields are analysed on first use."""
        segments = _Analysed(paper)
        return cls(
            segments=segments,
            stems=_Stems(segments),
            categories=frozenset(paper.categories),
            ids=frozenset({paper.id, paper.versioned_id}),
            published=paper.published,
            updated=paper.updated,
        )


Matcher = Callable[[Document], bool]


def _phrase_positions(tokens: tuple[str, ...], segment: tuple[str, ...]) -> Iterator[int]:
    """Where ``tokens`` occur consecutively in ``segment``."""
    first, size = tokens[0], len(tokens)
    position = -1
    while True:
        try:
            position = segment.index(first, position + 1)
        except ValueError:
            return
        if segment[position : position + size] == tokens:
            yield position


def _never(doc: Document) -> bool:
    return False


def _text_matcher(field: str, tokens: tuple[str, ...]) -> Matcher:
    if not tokens:
        return _never
    if len(tokens) == 1:
        stem = tokens[0]
        return lambda doc: stem in doc.stems[field]
    needed = frozenset(tokens)

    def match_phrase(doc: Document) -> bool:
        if not needed <= doc.stems[field]:
            return False
        segments = doc.segments[field]
        return any(next(_phrase_positions(tokens, seg), -1) >= 0 for seg in segments)

    return match_phrase


def _term_matcher(term: Term) -> Matcher:
    if term.field == "cat":
        return lambda doc: term.text in doc.categories
    if term.field == "id":
        return lambda doc: term.text in doc.ids
    if term.field == "rn":
        return _never
    return _text_matcher(term.field, tuple(analyze(term.text)))


def _date_matcher(node: DateRange) -> Matcher:
    start = node.start
    # A bound without seconds is minute resolution: it covers its whole minute.
    step = timedelta(seconds=1) if node.end.second or node.end.microsecond else timedelta(minutes=1)
    try:
        stop = node.end.replace(microsecond=0) + step
    except OverflowError:  # ...TO 999912312359]: the end of time
        stop = datetime.max.replace(tzinfo=node.end.tzinfo)
    if node.field == "submittedDate":
        return lambda doc: start <= doc.published < stop
    return lambda doc: start <= doc.updated < stop


def _flatten(node: Node, kind: type[And] | type[Or] | type[AndNot]) -> list[Node]:
    """The operands of a chain of ``kind``; for ANDNOT, the left spine only."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, kind):
            found.append(current)
        elif kind is AndNot:
            found.append(current.right)
            stack.append(current.left)
        else:
            stack += [current.right, current.left]
    return found[::-1] if kind is AndNot else found


def compile_query(node: Node) -> Matcher:
    """Compile ``node`` into a fast predicate over :class:`Document`."""
    if isinstance(node, Term):
        return _term_matcher(node)
    if isinstance(node, DateRange):
        return _date_matcher(node)
    parts = tuple(compile_query(child) for child in _flatten(node, type(node)))
    if isinstance(node, AndNot):
        keep, drops = parts[0], parts[1:]
        return lambda doc: keep(doc) and not any(drop(doc) for drop in drops)
    if isinstance(node, And):
        return lambda doc: all(part(doc) for part in parts)
    return lambda doc: any(part(doc) for part in parts)


def matches(node: Node, paper: Paper) -> bool:
    """True when ``paper`` satisfies ``node`` (convenience; compile once for many)."""
    return compile_query(node)(Document.from_paper(paper))


def positive_terms(node: Node) -> list[Term]:
    """The terms of ``node`` that count for a match (not under an ``ANDNOT`` right side)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Term):
            found.append(current)
        elif isinstance(current, And | Or):
            stack += [current.right, current.left]
        elif isinstance(current, AndNot):
            stack.append(current.left)
    return found


@functools.lru_cache(maxsize=4096)
def _query_tokens(text: str) -> tuple[str, ...]:
    return tuple(analyze(text))


def count_occurrences(node: Node, doc: Document) -> int:
    """How many times the positive terms of ``node`` occur in ``doc``.

    A simple, deterministic relevance signal (the fake server ranks by it).
    """
    total = 0
    for term in positive_terms(node):
        if term.field in ("cat", "id", "rn"):
            total += int(_term_matcher(term)(doc))
            continue
        tokens = _query_tokens(term.text)
        if tokens:
            segments = doc.segments[term.field]
            total += sum(len(list(_phrase_positions(tokens, seg))) for seg in segments)
    return total
