"""The static site: an index of every topic and a page per topic, searchable offline.

Pages are rendered with Jinja2 (autoescape on); the papers travel as JSON in
a ``<script type="application/json">`` element with ``<``, ``>`` and ``&``
escaped, and ``assets/site.js`` lists, searches and filters them, writing
paper text only with ``textContent`` and URLs only when they are http(s).
A Content-Security-Policy allows scripts and styles from the site's own
files only, so nothing inline can run even if a page were altered. No CDN,
no web font: it works from ``file://`` and on GitHub Pages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from dailypapers.links import labels
from dailypapers.models import Paper
from dailypapers.render.catalog import Catalog, TopicListing, timestamp

ASSETS = ("site.css", "site.js")
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
    """What the page script needs of one paper (dates as ``YYYY-MM-DD``)."""
    found = labels(paper)
    data = {
        "id": paper.id,
        "version": paper.version,
        "title": " ".join(paper.title.split()),
        "abstract": " ".join(paper.abstract.split()),
        "authors": list(paper.author_names),
        "categories": list(paper.categories),
        "updated": paper.updated.date().isoformat(),
        "published": paper.published.date().isoformat(),
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "links": [{"label": link.label, "url": link.url} for link in found.links],
        "venue": found.venue,
        "revised": found.revised,
        "topics": list(topics),
    }
    if paper.tldr:  # only when there is one: a site without summaries is unchanged
        data["tldr"] = paper.tldr
    return data


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

    ``feeds`` (file name → Atom document), when given, are published under
    ``feeds/`` too, and each page links its feed.
    """
    env = _environment()
    assets = _asset_files()
    files: dict[str, bytes] = {".nojekyll": b"", **assets}
    template = env.get_template("site.html")
    topic_index = [
        {"slug": t.slug, "name": t.name, "count": len(t.papers), "query": t.query}
        for t in catalog.topics
    ]
    common = {
        "catalog": catalog,
        "topics": topic_index,
        "updated": timestamp(catalog.updated),
        "has_feeds": feeds is not None,
        "page_size": PAGE_SIZE,
    }
    index_papers = catalog.papers()
    files["index.html"] = _page(template, assets, common, None, index_papers, catalog, "")
    for topic in catalog.topics:
        page = _page(template, assets, common, topic, topic.papers, catalog, "../")
        files[f"topics/{topic.slug}.html"] = page
    for name, content in (feeds or {}).items():
        files[f"feeds/{name}"] = content
    return files


def _page(
    template: jinja2.Template,
    assets: dict[str, bytes],
    common: dict[str, Any],
    topic: TopicListing | None,
    papers: list[Paper] | Any,
    catalog: Catalog,
    root: str,
) -> bytes:
    data = {
        "topics": common["topics"],
        "scope": topic.slug if topic else None,
        "papers": [paper_data(p, catalog.topics_of(p)) for p in papers],
    }
    css, js = (next(path for path in assets if path.endswith(suffix)) for suffix in (".css", ".js"))
    html = template.render(
        **common,
        topic=topic,
        root=root,
        css=root + css,
        js=root + js,
        count=len(data["papers"]),
        data=embed_json(data),
    )
    return html.encode("utf-8")
