"""TL;DRs through the daily job and every output, against fake arXiv and a fake LLM.

Real sockets throughout. A hostile model (markup, ``|``, ``@everyone``, bidi
controls) breaks no output; without ``[summaries]`` nothing changes; a down
endpoint never fails ``update``; the API key appears nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cmarkgfm
import jsonschema
import lxml.html
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cmarkgfm.cmark import Options
from lxml import etree

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_llm import FakeLLM, refused_url
from dailypapers.pipeline import run_update
from dailypapers.render.jsonout import schema
from dailypapers.schema import metadata
from dailypapers.store import open_store
from helpers_notify import github_env, notify_toml, parts, servers, topics_toml
from support.smtp import SmtpSink

DAY = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
KEY = "sk-PLANTED-secret-0123456789abcdef"
OUTPUTS = 'outputs = ["readme", "json", "feeds", "site"]\n'
SUMMARIES = (
    '\n[summaries]\nbase_url = "{url}"\nmodel = "fake"\nmax_papers = 300\nmax_requests = 400\n'
)


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


def write_config(tmp_path: Path, arxiv: FakeArxiv, extra: str = "") -> Path:
    path = tmp_path / "papers.toml"
    path.write_text(OUTPUTS + topics_toml(arxiv) + extra, encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    found = {}
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and not {".dailypapers", "state"} & set(path.parts)
            and path.suffix != ".toml"
        ):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def test_hostile_summaries_break_no_output(
    tmp_path: Path, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        FakeLLM(hostile=True) as llm,
        servers() as (github, hook),
        SmtpSink() as smtp,
    ):
        github_env(monkeypatch, github)
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hooks/x")
        extra = SUMMARIES.format(url=llm.url) + notify_toml(smtp.port, webhook=True)
        extra = extra.replace("[notify.email]", "[readme]\ntldr = true\n\n[notify.email]")
        config = load_config(write_config(tmp_path, arxiv, extra))
        report = run_update(config, now=DAY)
        assert report.status == "updated", report.error
        assert len(llm.completions) == 196
        check_readme(config.readme_path.read_text(encoding="utf-8"))
        check_json(config.json_path)
        check_feed(config.feeds_dir / "all.xml")
        check_site(config.site_dir / "index.html")
        text, html = parts(smtp.messages[-1])
        check_email(text, html)
        check_issue(github.issues[-1].body)
        check_chat(hook.texts[-1])


def check_readme(text: str) -> None:
    assert "<script>" not in text and "</details></p>" not in text
    assert "\u202e" not in text and "@everyone" not in text
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    assert html.count("<table>") == 2 and html.count("<td>") == 4 * 200
    tree = lxml.html.fromstring(html)
    assert not tree.xpath("//script")
    summaries = tree.xpath("//details/summary")
    assert all("TL;DR" not in s.text_content() for s in summaries)
    assert any("<script>alert(1)</script>" in s.text_content() for s in summaries)


def check_json(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema())
    assert data["schema_version"] == 2
    tldrs = [p["tldr"] for t in data["topics"] for p in t["papers"]]
    assert all(tldr and "<script>alert(1)</script>" in tldr for tldr in tldrs)
    assert all("\u202e" not in tldr and "@\u2060everyone" in tldr for tldr in tldrs)


def check_feed(path: Path) -> None:
    feed = etree.parse(str(path))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    summaries = feed.xpath("//a:entry/a:summary/text()", namespaces=ns)
    assert summaries and all("</details></p>" in s for s in summaries)
    for content in feed.xpath("//a:entry/a:content/text()", namespaces=ns):
        body = lxml.html.fromstring(content)
        assert not body.xpath("//script") and "TL;DR:" in body.text_content()


def check_site(path: Path) -> None:
    page = path.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "</details></p>" not in page
    tree = lxml.html.fromstring(page)
    assert len(tree.xpath("//script")) == 3  # the index: the two shared data files, the script
    [shared] = (path.parent / "assets").glob("papers-*.js")
    text = shared.read_text(encoding="utf-8").removeprefix("window.DAILYPAPERS_PAPERS = ")[:-2]
    assert all("<script>alert(1)</script>" in p["tldr"] for p in json.loads(text))


def check_email(text: str, html: str) -> None:
    assert "TL;DR: The paper" in text and "<script>alert(1)</script>" in text
    tree = lxml.html.fromstring(html)
    assert not tree.xpath("//script") and not tree.xpath("//details")
    assert "<script>" not in html


def check_issue(body: str) -> None:
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    tree = lxml.html.fromstring(f"<div>{html}</div>")
    assert not tree.xpath("//script")
    for row in tree.xpath("//tbody/tr"):
        assert len(row.xpath("td")) == 3
        assert "TL;DR:" in row.xpath("td")[0].text_content()


def check_chat(text: str) -> None:
    assert "TL;DR:" in text and "@everyone" not in text and "\u202e" not in text


def test_without_summaries_nothing_changes(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    plain = load_config(write_config(tmp_path, arxiv))
    run_update(plain, now=DAY)
    before = snapshot(tmp_path)
    with FakeLLM() as llm:
        config = load_config(write_config(tmp_path, arxiv, SUMMARIES.format(url=llm.url)))
        run_update(config, now=DAY + timedelta(days=1))
        assert len(llm.completions) == 196
    after = snapshot(tmp_path)
    assert after["README.md"] == before["README.md"]  # no [readme] tldr: the README is as before
    assert after["papers.json"] != before["papers.json"]
    assert b"TL;DR" in after["feeds/all.xml"]
    load_config(write_config(tmp_path, arxiv))  # [summaries] removed again
    run_update(plain, fetch=False)
    assert snapshot(tmp_path) == before
    assert b'"tldr": null' in before["papers.json"]


def test_second_run_sends_nothing_and_changes_nothing(tmp_path: Path, arxiv: FakeArxiv) -> None:
    with FakeLLM() as llm:
        config = load_config(write_config(tmp_path, arxiv, SUMMARIES.format(url=llm.url)))
        run_update(config, now=DAY)
        before, sent = snapshot(tmp_path), len(llm.completions)
        run_update(config, now=DAY + timedelta(days=1))
        assert len(llm.completions) == sent == 196
        assert snapshot(tmp_path) == before


def test_a_down_endpoint_never_fails_update_and_the_next_run_catches_up(
    tmp_path: Path, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", arxiv.api_url)
    monkeypatch.setenv("DAILYPAPERS_LLM_URL", refused_url())
    write_config(tmp_path, arxiv, SUMMARIES.format(url="http://unused.invalid/v1"))
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("summaries:")]
    assert len(lines) == 1 and lines[0].startswith("summaries: 0 written, 196 pending; ")
    assert "cannot reach the endpoint" in lines[0]
    assert result.stdout.startswith("updated (196 new)")
    assert (tmp_path / "README.md").exists()
    with FakeLLM() as llm:
        monkeypatch.setenv("DAILYPAPERS_LLM_URL", llm.url)
        result = CliRunner().invoke(cli, ["summarize", "--limit", "10"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("summaries: 10 written, 186 pending; 10 requests")
        assert "tokens in" in result.stdout
        feed = (tmp_path / "feeds" / "all.xml").read_text(encoding="utf-8")
        assert feed.count("TL;DR:") == 10


def test_summarize_needs_the_section_and_dry_run_sends_nothing(
    tmp_path: Path, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, arxiv)
    result = CliRunner().invoke(cli, ["summarize"])
    assert result.exit_code == 2 and "no [summaries] section" in result.stderr
    with FakeLLM() as llm:
        config = load_config(write_config(tmp_path, arxiv, SUMMARIES.format(url=llm.url)))
        run_update(config, now=DAY, fetch=True, render=False)
        result = CliRunner().invoke(cli, ["summarize", "--dry-run", "--limit", "2"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout.count("[system]") == 2
        assert "would summarise 2 of 196 pending papers" in result.stdout
        assert not llm.requests
        monkeypatch.setenv("DAILYPAPERS_LLM_URL", refused_url())
        result = CliRunner().invoke(cli, ["summarize"])
        assert result.exit_code == 1 and "cannot reach the endpoint" in result.stderr


def test_the_api_key_appears_nowhere(
    tmp_path: Path,
    arxiv: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    store_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", arxiv.api_url)
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", KEY)
    with FakeLLM(api_key="the-right-key") as wrong, FakeLLM(api_key=KEY) as right:
        write_config(tmp_path, arxiv, SUMMARIES.format(url=wrong.url) + "max_failures = 2\n")
        first = CliRunner().invoke(cli, ["update"])  # 401s quoting the key back
        assert first.exit_code == 0 and "Incorrect API key provided: ***" in first.stderr
        assert wrong.completions[0].headers["authorization"] == f"Bearer {KEY}"
        monkeypatch.setenv("DAILYPAPERS_LLM_URL", right.url)
        second = CliRunner().invoke(cli, ["summarize", "--debug"])
        assert second.exit_code == 0, second.stderr
    texts = [first.stdout, first.stderr, second.stdout, second.stderr, caplog.text]
    assert all(KEY not in text for text in texts)
    assert all(KEY.encode() not in data for data in snapshot(tmp_path).values())
    with open_store(store_url) as store, store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if sa.inspect(conn).has_table(table.name):
                for row in conn.execute(sa.select(table)):
                    assert KEY not in repr(tuple(row)), table.name
