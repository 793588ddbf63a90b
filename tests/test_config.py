from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.arxiv import query as q
from dailypapers.config import ConfigError, load_config
from dailypapers.scaffold import CONFIG_TEMPLATE

MINIMAL = '[[topics]]\nname = "Reward Model"\n'


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "papers.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_reproduce_the_reference(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    settings = config.settings
    assert settings.title == "Daily Papers"
    assert settings.max_papers == 100
    assert settings.archives == ["cs", "stat"]
    assert settings.outputs == ["readme"]
    assert settings.timezone == "UTC"
    assert settings.arxiv.delay == 3.0
    assert config.db_url == f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}"
    assert config.readme_path == tmp_path / "README.md"


def test_several_words_search_title_or_abstract(tmp_path: Path) -> None:
    topic = load_config(write(tmp_path, MINIMAL)).settings.topics[0]
    assert q.to_string(topic.base_query()) == 'ti:"Reward Model" OR abs:"Reward Model"'


def test_one_word_searches_title_and_abstract(tmp_path: Path) -> None:
    topic = load_config(write(tmp_path, '[[topics]]\nname = "Reasoning"\n')).settings.topics[0]
    assert q.to_string(topic.base_query()) == 'ti:"Reasoning" AND abs:"Reasoning"'


def test_search_query_adds_archives_categories_and_exclusions(tmp_path: Path) -> None:
    text = (
        'archives = ["stat"]\n[[topics]]\nname = "Reasoning"\n'
        'categories = ["cs.CL"]\nexclude = ["survey"]\n'
    )
    topic = load_config(write(tmp_path, text)).settings.topics[0]
    query = q.to_string(topic.search_query(["stat"]))
    assert "cat:stat.ML" in query and "cat:stat.TH" in query
    assert "cat:cs.CL" in query
    assert query.count("ANDNOT") == 1 and '"survey"' in query
    assert q.parse(query) == topic.search_query(["stat"])


def test_full_query_is_kept(tmp_path: Path) -> None:
    text = "[[topics]]\nname = \"Agents\"\nquery = 'abs:agent AND cat:cs.AI'\n"
    topic = load_config(write(tmp_path, text)).settings.topics[0]
    assert topic.base_query() == q.parse("abs:agent AND cat:cs.AI")


def test_init_template_is_valid(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, CONFIG_TEMPLATE)).settings
    assert [t.name for t in settings.topics] == ["Reward Model", "Reasoning"]


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL + "[arxiv]\ndelay = 5\n")
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "0")
    monkeypatch.setenv("DAILYPAPERS_DB", "sqlite:////tmp/other.db")
    config = load_config(path)
    assert config.settings.arxiv.api_url == "http://127.0.0.1:9/api/query"
    assert config.settings.arxiv.delay == 0
    assert config.db_url == "sqlite:////tmp/other.db"


@pytest.mark.parametrize(
    "name",
    [
        "DAILYPAPERS_DB",
        "DAILYPAPERS_ARXIV_URL",
        "DAILYPAPERS_FEED_URL",
        "DAILYPAPERS_OAI_URL",
        "DAILYPAPERS_LLM_URL",
        "DAILYPAPERS_EMBEDDINGS_URL",
        "DAILYPAPERS_ARXIV_DELAY",
    ],
)
def test_an_empty_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # GitHub Actions passes a secret that is not defined as "": before, it overrode the
    # file's value and the error blamed papers.toml ("store.url: not a database URL").
    text = (
        MINIMAL
        + '[summaries]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        + '[embeddings]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
    )
    expected = load_config(write(tmp_path, text))
    monkeypatch.setenv(name, " ")
    config = load_config(write(tmp_path, text))
    assert config.settings == expected.settings and config.db_url == expected.db_url


def test_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_CONFIG", str(other))
    assert load_config().path == other


