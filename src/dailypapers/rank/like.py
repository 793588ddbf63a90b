"""Fill topics by example (``like = [...]``) with the day's most similar papers.

A topic by example is fetched like any topic, with a query naming only its
categories (or the config's archives): its candidates are the day's new or
revised papers there, whatever the source (the API, the announcement feed
or the local store). Before the run stores anything, :func:`select` scores
those candidates against the examples with the default ranking method (the
examples form a small library) and keeps the ``top`` best and/or those
scoring at least ``min_score``; only those are linked to the topic, so it
renders, feeds and notifies like any topic.

Every candidate is stored with the run (unlinked): with the API or the
feed, a paper the store held before the run is no candidate (it was one on
an earlier day). Examples are arXiv ids (looked up in the store, in the run's own papers,
then on arXiv by ``id_list``) and ``collection:NAME`` (the imported library
items in that collection). An example found nowhere is one warning line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.engine import Connection

from dailypapers import liketopic
from dailypapers.config import Config, Topic
from dailypapers.models import Paper
from dailypapers.rank import libstore
from dailypapers.rank.api import Held, Scored, score_papers
from dailypapers.rank.methods import DEFAULT, METHODS
from dailypapers.rank.vectors import Corpus, term_counts
from dailypapers.sources.base import TopicFetch
from dailypapers.store import Store, stored_papers

Lookup = Callable[[Sequence[str]], list[Paper]]  # arXiv ids -> papers (missing ones left out)


@dataclass(frozen=True)
class Selection:
    """What one topic by example kept, best first, and which examples were not found."""

    topic: str
    candidates: int
    kept: list[Scored]
    missing: list[str]

    def lines(self) -> list[str]:
        """What was kept: a heading, then each paper with its score and why."""
        lines = [f"{self.topic}: {len(self.kept)} of {self.candidates} papers kept by example"]
        for scored in self.kept:
            items = ", ".join(scored.because.get("items", [])[:2])
            terms = ", ".join(scored.because.get("terms", [])[:3])
            lines.append(f"  {scored.paper.id} {scored.score:.3f} because {items}: {terms}")
        return lines

    def warnings(self) -> list[str]:
        """One line per example found nowhere."""
        return [
            f"warning: topic {self.topic!r}: example {name!r} not found; ignored"
            for name in self.missing
        ]


def is_like(item: TopicFetch) -> bool:
    return item.plan.topic.like is not None


def select(
    store: Store,
    fetched: Sequence[TopicFetch],
    *,
    lookup: Lookup | None = None,
    only_unseen: bool = True,
) -> tuple[list[TopicFetch], list[Paper], list[Selection]]:
    """``fetched`` with each topic by example cut to its selection.

    Also returns the papers to store unlinked with the run: the examples
    found on arXiv (the next run needs no lookup) and every candidate, so
    that with ``only_unseen`` a paper the store already holds at its version
    (a candidate of an earlier day, rejected then) is no candidate again.
    The local source needs no such memory: it evaluates each paper once.
    """
    if not any(is_like(item) for item in fetched):
        return list(fetched), [], []
    run_papers = {p.id: p for item in fetched for p in item.papers}
    wanted = sorted({i for it in fetched if is_like(it) for i in _ids(it.plan.topic)})
    candidates = {p.id: p for item in fetched if is_like(item) for p in item.papers}
    with store.reading() as conn:
        stored = {p.id: p for p in stored_papers(conn, wanted)}
        seen = _seen(conn, candidates.values()) if only_unseen else set()
    known = {**run_papers, **stored}
    looked_up = _look_up([i for i in wanted if i not in known], lookup)
    known.update((p.id, p) for p in looked_up)
    result, selections = [], []
    with store.reading() as conn:
        for item in fetched:
            if not is_like(item):
                result.append(item)
                continue
            fresh = [p for p in item.papers if p.id not in seen]
            selection = choose(conn, item.plan.topic, fresh, known)
            selections.append(selection)
            result.append(replace(item, papers=[s.paper for s in selection.kept]))
    return result, [*looked_up, *candidates.values()], selections


def _seen(conn: Connection, papers: Iterable[Paper]) -> set[str]:
    """Ids of ``papers`` the store already holds at (at least) their version."""
    wanted = {p.id: p.version for p in papers}
    return {p.id for p in stored_papers(conn, sorted(wanted)) if p.version >= wanted[p.id]}


def choose(
    conn: Connection, topic: Topic, candidates: Sequence[Paper], known: Mapping[str, Paper]
) -> Selection:
    """Score ``candidates`` against the topic's examples; keep its top and/or min_score."""
    examples, missing = _examples(conn, topic, known)
    ids = set(liketopic.arxiv_ids(topic.like or [])) | {key for key, _ in examples}
    fresh = [p for p in candidates if p.id not in ids]  # an example is no news
    if not examples or not fresh:
        return Selection(topic.name, len(fresh), [], missing)
    # A weighted mean over the nearest min(k, examples): one example's score is its similarity.
    default = METHODS[DEFAULT]
    method = replace(default, k=max(1, min(default.k, len(examples))))
    terms = libstore.cached_terms(conn, [p.id for p in fresh])
    counts = {p.id: terms.get(p.id) or dict(term_counts(p.title, p.abstract)) for p in fresh}
    corpus = libstore.corpus(conn)
    if corpus.documents < len(fresh):  # a young store: the day's papers give the idf
        corpus = Corpus().add_all([*counts.values(), *(e[1] for e in examples)])
    library = [Held(key, "", c) for key, c in examples]
    ranked = score_papers(fresh, counts, library, method, corpus)
    floor = topic.min_score
    kept = [s for s in ranked if s.score > 0 and (floor is None or s.score >= floor)]
    top = topic.keep_top
    return Selection(topic.name, len(fresh), kept[:top] if top else kept, missing)


