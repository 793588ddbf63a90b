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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.config import Config
from dailypapers.links import labels
from dailypapers.models import format_timestamp
from dailypapers.outpaths import owns_feed_file, owns_site_file  # re-exported
from dailypapers.publish.files import remove_stale_temps, write_if_changed
from dailypapers.publish.forked import Pending
from dailypapers.publish.tree import Removals, current_files, publish_tree
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

    :func:`start_outputs` and its :meth:`Outputs.finish` at once (see there).
    """
    started = start_outputs(
        config, sections, force=force, ranking=ranking, new=new, removals=removals
    )
    try:
        return started.finish()
    except BaseException:
        started.cancel()
        raise
    finally:
        started.wait()


def start_outputs(
    config: Config,
    sections: Sequence[Section],
    *,
    force: bool = False,
    ranking: Ranking | None = None,
    new: frozenset[str] = frozenset(),
    removals: Removals | None = None,
) -> Outputs:
    """Start writing the configured json/feeds/site outputs; :meth:`Outputs.finish` ends it.

    The feeds (rendered and published) and ``papers.json`` (rendered) are the
    work of a forked child where that is safe (:mod:`dailypapers.publish.forked`;
    else done here, at once), while this process renders the site (and the
    caller the README). ``finish`` then publishes the site, with the feeds just
    published, and ``papers.json``: the order is the one of a render in one
    process (feeds, site, ``papers.json``, the README), and a failed output
    leaves those after it as they were. ``papers.json`` is written first of all
    when it lives inside one of the trees, so that tree's swap carries it over
    with the new pages (written in place: a tree that then fails leaves the
    new ``papers.json`` beside the old pages). The replaced trees are removed in the
    background (by ``removals`` when given, which the caller waits for; a
    child waits for its own).

    ``new``: the ids of the papers new since the previous update (the site's badge).
    """
    wanted: list[str] = [name for name in EXTRA_OUTPUTS if name in config.settings.outputs]
    catalog = catalog_for(config, sections, ranking, new) if wanted else None
    return Outputs(config, catalog, wanted, force, removals)


@dataclass
class _Rendered:
    """What the feeds' and ``papers.json``'s work gives back (from a child: pickled)."""

    changed: dict[str, Path]
    json: str | None
    feeds: dict[str, bytes] | None  # None from a child: the site reads the published ones


class Outputs:
    """The outputs beyond the README being written (:func:`start_outputs`)."""

    def __init__(
        self,
        config: Config,
        catalog: Catalog | None,
        wanted: list[str],
        force: bool,
        removals: Removals | None,
    ) -> None:
        self._config, self._force, self._wanted = config, force, wanted
        self._removals = removals
        self._changed: dict[str, Path] = {}
        self._result: list[Path] | None = None
        self._work: Pending[_Rendered] | None = None
        self._site: dict[str, bytes] | None = None
        if catalog is None:
            return
        json_first = "json" in wanted and _inside_a_tree(config)
        if json_first:  # before the trees: the tree's swap carries it over
            self._changed.update(_write_json(config, render_json(catalog), force=force))
        with_json = "json" in wanted and not json_first

        def feeds_and_json(forked: bool) -> _Rendered:
            # A child waits for its own removals (and so does a caller without them).
            mine = removals if removals is not None and not forked else Removals()
            own = mine is not removals
            try:
                changed, feeds = _write_feeds(config, catalog, wanted, force, mine)
            finally:
                if own:
                    mine.wait()
            text = render_json(catalog) if with_json else None
            return _Rendered(changed, text, None if forked else feeds)

        if "feeds" in wanted or with_json:
            if "site" in wanted:  # both sides show them: computed once, before a fork
                for paper in catalog.papers():
                    labels(paper)
            self._work = Pending(feeds_and_json)
        try:
            if "site" in wanted:  # the pages; the feeds' copies are added by finish
                from dailypapers.render.site import site_files

                self._site = site_files(catalog, {} if "feeds" in wanted else None)
                _forget("site", "paper_data")
        except BaseException:
            self.cancel()
            raise

    def finish(self) -> list[Path]:
        """Wait for the feeds and ``papers.json`` (their error is raised here), publish the
        site, write ``papers.json``; returns the paths that changed (the same on a second
        call)."""
        if self._result is None:
            rendered = self._work.result() if self._work is not None else None
            if rendered is not None:
                self._changed.update(rendered.changed)
            if self._site is not None:
                feeds = rendered.feeds if rendered is not None else None
                self._changed.update(self._publish_site(self._site, feeds))
                self._site = None
            if rendered is not None and rendered.json is not None:
                config = self._config
                self._changed.update(_write_json(config, rendered.json, force=self._force))
            forget_rendered()
            changed = self._changed
            self._result = [changed[name] for name in EXTRA_OUTPUTS if name in changed]
        return self._result

    def wait(self) -> None:
        """Wait for the feeds' and ``papers.json``'s work to end (its outcome is dropped)."""
        if self._work is not None:
            self._work.wait()

    def cancel(self) -> None:
        """After an error of the caller's (the run's deadline too): end the child's work."""
        if self._work is not None:
            self._work.cancel()

    def _publish_site(
        self, files: dict[str, bytes], feeds: dict[str, bytes] | None
    ) -> dict[str, Path]:
        config = self._config
        if "feeds" in self._wanted:
            if feeds is None:  # published by a child: the files it left, as they are
                feeds = current_files(config.feeds_dir, owns_feed_file)
            files = {**files, **{f"feeds/{name}": data for name, data in feeds.items()}}
        # The site's copy of the feeds: the files just published (hard links, not a copy).
        same = {f"feeds/{name}": config.feeds_dir / name for name in feeds or {}}
        removals = self._removals
        own = removals is None
        removals = Removals() if removals is None else removals
        try:
            published = publish_tree(
                config.site_dir,
                files,
                owned=owns_site_file,
                force=self._force,
                same_as=same,
                removals=removals,
            )
        finally:
            if own:
                removals.wait()
        return {"site": config.site_dir} if published else {}


def _write_feeds(
    config: Config, catalog: Catalog, wanted: list[str], force: bool, removals: Removals
) -> tuple[dict[str, Path], dict[str, bytes] | None]:
    """Render and publish the feeds (when wanted); what changed and the feeds."""
    if "feeds" not in wanted:
        return {}, None
    from dailypapers.render.atom import feed_files  # lxml loads when feeds are configured

    settings = config.settings
    feeds = feed_files(catalog, settings.feeds.base_url, limit=settings.max_papers)
    changed = {}
    if publish_tree(config.feeds_dir, feeds, owned=owns_feed_file, force=force, removals=removals):
        changed["feeds"] = config.feeds_dir
    _forget("atom", "entry_html")  # memory: each memo goes when its output is done
    return changed, feeds


def _inside_a_tree(config: Config) -> bool:
    """Whether ``papers.json`` lives in the site's or the feeds' folder (`[json] path`)."""
    where = config.json_path.resolve().parent
    return any(where.is_relative_to(tree.resolve()) for tree in (config.site_dir, config.feeds_dir))


def _write_json(config: Config, text: str, *, force: bool) -> dict[str, Path]:
    remove_stale_temps(config.json_path)  # a killed run's temp file (we hold the run lock)
    if write_if_changed(config.json_path, text, force=force):
        return {"json": config.json_path}
    return {}


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
