"""Synthetic arXiv corpora for the fake server, tests, the demo and benchmarks.

Everything here is deterministic for a given seed. The demo corpus is the
reference README's papers (see :mod:`dailypapers.offline.reference`) plus
generated papers, so an offline demo run reproduces the reference's rows and
still fills each default topic past 100 matches.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dailypapers.models import Author, Paper
from dailypapers.offline.reference import reference_papers

_ADJECTIVES = [
    "robust",
    "scalable",
    "efficient",
    "adaptive",
    "hierarchical",
    "sparse",
    "contrastive",
    "causal",
    "multimodal",
    "federated",
    "interpretable",
    "probabilistic",
    "generative",
    "lightweight",
]
_NOUNS = [
    "transformer",
    "policy",
    "graph",
    "benchmark",
    "dataset",
    "optimizer",
    "encoder",
    "agent",
    "planner",
    "retriever",
    "tokenizer",
    "detector",
    "simulator",
    "verifier",
    "curriculum",
]
_TASKS = [
    "image segmentation",
    "code generation",
    "machine translation",
    "question answering",
    "robot navigation",
    "protein folding",
    "speech recognition",
    "time series forecasting",
    "recommendation",
    "program synthesis",
    "theorem proving",
    "dialogue",
]
_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Yann",
    "Fei",
    "Geoffrey",
    "Daphne",
    "Andrew",
    "Ilya",
    "Jürgen",
    "Mei",
    "Ravi",
    "Sofia",
    "Chen",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "LeCun",
    "Li",
    "Hinton",
    "Koller",
    "Ng",
    "Sutskever",
    "Schmidhuber",
    "Wang",
    "Patel",
]
_CS = ["cs.LG", "cs.AI", "cs.CL", "cs.CV", "cs.RO", "cs.IR", "cs.SE"]

DEMO_SEED = 20250514


def _sentence(rng: random.Random) -> str:
    return (
        f"We propose a {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} for "
        f"{rng.choice(_TASKS)} and evaluate it on {rng.randint(2, 9)} benchmarks."
    )


def _authors(rng: random.Random) -> tuple[Author, ...]:
    count = rng.randint(1, 5)
    return tuple(Author(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}") for _ in range(count))


def make_paper(
    rng: random.Random,
    number: int,
    when: datetime,
    *,
    title: str,
    abstract: str,
    categories: Sequence[str] = ("cs.LG",),
    version: int = 1,
    comment: str | None = None,
) -> Paper:
    """One synthetic paper with an id derived from its date (``YYMM.NNNNN``)."""
    published = when - timedelta(days=3 * (version - 1))
    return Paper(
        id=f"{published:%y%m}.{number:05d}",
        version=version,
        title=title,
        abstract=abstract,
        authors=_authors(rng),
        categories=tuple(categories),
        primary=categories[0],
        published=published,
        updated=when,
        comment=comment,
    )


def _topic_paper(rng: random.Random, number: int, when: datetime, kind: str) -> Paper:
    filler = " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))
    noun = rng.choice(_NOUNS)
    if kind == "reward":
        form = rng.choice(["reward model", "reward models", "reward modeling", "Reward Model"])
        title = f"{rng.choice(_ADJECTIVES).title()} {noun.title()} Training"
        abstract = f"{filler} Our {form} improves alignment. {_sentence(rng)}"
        if rng.random() < 0.5:
            title = f"{form.title()} for {rng.choice(_TASKS).title()}"
    elif kind == "reasoning":
        title = f"{rng.choice(_ADJECTIVES).title()} Reasoning with {noun.title()}s"
        abstract = f"{filler} We study multi-step reasoning in {rng.choice(_TASKS)}."
    else:
        title = f"{rng.choice(_ADJECTIVES).title()} {noun.title()} for {rng.choice(_TASKS).title()}"
        abstract = f"{filler} The reward of a model is measured; reasons are given."
    comment = rng.choice([None, None, "10 pages", "Accepted at ICML 2025, 9 pages, 4 figures"])
    cats = rng.sample(_CS, rng.randint(1, 3))
    return make_paper(
        rng, number, when, title=title, abstract=abstract, categories=cats, comment=comment
    )


def demo_corpus(seed: int = DEMO_SEED) -> list[Paper]:
    """The reference's papers plus 120 older matches per default topic and noise.

    Noise includes near misses the default queries must not match: "reward"
    and "model" apart, "reasoning" only in an abstract, and a reward-model
    paper outside the cs/stat archives.
    """
    rng = random.Random(seed)
    papers: dict[str, Paper] = {}
    for section in reference_papers().values():
        papers.update((p.id, p) for p in section)
    start = datetime(2025, 4, 27, 18, 0, tzinfo=UTC)
    kinds = ["reward"] * 120 + ["reasoning"] * 120 + ["noise"] * 160
    rng.shuffle(kinds)
    for index, kind in enumerate(kinds):
        when = start - timedelta(minutes=397 * index)
        paper = _topic_paper(rng, 10000 + index, when, kind)
        papers[paper.id] = paper
    for extra in _near_misses(rng, start):
        papers[extra.id] = extra
    return sorted(papers.values(), key=lambda p: p.updated, reverse=True)


def _near_misses(rng: random.Random, start: datetime) -> list[Paper]:
    when = start - timedelta(hours=5)
    return [
        make_paper(
            rng,
            90001,
            when,
            title="Reasoning About Proteins",
            abstract="No mention of the topic word in this abstract.",
        ),
        make_paper(
            rng,
            90002,
            when,
            title="Deep Reward Model for Gene Expression",
            abstract="A reward model for cells.",
            categories=("q-bio.GN",),
        ),
        make_paper(rng, 90003, when, title="Reward Shaping", abstract="A model of rewards."),
    ]


def write_corpus(papers: Iterable[Paper], path: Path) -> None:
    """Save papers as a corpus file the fake server reads (``{"papers": [...]}``)."""
    data = {"papers": [paper.to_dict() for paper in papers]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def read_corpus(path: Path) -> list[Paper]:
    """Load a corpus file (``{"papers": [...]}`` or a bare list)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["papers"] if isinstance(data, dict) else data
    return [Paper.from_dict(item) for item in items]