def _examples(
    conn: Connection, topic: Topic, known: Mapping[str, Paper]
) -> tuple[list[tuple[str, dict[str, int]]], list[str]]:
    """``(key, term counts)`` of each example found, and the names of those not found."""
    like = topic.like or []
    found: list[tuple[str, dict[str, int]]] = []
    missing: list[str] = []
    ids = liketopic.arxiv_ids(like)
    cached = libstore.cached_terms(conn, ids)
    for paper_id in ids:
        paper = known.get(paper_id)
        if paper is None:
            missing.append(paper_id)
            continue
        found.append(
            (paper_id, cached.get(paper_id) or dict(term_counts(paper.title, paper.abstract)))
        )
    for name in liketopic.collections(like):
        members = _members(conn, name, known)
        if not members:
            missing.append(f"{liketopic.COLLECTION}{name}")
        found += members
    return found, missing


def _members(
    conn: Connection, name: str, known: Mapping[str, Paper]
) -> list[tuple[str, dict[str, int]]]:
    """A library collection's items as examples: their paper's text when it is known."""
    wanted = name.casefold()
    rows = [r for r in libstore.library(conn) if wanted in {c.casefold() for c in r.collections}]
    ids = [i for r in rows for i in (r.paper_id, r.arxiv_id) if i]
    cached = libstore.cached_terms(conn, ids)
    papers = {**{p.id: p for p in stored_papers(conn, ids)}, **known}
    found = []
    for row in rows:
        paper_id = row.paper_id or row.arxiv_id or ""
        paper = papers.get(paper_id)
        counts = cached.get(paper_id) or (
            dict(term_counts(paper.title, paper.abstract)) if paper else row.terms
        )
        if counts:
            found.append((row.key, counts))
    return found


def _ids(topic: Topic) -> list[str]:
    return liketopic.arxiv_ids(topic.like or [])


def _look_up(ids: Sequence[str], lookup: Lookup | None) -> list[Paper]:
    if not ids or lookup is None:
        return []
    return lookup(ids)


def arxiv_lookup(config: Config) -> Lookup:
    """Find papers on arXiv by id (one request); an error is one warning line, no papers."""

    def lookup(ids: Sequence[str]) -> list[Paper]:
        import sys

        from dailypapers.arxiv.errors import ArxivError
        from dailypapers.sources.api import make_client

        client = make_client(config)
        try:
            page = client.fetch_page("", start=0, max_results=len(ids), id_list=list(ids))
        except ArxivError as exc:
            print(f"warning: examples not looked up on arXiv ({exc.brief()})", file=sys.stderr)
            return []
        finally:
            client.close()
        wanted = set(ids)
        return [p for p in page.papers if p.id in wanted]

    return lookup


def apply(
    config: Config,
    store: Store,
    fetched: Sequence[TopicFetch],
    *,
    source: str,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[TopicFetch], list[Paper]]:
    """:func:`select` for a run: arXiv lookups unless the source is local; lines reported.

    Progress lines go to ``progress``; a missing example is a warning on stderr.
    """
    import sys

    local = source == "local"
    if config.library_paths and any(
        liketopic.collections(t.like or []) for t in config.settings.topics
    ):  # a collection's items come from the library as it is now
        _refresh_library(config, store)
    lookup = None if local else arxiv_lookup(config)
    result, examples, selections = select(store, fetched, lookup=lookup, only_unseen=not local)
    for selection in selections:
        for line in selection.lines():
            if progress:
                progress(line)
        for line in selection.warnings():
            print(line, file=sys.stderr)
    return result, examples


def _refresh_library(config: Config, store: Store) -> None:
    """Re-import changed library files; one warning line (and the stored library) on failure."""
    import sys

    if (reason := libstore.reimport_changed(store, config.library_paths)) is not None:
        print(
            f"warning: library not re-imported ({reason}); collections as stored", file=sys.stderr
        )
