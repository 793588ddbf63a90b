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
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from dailypapers.links import labels
from dailypapers.models import Paper
from dailypapers.render.catalog import Catalog, TopicListing, timestamp
from dailypapers.render.markdown import FOR_YOU, collapse

ASSETS = ("site.css", "site.js")
FOR_YOU_SLUG = "for-you"  # topics/for-you.html, with a library (a reserved topic slug)
PAGE_SIZE = 50


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


@functools.lru_cache(maxsize=1 << 14)
def paper_data(paper: Paper, topics: tuple[str, ...]) -> dict[str, Any]:
    """What the index's script needs of one paper (dates as ``YYYY-MM-DD``).

    No abstract (each topic page carries it in its HTML); empty optional
    fields are left out, ``published`` is kept only for a revised paper, and
    the arXiv links are built by the script from id and version.
    """
    found = labels(paper)
    data = {
        "id": paper.id,
        "version": paper.version,
        "title": collapse(paper.title),
        "authors": [collapse(name) for name in paper.author_names],
        "categories": list(paper.categories),
        "updated": paper.updated.date().isoformat(),
        "published": paper.published.date().isoformat() if found.revised else None,
        "comment": collapse(paper.comment) or None,
        "journal_ref": collapse(paper.journal_ref) or None,
        "links": [{"label": link.label, "url": link.url} for link in found.links] or None,
        "venue": found.venue,
        "revised": found.revised,
        "topics": list(topics),
    }
    if paper.tldr:  # only when there is one: a site without summaries is unchanged
        data["tldr"] = paper.tldr
    return {key: value for key, value in data.items() if value is not None and value is not False}


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
        _environment().get_template("site.html"),
        {
            "catalog": catalog,
            "topics": topic_index,
            "updated": timestamp(catalog.updated),
            "has_feeds": feeds is not None,
            "page_size": PAGE_SIZE,
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


def _shared(catalog: Catalog, papers: Sequence[Paper]) -> list[dict[str, Any]]:
    """Every paper once, newest first, as the index's script needs it."""
    found = []
    for paper in papers:
        data = paper_data(paper, catalog.topics_of(paper))
        if paper.id in catalog.new:
            data = {**data, "new": True}
        if catalog.ranking is not None and (score := catalog.ranking.score(paper.id)) is not None:
            data = {**data, "score": score}
        found.append(data)
    return found


def _data_file(stem: str, name: str, data: Any) -> dict[str, bytes]:
    """One shared data file: a script setting ``window.NAME``."""
    text = str(embed_json(data)).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    content = f"window.{name} = {text};\n".encode()
    return {f"assets/{stem}-{hashlib.sha256(content).hexdigest()[:10]}.js": content}


def _card(site: _Site, paper: Paper) -> dict[str, Any]:
    """What the page's HTML list shows of one paper (every key the template reads)."""
    found = labels(paper)
    return {
        "id": paper.id,
        "version": paper.version,
        "title": collapse(paper.title),
        "abstract": collapse(paper.abstract),
        "authors": ", ".join(collapse(name) for name in paper.author_names),
        "categories": paper.categories,
        "updated": paper.updated.date().isoformat(),
        "published": paper.published.date().isoformat(),
        "comment": collapse(paper.comment),
        "journal_ref": collapse(paper.journal_ref),
        "links": [link for link in found.links if link.url.startswith(("https://", "http://"))],
        "venue": found.venue,
        "revised": found.revised,
        "tldr": paper.tldr,
        "topics": site.catalog.topics_of(paper),
        "new": site.is_new(paper),
        "score": site.score(paper),
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
    }


def _page(
    site: _Site,
    topic: TopicListing | None,
    papers: Sequence[Paper],
    root: str,
    scripts: list[str],
) -> bytes:
    # The index lists its first page in the HTML (the script pages the rest; every
    # paper is in the HTML of its topic's page): the site stays linear in topics.
    cards = [_card(site, p) for p in (papers if topic else papers[:PAGE_SIZE])]
    html = site.template.render(
        **site.common,
        topic=topic,
        root=root,
        css=root + site.common["stylesheet"],
        scripts=[root + path for path in scripts],
        count=len(papers),
        shown=len(cards),
        new_count=sum(1 for p in papers if site.is_new(p)),
        papers=cards,
        topic_names=site.topic_names,
    )
    return html.encode("utf-8")
