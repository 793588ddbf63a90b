"""Topic planning: each configured topic with the query that will be sent to arXiv."""

from __future__ import annotations

from dataclasses import dataclass

from dailypapers.arxiv import query as q
from dailypapers.config import Config, Topic


@dataclass(frozen=True)
class TopicPlan:
    """A topic with its effective arXiv query."""

    topic: Topic
    query: q.Node
    query_string: str


def plan_topics(config: Config) -> list[TopicPlan]:
    """Every configured topic with the query that will be sent to arXiv."""
    plans = []
    for topic in config.settings.topics:
        node = topic.search_query(config.settings.archives)
        plans.append(TopicPlan(topic, node, q.to_string(node)))
    return plans