HOSTILE_TEXT = (
    '</script><script>alert("x")</script><img src=x onerror=alert(1)> <!-- a < b && c > d ]]>'
)


def hostile_papers() -> list[Paper]:
    """Papers whose every text field tries to become markup or script.

    For the escaping tests of every output (feeds, JSON, site, README):
    ``<script>``, ``</script>``, ``<img onerror>``, quotes, ``javascript:``
    URLs, CDATA ends, comment starts and XML-forbidden control characters.
    """
    when = datetime(2025, 5, 12, 17, 0, tzinfo=UTC)
    return [
        Paper(
            id="2505.99001",
            version=2,
            title=f'<script>alert("title")</script> "Quoted" & \'single\' {HOSTILE_TEXT}',
            abstract=(
                f"Reward model attack. {HOSTILE_TEXT} \x00\x07\x1b control. "
                'Code: https://github.com/evil/repo"><script>alert(7)</script> and '
                'https://evil.example/x"onmouseover="alert(8) and javascript:alert(9)'
            ),
            authors=(
                Author("<img src=x onerror=alert(3)>"),
                Author("Robert'); DROP TABLE papers;--", ("<b>Affiliation</b>",)),
            ),
            categories=("cs.LG", "<b>cs.XX</b>"),
            primary="cs.LG",
            published=when - timedelta(days=3),
            updated=when,
            comment='javascript:alert(4) <a href="javascript:alert(5)">click</a> ICML 2025',
            journal_ref="<svg onload=alert(6)>",
            doi='"><script>alert(10)</script>',
        ),
        Paper(
            id="2505.99002",
            version=1,
            title="A Plain Reward Model Paper",
            abstract="Nothing hostile here; see https://github.com/good/repo.",
            authors=(Author("Ada Lovelace"),),
            categories=("cs.CL",),
            primary="cs.CL",
            published=when - timedelta(days=1),
            updated=when - timedelta(days=1),
            comment="Accepted at NeurIPS 2024",
        ),
    ]


_GENERIC_ENDINGS = [
    "The model is trained end to end.",
    "We release code and data.",
    "Results improve on strong baselines.",
    "A learned reward signal guides exploration.",
]


def _generic_paper(rng: random.Random, number: int, when: datetime) -> Paper:
    filler = " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))
    title = f"{rng.choice(_ADJECTIVES).title()} {rng.choice(_NOUNS).title()}s"
    title += f" for {rng.choice(_TASKS).title()}"
    abstract = f"{filler} {rng.choice(_GENERIC_ENDINGS)}"
    cats = rng.sample(_CS, rng.randint(1, 3))
    return make_paper(rng, number, when, title=title, abstract=abstract, categories=cats)


def synthetic_corpus(
    count: int, seed: int = DEMO_SEED, *, reward_share: float = 0.05, near_miss_share: float = 0.0
) -> list[Paper]:
    """``count`` generated papers for benchmarks, newest first.

    ``reward_share`` of them are about reward models, ``near_miss_share``
    say "reward" and "model" apart (the demo corpus's noise), 10% are about
    reasoning, and the rest are generic (a quarter of those say "model",
    a quarter "reward").
    """
    rng = random.Random(seed)
    start = datetime(2025, 4, 27, 18, 0, tzinfo=UTC)
    papers = []
    for index in range(count):
        when = start - timedelta(minutes=7 * index)
        roll = rng.random()
        if roll < reward_share:
            papers.append(_topic_paper(rng, index, when, "reward"))
        elif roll < reward_share + near_miss_share:
            papers.append(_topic_paper(rng, index, when, "noise"))
        elif roll < reward_share + near_miss_share + 0.1:
            papers.append(_topic_paper(rng, index, when, "reasoning"))
        else:
            papers.append(_generic_paper(rng, index, when))
    return papers


def scale_corpus(count: int, seed: int = DEMO_SEED, offset: int = 0) -> Iterator[Paper]:
    """``count`` generated papers for scale benchmarks, oldest first, made quickly.

    Paper ``offset + n`` is submitted 5 minutes after paper ``offset + n - 1``
    (ids stay unique up to about a million). Titles and abstracts mix the demo
    vocabulary; about one in eight papers is a revision.
    """
    rng = random.Random(seed + offset)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for index in range(offset, offset + count):
        when = start + timedelta(seconds=300 * index)
        task, noun = rng.choice(_TASKS), rng.choice(_NOUNS)
        title = f"{rng.choice(_ADJECTIVES).title()} {noun.title()}s for {task.title()}"
        paper = make_paper(
            rng,
            index % 90000 + 10000,
            when,
            title=title,
            abstract=" ".join(_sentence(rng) for _ in range(rng.randint(2, 5))),
            categories=rng.sample(_CS, rng.randint(1, 3)),
            version=2 if rng.random() < 0.125 else 1,
        )
        yield paper.with_changes(id=f"{1501 + index // 90000:04d}.{index % 90000 + 10000:05d}")
