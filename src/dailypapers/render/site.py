"""The static site: an index of every topic and a page per topic, searchable offline.

Pages are rendered with Jinja2 (autoescape on); the papers travel once, as
JSON in the shared ``assets/data-HASH.js`` (``<``, ``>`` and ``&`` escaped),
each page names its papers' ids in a ``<script type="application/json">``
element, and ``assets/site.js`` lists, searches and filters them, writing
paper text only with ``textContent`` and URLs only when they are http(s).
A Content-Security-Policy allows scripts and styles from the site's own
files only, so nothing inline can run even if a page were altered. No CDN,
no web font: it works from ``file://`` and on GitHub Pages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timedelta
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
# "new": in the latest announcement, i.e. updated less than a day before the
# newest paper. Derived from the data, so unchanged data renders the same bytes.
NEW_WINDOW = timedelta(hours=24)


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
    """What the page script needs of one paper (dates as ``YYYY-MM-DD``).

    Empty optional fields are left out and the arXiv links are built by the
    script from id and version: the shared data file stays small.
    """
    found = labels(paper)
    data = {
        "id": paper.id,
        "version": paper.version,
        "title": collapse(paper.title),
        "abstract": collapse(paper.abstract),
        "authors": [collapse(name) for name in paper.author_names],
        "categories": list(paper.categories),
        "updated": paper.updated.date().isoformat(),
        "published": paper.published.date().isoformat(),
        "comment": collapse(paper.comment) or None,
        "journal_ref": collapse(paper.journal_ref) or None,
        "doi": paper.doi,
        "links": [{"label": link.label, "url": link.url} for link in found.links],
        "venue": found.venue,
        "revised": found.revised,
        "topics": list(topics),
    }
    if paper.tldr:  # only when there is one: a site without summaries is unchanged
        data["tldr"] = paper.tldr
    return {key: value for key, value in data.items() if value is not None and value is not False}


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

    Linear in topics: every paper and the topic index are written once, to
    one shared data file (``assets/data-HASH.js``); each page carries only
    what it shows (its scope and the ids of its papers, in order) and its
    own navigation. ``feeds`` (file name → Atom document), when given, are
    published under ``feeds/`` too, and each page links its feed.
    """
    env = _environment()
    assets = _asset_files()
    topic_index = [
        {"slug": t.slug, "name": t.name, "count": len(t.papers), "query": t.query}
        for t in catalog.topics
    ]
    index_papers = catalog.papers()
    cutoff = _new_cutoff(catalog)
    shared = {
        "topics": topic_index,
        "papers": [_shared_paper(p, catalog, cutoff) for p in index_papers],
    }
    data_file = _data_file(shared)
    files: dict[str, bytes] = {".nojekyll": b"", **assets, **data_file}
    template = env.get_template("site.html")
    common = {
        "catalog": catalog,
        "topics": topic_index,
        "updated": timestamp(catalog.updated),
        "has_feeds": feeds is not None,
        "page_size": PAGE_SIZE,
        "script_paths": [*data_file, next(path for path in assets if path.endswith(".js"))],
        "stylesheet": next(path for path in assets if path.endswith(".css")),
        "for_you": FOR_YOU_SLUG if catalog.ranking is not None else None,
    }
    files["index.html"] = _page(template, common, None, index_papers, catalog, "")
    for topic in catalog.topics:
        files[f"topics/{topic.slug}.html"] = _page(
            template, common, topic, topic.papers, catalog, "../"
        )
    if catalog.ranking is not None:  # only with a library: the papers the topics list
        picked = _for_you(catalog)
        page = TopicListing(FOR_YOU, FOR_YOU_SLUG, "", picked)
        files[f"topics/{FOR_YOU_SLUG}.html"] = _page(template, common, page, picked, catalog, "../")
    for name, content in (feeds or {}).items():
        files[f"feeds/{name}"] = content
    return files


def _for_you(catalog: Catalog) -> list[Paper]:
    """The "For you" papers the site has (those the topics list), best first."""
    assert catalog.ranking is not None
    shown = {p.id: p for p in catalog.papers()}
    return [shown[pid] for pid in catalog.ranking.ids() if pid in shown]


def _new_cutoff(catalog: Catalog) -> datetime | None:
    return catalog.updated - NEW_WINDOW if catalog.updated else None


def _shared_paper(paper: Paper, catalog: Catalog, cutoff: datetime | None) -> dict[str, Any]:
    """A paper in the shared data file: its page-script data and whether it is new."""
    data = paper_data(paper, catalog.topics_of(paper))
    return {**data, "new": True} if cutoff is not None and paper.updated > cutoff else data


def _card(paper: Paper, catalog: Catalog, cutoff: datetime | None) -> dict[str, Any]:
    """What the page's HTML list shows of one paper (every key the template reads)."""
    shown = {"comment": None, "journal_ref": None, "venue": None, "revised": False, "tldr": None}
    shown.update(_shared_paper(paper, catalog, cutoff))
    return {
        **shown,
        "new": bool(shown.get("new")),
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
    }


def _data_file(shared: dict[str, Any]) -> dict[str, bytes]:
    """The one shared data file: a script setting ``window.DAILYPAPERS_DATA``."""
    text = str(embed_json(shared)).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    content = f"window.DAILYPAPERS_DATA = {text};\n".encode()
    return {f"assets/data-{hashlib.sha256(content).hexdigest()[:10]}.js": content}


def _page(
    template: jinja2.Template,
    common: dict[str, Any],
    topic: TopicListing | None,
    papers: list[Paper] | Any,
    catalog: Catalog,
    root: str,
) -> bytes:
    cutoff = _new_cutoff(catalog)
    listed = list(papers)
    # The index lists its first page in the HTML (the script pages the rest; every
    # paper is in the HTML of its topic's page): the site stays linear in topics.
    cards = [_card(p, catalog, cutoff) for p in (listed if topic else listed[:PAGE_SIZE])]
    data = {"scope": topic.slug if topic else None, "ids": [p.id for p in listed]}
    html = template.render(
        **common,
        topic=topic,
        root=root,
        css=root + common["stylesheet"],
        scripts=[root + path for path in common["script_paths"]],
        count=len(listed),
        shown=len(cards),
        new_count=sum(1 for p in listed if cutoff is not None and p.updated > cutoff),
        papers=cards,
        topic_names={t["slug"]: t["name"] for t in common["topics"]},
        data=embed_json(data),
    )
    return html.encode("utf-8")
