"""Issue 11, injection: paper text and topic names never become markup, links or mentions.

README and issue Markdown is checked with GitHub's own renderer (cmark-gfm);
chat payloads go over a real socket to the fake webhook receiver; every
channel has a property test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.config import WebhookSettings
from dailypapers.models import Author, Paper
from dailypapers.notify.webhook import WebhookChannel, chat_payload
from dailypapers.render.atom import render_feed
from dailypapers.render.catalog import build_catalog
from dailypapers.render.digest import Digest, Entry, TopicDigest, render_chat, render_issue
from dailypapers.render.markdown import Section, render_section, table_row
from dailypapers.render.site import site_files
from dailypapers.search import Hit, plain_lines
from support.webhook import WebhookReceiver

WHEN = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)


def paper(title: str = "A title", abstract: str = "An abstract.", comment: str = "") -> Paper:
    return Paper(
        id="2505.20001",
        version=1,
        title=title,
        abstract=abstract,
        authors=(Author("A"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
        comment=comment or None,
    )


def gfm(markdown: str) -> str:
    return str(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )


def readme_html(item: Paper, topic: str = "Reward Model") -> str:
    return gfm(render_section(Section(topic, [item])))


# --- 7. a backtick in the comment's summary ------------------------------------------


@pytest.mark.parametrize("comment", ["`torch` code at https://github.com/x/y", "a`b`c`d` e" * 3])
def test_a_backtick_in_the_summary_never_breaks_the_fold(comment: str) -> None:
    page = readme_html(paper(comment=comment))
    assert page.count("<details>") == 2 and page.count("</details>") == 2
    assert page.count("<summary>") == 2 and page.count("</summary>") == 2
    assert "<code>" not in page.split("<summary>")[2].split("</summary>")[0]
    assert page.count("<td") == 4


def test_the_issue_fold_survives_a_backtick_too() -> None:
    digest = Digest(
        "Daily Papers",
        date(2025, 5, 21),
        (TopicDigest("T", (Entry(paper(comment="`torch` code at https://github.com/x/y")),)),),
    )
    _, body = render_issue(digest)
    page = gfm(body)
    assert page.count("<details>") == page.count("</details>") == 1
    assert "</summary>" in page and "<code>" not in page.split("</summary>")[0]


# --- 8. links, images and autolinks ------------------------------------------------

LIVE = "[click](javascript:alert(1)) ![x](https://evil.example/t.png) ftp://evil.example/f"
LIVE += " xmpp:evil@evil.example"


@pytest.mark.parametrize("field", ["title", "abstract", "comment"])
def test_links_images_and_other_schemes_stay_text(field: str) -> None:
    page = readme_html(paper(**{field: LIVE + " https://github.com/x/y and more words"}))
    assert "<img" not in page and "javascript:" not in re.findall(r'href="([^"]*)"', page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith("https://") for h in hrefs), hrefs
    if field != "title":  # the title is a link already: no link inside it
        assert "https://github.com/x/y" in hrefs  # bare https URLs stay live
    assert "[click](javascript:alert(1))" in html.unescape(page)  # the text is all there


# --- 9. mentions, per channel ------------------------------------------------------

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
MENTIONS = ["<!channel>", "<!here>", "<@U123>", "<!everyone>", "<@&42>", "&lt;!channel&gt;"]
MENTIONS += ["<https://evil.example|https://arxiv.org/abs/1>", "@everyone", "@here", "@all"]
mentions = st.sampled_from([*MENTIONS, "@channel", "@user"])
hostile = st.lists(st.one_of(words, mentions), min_size=1, max_size=6).map(" ".join)


def digest_of(title: str, topic: str = "Reward Model") -> Digest:
    item = paper(title=title, comment=title)
    return Digest("Daily Papers", date(2025, 5, 21), (TopicDigest(topic, (Entry(item),)),))


@settings(max_examples=200, deadline=None)
@given(title=hostile, topic=hostile.filter(str.isprintable))
def test_slack_and_mattermost_text_has_no_live_markup(title: str, topic: str) -> None:
    text = str(chat_payload(digest_of(title, topic or "T"), 3000)["text"])
    assert "<" not in text and ">" not in text  # no <!channel>, <@U1>, <url|label>
    assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # every & is one of ours
    assert not re.search(r"@[A-Za-z0-9_]", text)  # Mattermost's @channel / @user
    unescaped = text.replace("@\u200d", "@").replace("&lt;", "<").replace("&gt;", ">")
    assert unescaped.replace("&amp;", "&") == render_chat(digest_of(title, topic or "T"), 3000)


@settings(max_examples=100, deadline=None)
@given(title=hostile)
def test_discord_content_pings_nobody(title: str) -> None:
    payload = chat_payload(digest_of(title), 3000)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["content"] == render_chat(digest_of(title), 3000)


@settings(max_examples=150, deadline=None)
@given(title=hostile, topic=hostile.filter(str.isprintable))
def test_github_issue_mentions_nobody(title: str, topic: str) -> None:
    _, body = render_issue(digest_of(title, topic or "T"))
    page = gfm(body)
    assert not re.search(r"@[A-Za-z0-9_]", html.unescape(re.sub(r"<[^>]+>", "", page)))


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hooks/x")
        yield hook


def test_the_webhook_sends_escaped_text_over_the_wire(receiver: WebhookReceiver) -> None:
    WebhookChannel(WebhookSettings()).send(digest_of("<!channel> @everyone <@U123> & co"))
    [sent] = [r.json() for r in receiver.requests]
    assert "&lt;!channel&gt; @\u200deveryone &lt;@\u200dU123&gt; &amp; co" in sent["text"]
    assert sent["allowed_mentions"] == {"parse": []} and "<!channel>" in sent["content"]


# --- 10. headings, bidi overrides and C1 controls -------------------------------------


@pytest.mark.parametrize(
    "name", ["<b>bold</b>", "[x](javascript:alert(1))", "![i](https://e.x/t.png)"]
)
def test_topic_names_in_headings_are_escaped(name: str) -> None:
    page = readme_html(paper(), topic=name)
    heading = page.split("</h2>")[0]
    assert "<b>" not in heading and "<img" not in heading
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]*)"', heading))
    assert html.unescape(re.sub(r"<[^>]+>", "", heading)).strip() == name


SNEAKY = "Safe\u202etxt.exe\u2066x\u2069 \u009b31m red \x1b[2J"


def test_bidi_overrides_and_controls_are_stripped_everywhere() -> None:
    item = paper(title=SNEAKY, abstract=SNEAKY, comment=SNEAKY)
    catalog = build_catalog("Daily Papers", [("Reward Model", "q", [item])])
    outputs = {
        "readme": table_row(item),
        "issue": render_issue(digest_of(SNEAKY))[1],
        "chat": render_chat(digest_of(SNEAKY), 3000),
        "feed": render_feed(catalog, [item], name="t", file_name="t.xml", subtitle="s").decode(),
        "site": b"".join(site_files(catalog).values()).decode(),
        "terminal": "\n".join(plain_lines([Hit(item, 1.0, ("reward-model",))])),
    }
    for where, text in outputs.items():
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x80-\x9f\x1b]", text), where
        assert "Safetxt.exe" in text, where


def test_a_link_ends_at_a_control_or_bidi_character_in_every_output() -> None:
    """A code link written "https://github.com/evil/repo\u202egnp.exe" showed as
    "...exe.png" in the e-mail, its href and the site's data; the link stops there now."""
    from dailypapers.links import find_links
    from dailypapers.render.digest import render_html, render_text

    sneaky = "Code: https://github.com/evil/repo\u202egnp.exe\x01\x7f, https://e.org/\u2066x\x1b[2J"
    invisible = " https://github.com/a/b\u200bevil https://gitlab.com/c/d\ufeffe"
    item = paper(abstract=sneaky + invisible, comment=sneaky)
    assert [link.url for link in find_links(item)] == [
        "https://github.com/evil/repo",
        "https://e.org/",
        "https://github.com/a/b",
        "https://gitlab.com/c/d",
    ]
    digest = Digest("Daily Papers", date(2025, 5, 20), (TopicDigest("T", (Entry(item),)),))
    catalog = build_catalog("Daily Papers", [("Reward Model", "q", [item])])
    outputs = {
        "e-mail text": render_text(digest),
        "e-mail html": render_html(digest),
        "site": b"".join(site_files(catalog).values()).decode(),
    }
    for where, text in outputs.items():
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0e-\x1f\x7f]", text), where
