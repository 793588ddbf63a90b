"""Topic planning: each configured topic with the query that will be sent to arXiv."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.arxiv import query as q
from dailypapers.arxiv.taxonomy import archive_categories
from dailypapers.config import Config, Topic

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from dailypapers.store import Store


@dataclass(frozen=True)
class TopicPlan:
    """A topic with its effective arXiv query.

    ``query_string`` is the topic's identity in the store (with the archive
    filter); ``request_string``, when set, is the equivalent query sent to
    arXiv's API (:func:`request_query`).
    """

    topic: Topic
    query: q.Node
    query_string: str
    request_string: str = ""

    @property
    def request(self) -> str:
        """The query string sent to arXiv's API: the same papers as ``query_string``."""
        return self.request_string or self.query_string


# The last config planned and its plans: a run asks for them from the fetch,
# the render, the "new" badges, the summaries, the digests and the skip's stamp.
_planned: tuple[weakref.ref[Config], tuple[TopicPlan, ...]] | None = None


def plan_topics(config: Config) -> list[TopicPlan]:
    """Every configured topic with the query that will be sent to arXiv.

    Computed once per config object (it is frozen, and so are the plans): a
    run's later callers get the same plans without building every query again.
    """
    global _planned
    planned = _planned
    if planned is not None and planned[0]() is config:
        return list(planned[1])
    plans = []
    archives = config.settings.archives
    for topic in config.settings.topics:
        node = topic.search_query(archives)
        sent = q.to_string(request_query(topic, archives, node))
        plans.append(TopicPlan(topic, node, q.to_string(node), sent))
    _planned = (weakref.ref(config), tuple(plans))
    return plans


def stored_topics(
    config: Config, store: Store, conn: Connection | None = None
) -> list[tuple[TopicPlan, int | None]]:
    """Each configured topic's plan and stored id (``None``: never stored), in config order.

    The one lookup of which stored topic a configured one is (its name and
    ``query_string``): the outputs, the summaries and the digests' topic names.
    ``conn``: the caller's open connection (none: one is opened for the lookup).
    """
    from dailypapers.listedquery import topic_ids

    if conn is not None:
        found = topic_ids(conn)
    else:
        with store.reading() as reading:
            found = topic_ids(reading)
    return [(plan, found.get((plan.topic.name, plan.query_string))) for plan in plan_topics(config)]


def request_query(topic: Topic, archives: list[str], full: q.Node | None = None) -> q.Node:
    """The topic's query as sent to arXiv: the archive filter left out where it is implied.

    arXiv echoes the query twice in every response's header, and the filter
    of the default archives (cs + stat) is 46 ``cat:`` terms, about 1.4 kB a
    response. A topic whose own query or categories already require a
    category of the archives (``categories = ["cs.CL"]``, ``... AND
    cat:cs.LG``) matches exactly the same papers without it. ``full``: the
    topic's ``search_query(archives)`` when the caller has it already.
    """
    node = full if full is not None else topic.search_query(archives)
    if topic.like is not None or not archives:
        return node
    bare = topic.search_query([])
    wanted = frozenset(c for a in archives for c in archive_categories(a))
    return bare if requires_category(bare, wanted) else node


def requires_category(node: q.Node, categories: frozenset[str]) -> bool:
    """Whether every paper ``node`` matches has one of ``categories`` (by its boolean form)."""
    if isinstance(node, q.Term):
        return node.field == "cat" and node.text in categories
    if isinstance(node, q.And):
        return requires_category(node.left, categories) or requires_category(node.right, categories)
    if isinstance(node, q.Or):
        return requires_category(node.left, categories) and requires_category(
            node.right, categories
        )
    if isinstance(node, q.AndNot):
        return requires_category(node.left, categories)
    return False