def test_relative_sqlite_url_is_beside_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + '[store]\nurl = "sqlite:///state/p.db"\n'))
    assert config.db_url == f"sqlite:///{tmp_path / 'state' / 'p.db'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colour = 1\n" + MINIMAL, ":1: colour: unknown key"),
        (MINIMAL + "colour = 1\n", ":3: topics[0].colour: unknown key"),
        ('[[topics]]\nname = ""\n', ":2: topics[0].name:"),
        (MINIMAL + '[[topics]]\nname = "reward model"\n', "duplicate topic name"),
        ("max_papers = -1\n" + MINIMAL, ":1: max_papers:"),
        ("max_papers = 1000000\n" + MINIMAL, ":1: max_papers:"),
        ("max_papers = 'ten'\n" + MINIMAL, ":1: max_papers:"),
        (MINIMAL + "query = 'ti:(unbalanced'\n", ":3: topics[0].query:"),
        (MINIMAL + 'categories = ["cs.XX"]\n', "unknown arXiv category 'cs.XX'"),
        ('archives = ["physic"]\n' + MINIMAL, "unknown arXiv archive"),
        ('timezone = "Mars/Olympus"\n' + MINIMAL, "unknown time zone"),
        ("title = 'x'\n", "topics: is required: add a [[topics]] table"),
        (MINIMAL + "[arxiv]\ndelay = -3\n", ":4: arxiv.delay:"),
        (MINIMAL + "[arxiv]\napi_url = 'ftp://x'\n", "arxiv.api_url: must be an http(s) URL"),
        (MINIMAL + '[arxiv]\ndelay = "fast"\n', "arxiv.delay"),
        ("[[topics]\nname=1", "invalid TOML"),
        ("[[topics]]\nname = 'say \"hi\"'\n", "give an explicit query"),
        ('outputs = ["pdf"]\n' + MINIMAL, ":1: outputs[0]:"),
    ],
)
def test_bad_config_is_one_line_naming_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = error_of(tmp_path, text)
    assert str(tmp_path / "papers.toml") in message
    assert expected in message


def test_second_topic_error_points_at_its_line(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[topics]]\nname = "Other"\nquery = "ti:("\n'
    assert ":6: topics[1].query:" in error_of(tmp_path, text)


def test_non_utf8_file(tmp_path: Path) -> None:
    assert "not UTF-8" in error_of(tmp_path, b'title = "\xff"\n')


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dailypapers init"):
        load_config(tmp_path / "nope.toml")


def test_bad_delay_env_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "soon")
    with pytest.raises(ConfigError, match="DAILYPAPERS_ARXIV_DELAY"):
        load_config(write(tmp_path, MINIMAL))


