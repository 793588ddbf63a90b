"""The static site: an index of every topic and a page per topic, searchable offline.

Pages are rendered with Jinja2 (autoescape on) and list their papers in the
HTML itself (for readers without JavaScript and for search engines): a
topic's page every paper of the topic, the index its newest ``PAGE_SIZE``.
``assets/site.js`` reads a page's papers back from its own HTML to search,
filter and sort them; the only data beside the pages are two shared files,
each written once: ``assets/topics-HASH.js`` (the topic index, for the
navigation) and ``assets/papers-HASH.js`` (every paper once, without its
abstract, for the index's search across topics). So the site is linear in
topics and each abstract is written once per topic page that lists it.

The markup is compact (1,000 topics x 10 papers: 19.6 MB, of which the
papers' own text is 14.2 MB; ``bench/site_scale.py``): a card carries what
a reader without JavaScript needs and nothing the script can derive, the
controls are built by the script, the papers file holds rows (see
``paper_data``).

The script writes paper text only with ``textContent`` and URLs only when
they are http(s); JSON is escaped (``<``, ``>`` and ``&``). A
Content-Security-Policy allows scripts and styles from the site's own files
only, so nothing inline can run even if a page were altered. No CDN, no web
font: it works from ``file://`` and on GitHub Pages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from dailypapers.links import labels
from dailypapers.memo import per_paper
from dailypapers.models import Paper
from dailypapers.render.catalog import Catalog, TopicListing, timestamp
from dailypapers.render.markdown import FOR_YOU, collapse

ASSETS = ("site.css", "site.js")
FOR_YOU_SLUG = "for-you"  # topics/for-you.html, with a library (a reserved topic slug)
PAGE_SIZE = 50


@functools.cache
def _page_template() -> jinja2.Template:
    """The page template, compiled once a process (not once a render)."""
    return _environment().get_template("site.html")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dailypapers.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def embed_json(data: Any) -> Markup:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# The shared papers file: ``{"categories": [...], "papers": [row, ...]}``, a row per
# paper: ``[id, version, title, authors, categories, day, topics, extra]`` (``extra``
# only when not empty). Rows, not objects with repeated keys; authors joined with ", ";
# categories and topics as indexes (into ``categories`` and the topics file); the
# date as days since 1970-01-01. The file is written once, but it holds every paper
# of the site (issue 11, cause 6).
ROW_FIELDS = ("id", "version", "title", "authors", "categories", "updated", "topics")
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class PaperView:
    """One paper as the site shows it: its card's keys that depend on the paper alone.

    Computed once per paper and render (``paper_data``): a paper listed by
    several topics, and the shared papers file, reuse it.
    """

    card: dict[str, Any]
    row: list[Any]  # the start of its row in the shared papers file
    extra: dict[str, Any]  # the row's optional extras, empty ones left out
    # The card's HTML around the parts that depend on the page or the site
    # (the "new" and score badges, the index's topic badges): see ``card_html``.
    html: tuple[str, str, str] = ("", "", "")


@per_paper
def paper_data(paper: Paper) -> PaperView:
    """The paper's card text and its row of the shared papers file.

    The row has no abstract (each topic page carries it in its HTML), no
    categories and topics (the caller numbers them). The optional extras
    (``published`` only for a revised paper, ``comment``, ``journal_ref``,
    ``links``, ``venue``, ``revised``, ``tldr``) are left out when empty; the
    arXiv links are built by the script from id and version.
    """
    found = labels(paper)
    card = {
        "id": paper.id,
        "version": paper.version,
        "title": collapse(paper.title),
        "abstract": collapse(paper.abstract),
        "authors": _authors_line(paper.author_names),
        "categories": paper.categories,
        "updated": paper.updated.date().isoformat(),
        "published": paper.published.date().isoformat(),
        "comment": collapse(paper.comment) if paper.comment else "",
        "journal_ref": collapse(paper.journal_ref) if paper.journal_ref else "",
        "links": [link for link in found.links if link.url.startswith(("https://", "http://"))],
        "venue": found.venue,
        "revised": found.revised,
        "tldr": paper.tldr,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
    }
    extra = {
        "published": card["published"] if found.revised else None,
        "comment": card["comment"] or None,
        "journal_ref": card["journal_ref"] or None,
        "links": [{"label": link.label, "url": link.url} for link in found.links] or None,
        "venue": found.venue,
        "revised": found.revised,
        "tldr": paper.tldr or None,  # only when there is one: a site without summaries
    }
    return PaperView(
        card,
        [paper.id, paper.version, card["title"], card["authors"]],
        {key: value for key, value in extra.items() if value not in (None, False)},
        _card_parts(card),
    )


def _authors_line(names: Sequence[str]) -> str:
    """``", ".join(collapse(name) for name in names)``, with one check of the joined line.

    When :func:`collapse` keeps the joined names (no control, no other
    whitespace than single spaces, none at either end) and no name ends with a
    space (``" ,"``; one starting with a space makes a double space), it keeps
    every name too.
    """
    joined = ", ".join(names)
    if " ," not in joined and collapse(joined) == joined:
        return joined
    return ", ".join(collapse(name) for name in names)


def _card_parts(card: dict[str, Any]) -> tuple[str, str, str]:
    """A card's HTML, escaped, in three pieces; ``card_html`` puts the badges between them.

    The markup of ``templates/site.html`` before it listed the cards itself
    (``tests/test_render_same_bytes.py`` compares the two); written here, once a
    paper, it costs a fraction of the template's loop.
    """
    head = f'<h2><a href="{_e(card["abs_url"])}">{_e(card["title"])}</a></h2>'
    if card["tldr"]:
        head += f'<p class="tldr">TL;DR: {_e(card["tldr"])}'
    head += f"<p>{_e(card['updated'])}"
    badges = ""
    if card["revised"]:
        badges += f' <span class="badge revised">revised v{_e(card["version"])}'
        badges += f" (first {_e(card['published'])})</span>"
    if card["venue"]:
        badges += f' <span class="badge venue">{_e(card["venue"])}</span>'
    rest = "".join(f" <b>{_e(c)}</b>" for c in card["categories"])
    rest += f' <a href="{_e(card["pdf_url"])}">PDF</a>'
    rest += "".join(f' <a href="{_e(link.url)}">{_e(link.label)}</a>' for link in card["links"])
    rest += f"<p>{_e(card['authors'])}"
    if card["comment"]:
        rest += f'<p class="comment">Comment: {_e(card["comment"])}'
    if card["journal_ref"]:
        rest += f'<p class="comment journal">Journal: {_e(card["journal_ref"])}'
    rest += f"<p>{_e(card['abstract'])}"
    return head, badges, rest


def _e(value: Any) -> str:
    """``value`` as the template writes ``{{ value }}`` (autoescape)."""
    if type(value) is str and not _has_html_special(value):
        return value  # most texts (dates, URLs, categories) have nothing to escape
    return str(escape(value))


def _has_html_special(text: str) -> bool:
    """Whether markupsafe's ``escape`` would change ``text``."""
    return "&" in text or "<" in text or ">" in text or '"' in text or "'" in text


