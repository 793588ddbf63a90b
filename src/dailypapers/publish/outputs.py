"""Write the outputs beyond the README: ``papers.json``, the Atom feeds and the site.

Each is rendered from the same topic sections as the README and written
atomically: ``papers.json`` as one file (temp file + rename), the feed and
site folders as whole trees (:func:`dailypapers.publish.tree.publish_tree`:
old or new, never a mix). Unchanged outputs are not rewritten (unless
``force``), and nothing in them depends on the time of the run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.config import Config
from dailypapers.links import labels
from dailypapers.models import format_timestamp
from dailypapers.outpaths import owns_feed_file, owns_site_file  # re-exported
from dailypapers.publish.files import remove_stale_temps, write_if_changed
from dailypapers.publish.tree import Removals, publish_tree
from dailypapers.render.catalog import Catalog, build_catalog
from dailypapers.render.jsonout import render_json
from dailypapers.render.markdown import Section

if TYPE_CHECKING:
    from dailypapers.rank.foryou import Ranking

EXTRA_OUTPUTS = ("json", "feeds", "site")


def catalog_for(
    config: Config,
    sections: Sequence[Section],
    ranking: Ranking | None = None,
    new: frozenset[str] = frozenset(),
) -> Catalog:
    """The catalog of the configured topics; ``sections`` are in config order.

    A topic's query is shown as configured, with its categories and
    exclusions but without the archive filter (46 ``cat:`` terms for cs+stat).
    """
    queries = [topic.shown_query() for topic in config.settings.topics]
    items = [(s.name, query, s.papers) for s, query in zip(sections, queries, strict=True)]
    return build_catalog(config.settings.title, items, ranking, new)


def write_outputs(
    config: Config,
    sections: Sequence[Section],
    *,
    force: bool = False,
    ranking: Ranking | None = None,
    new: frozenset[str] = frozenset(),
    removals: Removals | None = None,
) -> list[Path]:
    """Write the configured json/feeds/site outputs; returns the paths that changed.

    The trees first: ``papers.json`` renders while the replaced trees are removed
    (in the background: by ``removals`` when given, which the caller waits for;
    else before returning); but first of all when it lives inside one of the trees,
    so that tree's swap publishes the new ``papers.json`` with the new pages.

    ``new``: the ids of the papers new since the previous update (the site's badge).
    """
    wanted = [name for name in EXTRA_OUTPUTS if name in config.settings.outputs]
    if not wanted:
        return []
    catalog = catalog_for(config, sections, ranking, new)
    changed: dict[str, Path] = {}
    own = removals is None
    removals = Removals() if removals is None else removals
    json_first = "json" in wanted and _inside_a_tree(config)
    try:
        if json_first:  # the tree's swap carries it over: it must be the new one by then
            changed.update(_write_json(config, catalog, force=force))
        feeds = None
        if "feeds" in wanted:  # each renderer (lxml, jinja2) is loaded when configured
            from dailypapers.render.atom import feed_files

            feeds = feed_files(catalog, config.settings.feeds.base_url)
            if publish_tree(
                config.feeds_dir, feeds, owned=owns_feed_file, force=force, removals=removals
            ):
                changed["feeds"] = config.feeds_dir
            _forget("atom", "entry_html")  # memory: each memo goes when its output is done
        if "site" in wanted:
            changed.update(_write_site(config, catalog, feeds, force=force, removals=removals))
            feeds = None
            _forget("site", "paper_data")
        if "json" in wanted and not json_first:
            changed.update(_write_json(config, catalog, force=force))
    finally:
        if own:
            removals.wait()
    forget_rendered()
    return [changed[name] for name in EXTRA_OUTPUTS if name in changed]


def _inside_a_tree(config: Config) -> bool:
    """Whether ``papers.json`` lives in the site's or the feeds' folder (`[json] path`)."""
    where = config.json_path.resolve().parent
    return any(where.is_relative_to(tree.resolve()) for tree in (config.site_dir, config.feeds_dir))


def _write_json(config: Config, catalog: Catalog, *, force: bool) -> dict[str, Path]:
    remove_stale_temps(config.json_path)  # a killed run's temp file (we hold the run lock)
    if write_if_changed(config.json_path, render_json(catalog), force=force):
        return {"json": config.json_path}
    return {}


def _write_site(
    config: Config,
    catalog: Catalog,
    feeds: dict[str, bytes] | None,
    *,
    force: bool,
    removals: Removals,
) -> dict[str, Path]:
    from dailypapers.render.site import site_files

    files = site_files(catalog, feeds)
    # The site's copy of the feeds: the files just published (hard links, not a copy).
    same = {f"feeds/{name}": config.feeds_dir / name for name in feeds or {}}
    published = publish_tree(
        config.site_dir, files, owned=owns_site_file, force=force, same_as=same, removals=removals
    )
    return {"site": config.site_dir} if published else {}


def forget_rendered() -> None:
    """Drop the per-paper memos the renderers share during one render (memory).

    The timestamps' memo too: each render formats its papers' dates afresh.
    """
    format_timestamp.cache_clear()
    labels.cache_clear()
    for module, name in (("atom", "entry_html"), ("site", "paper_data")):
        _forget(module, name)


def _forget(module: str, name: str) -> None:
    """Clear the per-paper memo ``name`` of ``dailypapers.render.<module>``, if loaded."""
    loaded = sys.modules.get(f"dailypapers.render.{module}")
    if loaded is not None:  # a renderer never loaded memoised nothing
        getattr(loaded, name).cache_clear()