toml_values = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.booleans(),
    st.lists(st.text(max_size=10), max_size=3),
)
keys = st.sampled_from(
    [
        "title",
        "max_papers",
        "timezone",
        "archives",
        "outputs",
        "name",
        "query",
        "categories",
        "exclude",
        "delay",
        "page_size",
        "api_url",
        "url",
        "colour",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    top=st.dictionaries(keys, toml_values, max_size=4),
    topics=st.lists(st.dictionaries(keys, toml_values, max_size=4), max_size=3),
)
def test_any_structure_loads_or_fails_with_one_config_error(
    tmp_path_factory: pytest.TempPathFactory,
    top: dict[str, object],
    topics: list[dict[str, object]],
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "papers.toml"
    lines = [f"{key} = {json.dumps(value)}" for key, value in top.items()]
    for topic in topics:
        lines.append("[[topics]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in topic.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_fail_with_one_config_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "papers.toml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://papers:pw@h/db", "store.url: unsupported database 'mysql': write sqlite:///"),
        ("papers:pw@127.0.0.1", "store.url: not a database URL: write sqlite:///PATH or "),
        # before: every update said "updated (100 new)" and kept nothing
        ("sqlite://", "store.url: an in-memory SQLite database keeps nothing"),
        ("sqlite:///:memory:", "store.url: an in-memory SQLite database keeps nothing"),
        ("sqlite:///file:x?mode=memory&uri=true", "store.url: an in-memory SQLite database"),
    ],
)
def test_a_store_url_of_another_database_is_a_config_line(
    tmp_path: Path, url: str, problem: str
) -> None:
    # Before: exit 1 when the store opened, without the file and line (and the
    # second showed "127.0.0.1", a part the user never wrote as such).
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "A"\n\n[store]\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:5: {problem}") and "pw" not in str(caught.value)


def test_a_store_url_scheme_is_read_in_lower_case_and_postgres_as_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "papers.toml"
    path.write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_DB", "postgres://papers@db.example.org/dailypapers")
    assert load_config(path).db_url == "postgresql://papers@db.example.org/dailypapers"
    monkeypatch.setenv("DAILYPAPERS_DB", "PostgreSQL+Psycopg://papers@db.example.org/Daily")
    assert load_config(path).db_url == "postgresql+psycopg://papers@db.example.org/Daily"
    monkeypatch.setenv("DAILYPAPERS_DB", "SQLite:///papers.db")  # relative to the config
    assert load_config(path).db_url == f"sqlite:///{tmp_path / 'papers.db'}"


@pytest.mark.parametrize("contact", ["me @x.org", "ü@x.org", "x\\u0000", "not-an-email"])
def test_a_contact_the_user_agent_cannot_carry_is_a_config_line(
    tmp_path: Path, contact: str
) -> None:
    # Before: `check` said ok, and every request of `update` failed ("unexpected
    # error: ValueError", a UnicodeEncodeError, or 5 retries of a protocol error).
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "A"\n[arxiv]\ncontact = "{contact}"\n', "utf-8")
    with pytest.raises(ConfigError, match=r":4: arxiv.contact: not an e-mail address"):
        load_config(path)
    path.write_text('[[topics]]\nname = "A"\n[arxiv]\ncontact = "me@x.org"\n', "utf-8")
    assert load_config(path).settings.arxiv.contact == "me@x.org"


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    # Before: "invalid TOML: Invalid statement (at line 1, column 1)" on a file
    # that looks fine (Windows Notepad's "UTF-8 with BOM"), CRLF endings too.
    path = tmp_path / "papers.toml"
    path.write_bytes(b'\xef\xbb\xbf[[topics]]\r\nname = "A"\r\n')
    config = load_config(path)
    assert [t.name for t in config.settings.topics] == ["A"]
    path.write_bytes(b'\xef\xbb\xbf[[topics]]\nname = "A"\nquery = 7\n')
    with pytest.raises(ConfigError, match=r"papers\.toml:3: topics\[0\]\.query"):
        load_config(path)


@pytest.mark.parametrize(
    "contact", ["mailto:me@x.org", "MAILTO:me@x.org", "Jane Doe <me@x.org>", " <me@x.org> "]
)
def test_a_contact_as_earlier_versions_took_it_is_the_bare_address(
    tmp_path: Path, contact: str
) -> None:
    # Before: refused (exit 2) with no hint, though earlier versions took these
    # forms; the User-Agent would say "mailto:mailto:me@x.org".
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "A"\n[arxiv]\ncontact = "{contact}"\n', "utf-8")
    assert load_config(path).settings.arxiv.contact == "me@x.org"


@pytest.mark.parametrize("contact", ["https://example.org/me", "Jane <me @x.org>"])
def test_a_contact_that_is_no_address_says_what_to_write(tmp_path: Path, contact: str) -> None:
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "A"\n[arxiv]\ncontact = "{contact}"\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert 'write the bare address, e.g. contact = "you@example.org"' in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[topics]\nname = "A"\n',
            ":1: topics: is one [topics] table: write [[topics]] (two brackets) before each topic",
        ),
        (
            '[[topics]]\nname = "A"\n[calendar]\nholidays = ["2027-01-01"]\n',
            ":4: calendar.holidays[0]: must be a TOML date without quotes, as in [2027-01-01], "
            'not "2027-01-01"',
        ),
        (
            '[[topics]]\nname = "A"\n[notify.email]\nsmtp_host = "smtp.x.org:587"\n'
            'sender = "a@x.org"\nrecipients = ["b@x.org"]\n',
            ":4: notify.email.smtp_host: a host name without a port: the port is smtp_port",
        ),
        (
            '[[topics]]\nname = "A"\n[notify.email]\nsmtp_host = "a b"\n'
            'sender = "a@x.org"\nrecipients = ["b@x.org"]\n',
            ":4: notify.email.smtp_host: not a host name: 'a b'",
        ),
        (
            'outputs = ["readme", "json", "readme"]\n[[topics]]\nname = "A"\n',
            ":1: outputs: 'readme' is listed twice",
        ),
        (
            'timezone = "localtime"\n[[topics]]\nname = "A"\n',
            ":1: timezone: 'localtime' is not an IANA time zone (write one, as Europe/Berlin)",
        ),
        (
            '[[topics]]\nname = "A"\n[arxiv]\ndelay = nan\n',
            ":4: arxiv.delay: must be a finite number, not nan",
        ),
        (  # before: "papers.toml: feeds.dir: must not contain [site] dir", a key not written
            '[[topics]]\nname = "A"\n[site]\ndir = "feeds/x"\n',
            ":4: site.dir: must not be inside [feeds] dir (default: feeds)",
        ),
        (
            '[[topics]]\nname = "A"\n[notify.email]\nsmtp_host = "smtp.x.org,"\n'
            'sender = "a@x.org"\nrecipients = ["b@x.org"]\n',
            ":4: notify.email.smtp_host: not a host name: 'smtp.x.org,'",
        ),
    ],
)
def test_common_mistakes_say_the_fix(tmp_path: Path, text: str, problem: str) -> None:
    # Before: "topics: must be a list, as in [...], not dict"; the README's own quoted
    # holiday was "Input should be a valid date"; an SMTP host with a port passed `check`
    # and failed the first send.
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}{problem}"


