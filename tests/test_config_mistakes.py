"""A new user's typical config mistakes: each is one line with file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dailypapers.arxiv import lint
from dailypapers.arxiv.taxonomy import suggest_category
from dailypapers.config import ConfigError, load_config

TOPIC = '[[topics]]\nname = "LLM Reasoning"\n'


def error_of(tmp_path: Path, text: str, strict: bool = False) -> str:
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, strict=strict)
    message = str(info.value)
    assert "\n" not in message
    return message.removeprefix(str(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "max_paper = 50\n" + TOPIC,
            ":1: max_paper: unknown key `max_paper`; did you mean `max_papers`?",
        ),
        (
            TOPIC + "\n[arxv]\ndelay = 1\n",
            ":4: arxv: unknown section `[arxv]`; did you mean `[arxiv]`?",
        ),
        (
            'max_papers = "50"\n' + TOPIC,
            ':1: max_papers: must be an integer, not the string "50" (drop the quotes)',
        ),
        (
            TOPIC + "query = 'abs:reasoning or abs:reward'\n",
            ":3: topics[0].query: lowercase `or` is searched as a word (arXiv's operators"
            " are uppercase); did you mean `OR`? (topic 'LLM Reasoning')",
        ),
        (
            TOPIC + "query = 'abs:x AND NOT abs:y'\n",
            ":3: topics[0].query: `AND NOT` searches the word NOT; arXiv writes `ANDNOT`"
            " (as in `abs:x ANDNOT abs:y`) (topic 'LLM Reasoning')",
        ),
    ],
    ids=["misspelt-key", "misspelt-section", "wrong-type", "lowercase-or", "and-not"],
)
def test_five_typical_mistakes(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[topic]]\nname = "A"\n',
            ":1: topic: unknown section `[[topic]]`; did you mean `[[topics]]`?",
        ),
        ('keywords = ["SLAM"]\n' + TOPIC, ":1: keywords: unknown key `keywords`: cv-arxiv"),
    ],
)
def test_an_unknown_array_is_named_as_written(tmp_path: Path, text: str, expected: str) -> None:
    # Before: "[topic]" and "did you mean `[topics]`" (one bracket: the very mistake
    # a single-bracket [topics] is refused for), and `keywords = [...]` a section.
    assert error_of(tmp_path, text).startswith(expected)


@pytest.mark.parametrize("phrase", ['"survey"', 'a "quoted" word'])
def test_a_quoted_exclude_is_a_config_error(tmp_path: Path, phrase: str) -> None:
    """Before, it loaded, then every command failed on it as an "unexpected error"
    (exit 1) when the query was built, leaving a run unfinished."""
    text = TOPIC + f"exclude = ['{phrase}']\n"
    message = error_of(tmp_path, text)
    assert message.startswith(":3: topics[0].exclude: ")
    assert "write the phrase without quotes" in message and "(topic 'LLM Reasoning')" in message


def test_a_boolean_is_not_a_number(tmp_path: Path) -> None:
    message = error_of(tmp_path, "max_papers = true\n" + TOPIC)
    assert message == ":1: max_papers: must be an integer, not true (a boolean)"


def test_unknown_category_in_a_query_is_named_with_the_fix(tmp_path: Path) -> None:
    message = error_of(tmp_path, "\n" + TOPIC + "query = 'cat:cs.NLP AND abs:agent'\n")
    assert message.startswith(":4: topics[0].query: unknown category `cs.NLP`;")
    assert "did you mean `cs.CL`?" in message


def test_duplicate_topic_has_a_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, TOPIC + "\n" + TOPIC.replace("LLM", "llm"))
    assert message.startswith(":5: topics[1].name: duplicate topic name 'llm Reasoning'")


def test_misspelt_topic_key_names_the_topic(tmp_path: Path) -> None:
    message = error_of(tmp_path, TOPIC + 'categoires = ["cs.CL"]\n')
    assert message == (
        ":3: topics[0].categoires: unknown key `categoires`; did you mean `categories`?"
        " (topic 'LLM Reasoning')"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('keywords = ["SLAM"]\n' + TOPIC, "cv-arxiv-daily's `keywords`"),
        (TOPIC + 'filters = ["SLAM"]\n', "cv-arxiv-daily's `filters` become the topic's `query`"),
        ('arxiv_query = "cs.AI+cs.CL"\n' + TOPIC, 'categories = ["cs.AI", "cs.CL"]'),
        ('categories = ["cs.AI"]\n' + TOPIC, "zotero-arxiv-daily's categories"),
    ],
)
def test_peer_keys_get_a_migration_hint(tmp_path: Path, text: str, fragment: str) -> None:
    message = error_of(tmp_path, text)
    assert fragment in message and ":" in message.split(" ")[0]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('keywords = ["SLAM"]\n', "cv-arxiv-daily's `keywords`"),
        ('arxiv_query = "cs.AI+cs.CL"\n', 'categories = ["cs.AI", "cs.CL"]'),
        ('[[topic]]\nname = "SLAM"\n', "did you mean `[[topics]]`?"),
        ('[[Topics]]\nname = "SLAM"\n', "did you mean `[[topics]]`?"),
    ],
)
def test_a_config_without_topics_names_what_was_written_instead(
    tmp_path: Path, text: str, fragment: str
) -> None:
    """A peer's config, or a misspelt `[[topics]]`, alone: before, the first error was
    "topics: is required", and the hint that says what to change was hidden."""
    message = error_of(tmp_path, text)
    assert message.startswith(":1: ") and fragment in message


def test_no_topics_at_all_says_how_to_add_one(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'title = "Papers"\n')
    assert (
        message
        == ': topics: is required: add a [[topics]] table with a name (name = "Reward Model")'
    )


def test_warnings_load_and_strict_makes_them_errors(tmp_path: Path) -> None:
    path = tmp_path / "papers.toml"
    path.write_text(TOPIC + "query = 'au:Yann LeCun'\n", encoding="utf-8")
    config = load_config(path)
    assert config.warnings == (
        f"{path}:3: topics[0].query: `LeCun` after `au:Yann` is searched in all fields;"
        " did you mean `au:\"Yann LeCun\"`? (topic 'LLM Reasoning')",
    )
    assert "--strict" in error_of(tmp_path, path.read_text(), strict=True)
    assert "LeCun" in error_of(tmp_path, "strict = true\n" + path.read_text())


@pytest.mark.parametrize(
    ("query", "errors", "warnings"),
    [
        ("abs:a OR abs:b", 0, 0),
        ('abs:"a or b"', 0, 0),
        ("abs:a and abs:b", 1, 0),
        ("abs:a Andnot abs:b", 1, 0),
        ("abs:a NOT abs:b", 1, 0),
        ("cat:cs.CL OR cat:stat.ML OR cat:hep-th", 0, 0),
        ("cat:cs.XX", 1, 0),
        ("abs:a || abs:b", 0, 1),
        ("abs:reward model", 0, 1),
        ('abs:"reward" model', 0, 0),
        # arXiv's API examples are URL-encoded: `+` is a space there, one term here
        ("ti:reward+AND+abs:model", 1, 0),
        ("reward+OR+model", 1, 0),
        ("cat:cs.AI+OR+cat:cs.CL", 1, 0),
        ("ti:reward+model", 0, 1),
        ("abs:C++ AND abs:compiler", 0, 0),
        ("abs:3+1 AND abs:dimensions", 0, 0),
        ('ti:"a+AND+b"', 0, 0),
        ("abs:x + abs:y", 0, 1),
    ],
)
def test_lint_counts(query: str, errors: int, warnings: int) -> None:
    assert len(lint.errors(query)) == errors
    assert len(lint.warnings(query)) == warnings


def test_a_url_encoded_query_says_how_to_write_it(tmp_path: Path) -> None:
    """Before, `ti:reward+AND+abs:model` loaded without a word and matched nothing."""
    message = error_of(tmp_path, TOPIC + "query = 'ti:reward+AND+abs:model'\n")
    assert message == (
        ":3: topics[0].query: `ti:reward+AND+abs:model` is one term: `+` is a URL's space"
        " (arXiv's examples are URL-encoded); write `ti:reward AND abs:model`"
        " (topic 'LLM Reasoning')"
    )


def test_category_suggestions() -> None:
    assert suggest_category("cs.NLP") == "cs.CL"
    assert suggest_category("CS.lg") == "cs.LG"
    assert suggest_category("stat.MLL") == "stat.ML"
    assert suggest_category("zz.top") is None