def card_html(
    view: PaperView, *, new: bool, score: float | None, topics: Sequence[str] = ()
) -> str:
    """One paper's ``<li>`` (``topics``: the names of its topic badges, on the index)."""
    head, badges, rest = view.html
    parts = ['<li class="paper is-new"' if new else '<li class="paper"']
    if score is not None:
        parts.append(f' data-score="{_e(score)}"')
    parts += [">", head]
    if new:
        parts.append(' <span class="badge new">new</span>')
    if score is not None:
        parts.append(f' <span class="badge score">score {_e(score)}</span>')
    parts.append(badges)
    parts += [f' <span class="badge topic">{_e(name)}</span>' for name in topics]
    parts.append(rest)
    return "".join(parts)


@dataclass(frozen=True)
class _Site:
    """What every page shares: computed once per site (never once per page)."""

    catalog: Catalog
    template: jinja2.Template
    common: dict[str, Any]
    topic_names: dict[str, str]

    def is_new(self, paper: Paper) -> bool:
        return paper.id in self.catalog.new

    def score(self, paper: Paper) -> float | None:
        ranking = self.catalog.ranking
        return None if ranking is None else ranking.score(paper.id)


def _asset_files() -> dict[str, bytes]:
    """The static files under content-hashed names (a new version is never cached stale)."""
    files = {}
    for name in ASSETS:
        data = resources.files("dailypapers.render").joinpath("static", name).read_bytes()
        stem, suffix = name.rsplit(".", 1)
        files[f"assets/{stem}-{hashlib.sha256(data).hexdigest()[:10]}.{suffix}"] = data
    return files