def test_an_empty_contact_is_none_and_a_service_name_is_a_host(tmp_path: Path) -> None:
    # The diff review: "" meant "no contact" before the contact check; a Docker Compose
    # service name (mail_relay) is a host name.
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "A"\n[arxiv]\ncontact = ""\n[notify.email]\n'
        'smtp_host = "mail_relay"\nsender = "a@x.org"\nrecipients = ["b@x.org"]\n',
        encoding="utf-8",
    )
    settings = load_config(path).settings
    assert settings.arxiv.contact is None
    assert settings.notify.email is not None and settings.notify.email.smtp_host == "mail_relay"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://papers:Hunter2@db.example.org/dp",
        "postgresql+psycopg://papers@db.example.org/dp?password=Hunter2",
    ],
)
def test_a_password_written_in_the_config_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # The shared-deployment review: papers.toml is committed, and `check` said nothing.
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "A"\n[store]\nurl = "{url}"\n', encoding="utf-8")
    (warning,) = load_config(path).warnings
    assert warning.startswith(f"{path}:4: store.url: holds a password")
    assert "Hunter2" not in warning and "$DAILYPAPERS_DB" in warning
    path.write_text(
        '[[topics]]\nname = "A"\n[store]\nurl = "postgresql+psycopg://papers@db/dp"\n', "utf-8"
    )
    assert load_config(path).warnings == ()
    monkeypatch.setenv("DAILYPAPERS_DB", url)  # from the variable: where it belongs
    assert load_config(path).warnings == ()
    # the file still holds one while the variable overrides it (as in Actions): warned
    path.write_text(f'[[topics]]\nname = "A"\n[store]\nurl = "{url}"\n', encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_DB", "postgresql+psycopg://papers@db/dp")
    assert len(load_config(path).warnings) == 1