def site_files(catalog: Catalog, feeds: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """``{relative path: content}`` of the whole site.

    Linear in topics: the topic index and every paper's search data are
    written once, to the shared files; each page carries only what it shows
    (its papers, in the HTML) and its own navigation link. ``feeds`` (file
    name → Atom document), when given, are published under ``feeds/`` too,
    and each page links its feed.
    """
    assets = _asset_files()
    topic_index = [{"slug": t.slug, "name": t.name, "count": len(t.papers)} for t in catalog.topics]
    index_papers = catalog.papers()
    topics_file = _data_file("topics", "DAILYPAPERS_TOPICS", topic_index)
    papers_file = _data_file("papers", "DAILYPAPERS_PAPERS", _shared(catalog, index_papers))
    script = next(path for path in assets if path.endswith(".js"))
    files: dict[str, bytes] = {".nojekyll": b"", **assets, **topics_file, **papers_file}
    site = _Site(
        catalog,
        _page_template(),
        {
            "catalog": catalog,
            "topics": topic_index,
            "updated": timestamp(catalog.updated),
            "has_feeds": feeds is not None,
            "stylesheet": next(path for path in assets if path.endswith(".css")),
            "for_you": FOR_YOU_SLUG if catalog.ranking is not None else None,
        },
        {t.slug: t.name for t in catalog.topics},
    )
    index_scripts = [*topics_file, *papers_file, script]
    files["index.html"] = _page(site, None, index_papers, "", index_scripts)
    for topic in catalog.topics:
        path = f"topics/{topic.slug}.html"
        files[path] = _page(site, topic, topic.papers, "../", [*topics_file, script])
    if catalog.ranking is not None:  # only with a library: the papers the topics list
        picked = _for_you(catalog)
        page = TopicListing(FOR_YOU, FOR_YOU_SLUG, "", picked)
        path = f"topics/{FOR_YOU_SLUG}.html"
        files[path] = _page(site, page, picked, "../", [*topics_file, script])
    for name, content in (feeds or {}).items():
        files[f"feeds/{name}"] = content
    return files


def _for_you(catalog: Catalog) -> list[Paper]:
    """The "For you" papers the site has (those the topics list), best first."""
    assert catalog.ranking is not None
    shown = {p.id: p for p in catalog.papers()}
    return [shown[pid] for pid in catalog.ranking.ids() if pid in shown]


def _shared(catalog: Catalog, papers: Sequence[Paper]) -> dict[str, Any]:
    """Every paper once, newest first, as the index's script needs it (see ``paper_data``)."""
    topic_number = {topic.slug: n for n, topic in enumerate(catalog.topics)}
    categories: dict[str, int] = {}
    rows = []
    for paper in papers:
        view = paper_data(paper)
        start, extra = view.row, view.extra
        numbers = [categories.setdefault(c, len(categories)) for c in paper.categories]
        day = (paper.updated.date() - EPOCH).days
        topics = [topic_number[slug] for slug in catalog.topics_of(paper)]
        if paper.id in catalog.new:
            extra = {**extra, "new": True}
        if catalog.ranking is not None and (score := catalog.ranking.score(paper.id)) is not None:
            extra = {**extra, "score": score}
        rows.append(
            [*start, numbers, day, topics, extra] if extra else [*start, numbers, day, topics]
        )
    return {"categories": list(categories), "papers": rows}


def _data_file(stem: str, name: str, data: Any) -> dict[str, bytes]:
    """One shared data file: a script setting ``window.NAME``."""
    text = str(embed_json(data)).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    content = f"window.{name} = {text};\n".encode()
    return {f"assets/{stem}-{hashlib.sha256(content).hexdigest()[:10]}.js": content}


def _card(site: _Site, paper: Paper, index: bool) -> str:
    """The HTML of one paper's card on a page (the index shows its topics too)."""
    names = [site.topic_names[slug] for slug in site.catalog.topics_of(paper)] if index else []
    return card_html(
        paper_data(paper), new=site.is_new(paper), score=site.score(paper), topics=names
    )


def _page(
    site: _Site,
    topic: TopicListing | None,
    papers: Sequence[Paper],
    root: str,
    scripts: list[str],
) -> bytes:
    # The index lists its first page in the HTML (the script pages the rest; every
    # paper is in the HTML of its topic's page): the site stays linear in topics.
    shown = papers if topic else papers[:PAGE_SIZE]
    cards = Markup("".join(_card(site, p, topic is None) for p in shown))
    html = site.template.render(
        **site.common,
        topic=topic,
        root=root,
        css=root + site.common["stylesheet"],
        scripts=[root + path for path in scripts],
        count=len(papers),
        shown=len(shown),
        new_count=sum(1 for p in papers if site.is_new(p)),
        sort=site.catalog.ranking is not None and (topic is None or topic.slug != FOR_YOU_SLUG),
        cards=cards,
    )
    return html.encode("utf-8")
