"""A synthetic arXiv at real daily rates, for the fetch benchmark.

Per announcement (cs + stat, 2025): about 1,100 new submissions (of which
about 15 % are cross-lists whose primary category is in another archive) and
about 450 replacements. These are the orders of magnitude of arXiv's
listings: cs's daily "new" listing shows roughly 900-1,000 entries with
cross-lists in 2025, stat adds roughly 150-200, and replacements run at about
40 % of new submissions. Entries have real-sized text: titles of ~80
characters, abstracts of ~1,100, five authors on average, a comment on half.

Topics match at a Zipf-like rate: topic ``i`` appears in about ``40 / (i +
1) ** 0.8`` papers per announcement (the reference's "Reasoning" about 30,
"Reward Model" about 8), so 20 topics see ~160 matching papers a day and
100 topics ~340.

The words are drawn from a list of about 50, so the text has the size of
arXiv's but not its vocabulary (21,296 distinct words stemmed in the mixed
corpus's cold start with real text, against 133: ``bench/cold_start.py
--phases``), which is what stemming caches and full-text indexes grow with. With
``texts`` (:func:`real_texts`, from the 2025 sample in
``../shared/data/arxiv-2025.jsonl.xz``), each paper takes a real title,
abstract and authors instead, the topics it mentions added at their ends;
everything else (ids, times, categories, which topics a paper mentions) is
drawn as without them.

History before the benchmarked week holds only papers that match a topic
(enough for each topic's newest 100): a paper that matches no topic is never
returned by any search, so leaving it out changes no request or byte of the
search API, and the announcement feed only carries the days benchmarked,
which are generated in full.
"""

from __future__ import annotations

import json
import lzma
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from dailypapers.arxiv import query as q
from dailypapers.arxiv.calendar import Calendar
from dailypapers.models import Author, Paper

NEW_PER_DAY = 1100
REPLACEMENTS_PER_DAY = 450
CROSS_SHARE = 0.15

TOPICS = [
    "Reasoning",
    "Reward Model",
    "Diffusion Model",
    "Graph Neural Network",
    "Federated Learning",
    "Reinforcement Learning",
    "Large Language Model",
    "Vision Transformer",
    "Contrastive Learning",
    "Knowledge Distillation",
    "Neural Radiance Field",
    "Speech Recognition",
    "Anomaly Detection",
    "Causal Inference",
    "Object Detection",
    "Time Series Forecasting",
    "Recommender System",
    "Question Answering",
    "Code Generation",
    "Domain Adaptation",
    "Continual Learning",
    "Meta Learning",
    "Active Learning",
    "Bayesian Optimization",
    "Gaussian Process",
    "Variational Inference",
    "Point Cloud",
    "Semantic Segmentation",
    "Image Captioning",
    "Machine Translation",
    "Named Entity Recognition",
    "Sentiment Analysis",
    "Text Summarization",
    "Dialogue System",
    "Retrieval Augmented",
    "Prompt Tuning",
    "Instruction Tuning",
    "Chain of Thought",
    "Mixture of Experts",
    "State Space Model",
    "Neural Architecture Search",
    "Adversarial Robustness",
    "Differential Privacy",
    "Membership Inference",
    "Backdoor Attack",
    "Model Compression",
    "Quantization",
    "Pruning",
    "Spiking Neural Network",
    "Neuromorphic Computing",
    "Quantum Machine Learning",
    "Protein Structure",
    "Drug Discovery",
    "Molecular Generation",
    "Weather Forecasting",
    "Autonomous Driving",
    "Motion Planning",
    "Robot Manipulation",
    "Imitation Learning",
    "Offline Reinforcement Learning",
    "Multi Agent",
    "Game Theory",
    "Mechanism Design",
    "Online Learning",
    "Bandit Algorithm",
    "Conformal Prediction",
    "Uncertainty Quantification",
    "Explainable AI",
    "Fairness",
    "Federated Optimization",
    "Graph Transformer",
    "Link Prediction",
    "Knowledge Graph",
    "Entity Linking",
    "Information Retrieval",
    "Dense Retrieval",
    "Text to Image",
    "Video Generation",
    "Image Restoration",
    "Super Resolution",
    "Medical Imaging",
    "Pose Estimation",
    "Depth Estimation",
    "Optical Flow",
    "Visual Odometry",
    "Scene Graph",
    "Visual Question Answering",
    "Multimodal Learning",
    "Audio Generation",
    "Music Generation",
    "Speech Synthesis",
    "Hate Speech",
    "Misinformation Detection",
    "Legal NLP",
    "Clinical NLP",
    "Tabular Data",
    "Symbolic Regression",
    "Program Synthesis",
    "Theorem Proving",
    "Sparse Autoencoder",
]
RATES = {"Reasoning": 30.0, "Reward Model": 8.0}
CS = ["cs.LG", "cs.AI", "cs.CL", "cs.CV", "cs.RO", "cs.IR", "cs.SE", "cs.CR", "cs.NE"]
STAT = ["stat.ML", "stat.ME", "stat.AP", "stat.CO"]
OTHER = ["math.OC", "eess.SP", "eess.IV", "q-bio.QM", "physics.comp-ph", "econ.EM"]
WORDS = [
    "we",
    "propose",
    "method",
    "model",
    "learning",
    "data",
    "results",
    "show",
    "performance",
    "approach",
    "task",
    "tasks",
    "training",
    "network",
    "networks",
    "framework",
    "novel",
    "state",
    "art",
    "existing",
    "experiments",
    "benchmark",
    "datasets",
    "efficient",
    "robust",
    "scalable",
    "analysis",
    "theoretical",
    "empirical",
    "demonstrate",
    "improve",
    "significantly",
    "outperforms",
    "baseline",
    "baselines",
    "across",
    "various",
    "settings",
    "problem",
    "problems",
    "optimization",
    "algorithm",
    "algorithms",
    "structure",
    "representation",
    "representations",
    "features",
]
NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Yann",
    "Fei",
    "Geoffrey",
    "Daphne",
    "Andrew",
    "Ilya",
    "Jurgen",
    "Mei",
    "Ravi",
    "Sofia",
    "Chen",
]
SURNAMES = [
    "Lovelace",
    "Turing",
    "Hopper",
    "LeCun",
    "Li",
    "Hinton",
    "Koller",
    "Ng",
    "Sutskever",
    "Wang",
    "Patel",
    "Kim",
]


def rate(topic: str) -> float:
    """Papers per announcement that mention ``topic``."""
    return float(RATES.get(topic, 40.0 / (TOPICS.index(topic) + 1) ** 0.8))


@dataclass(frozen=True, slots=True)
class Text:
    """A real paper's title, abstract and authors."""

    title: str
    abstract: str
    authors: tuple[str, ...]


def real_texts(path: Path, avoid: Sequence[str]) -> list[Text]:
    """The texts of the sample at ``path`` that mention none of ``avoid``, in a fixed order.

    Raises :class:`OSError` (a file that cannot be read), :class:`lzma.LZMAError`
    (not xz) or :class:`ValueError` (a line that is not one of the sample's papers).

    A text that mentioned a topic (as the topic's default search finds it:
    the name as a phrase in the title or the abstract) would add a paper to
    that topic beyond its rate; leaving those out keeps each topic's rate
    the generator's, as without texts.
    """
    mention = q.compile_query(
        q.any_of([q.Or(q.phrase("ti", name), q.phrase("abs", name)) for name in avoid])
    )
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    texts = []
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            text = _text(line)
            if text is None:
                raise ValueError(f"line {number}: not a paper of the 2025 sample")
            paper = Paper("0.0", 1, text.title, text.abstract, (), (), "cs.LG", moment, moment)
            if text.authors and not mention(q.Document.from_paper(paper)):
                texts.append(text)
    random.Random(len(texts)).shuffle(texts)
    return texts


def _text(line: str) -> Text | None:
    """One line's title, abstract and (first 9) authors; None unless all are text."""
    try:
        record = json.loads(line)
        title, abstract, authors = record["title"], record["abstract"], record["authors"]
    except (ValueError, TypeError, KeyError):
        return None
    names = authors[:9] if isinstance(authors, list) else None
    if not (isinstance(title, str) and isinstance(abstract, str) and names is not None):
        return None
    if not all(isinstance(name, str) for name in names):
        return None
    return Text(title, abstract, tuple(names))


@dataclass
class Generator:
    """Deterministic papers for announcements; ids are unique across calls."""

    seed: int = 20250601
    calendar: Calendar = field(default_factory=Calendar)
    rates: dict[str, float] = field(default_factory=dict)  # overrides :func:`rate`
    texts: Sequence[Text] = ()  # real text instead of drawn words (:func:`real_texts`)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.number = 0
        self.announced: list[str] = []  # ids of full-rate days: what gets replaced

    def rate(self, topic: str) -> float:
        """Papers per announcement that mention ``topic`` in this corpus."""
        return self.rates[topic] if topic in self.rates else rate(topic)

    def _text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def paper(self, when: datetime, topics: Sequence[str]) -> Paper:
        """One paper submitted at ``when`` mentioning ``topics`` in title and abstract."""
        self.number += 1
        rng = self.rng
        mention = " and ".join(topics)
        title = f"{self._text(6).title()} {mention}".strip()[:160]
        abstract = f"{self._text(80)} {mention} {self._text(80)}. {mention}."
        if rng.random() < CROSS_SHARE:
            cats = [rng.choice(OTHER), rng.choice(CS + STAT)]
        else:
            cats = rng.sample(CS + STAT, rng.randint(1, 3))
        authors = tuple(
            Author(f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}") for _ in range(rng.randint(1, 9))
        )
        if self.texts:  # drawn all the same: the rest of the corpus stays as without texts
            text = self.texts[self.number % len(self.texts)]
            title = f"{text.title} {mention}".strip()
            abstract = f"{text.abstract} {mention}." if mention else text.abstract
            authors = tuple(Author(name) for name in text.authors)
        return Paper(
            id=f"{when:%y%m}.{self.number:05d}",
            version=1,
            title=title,
            abstract=abstract,
            authors=authors,
            categories=tuple(dict.fromkeys(cats)),
            primary=cats[0],
            published=when,
            updated=when,
            comment=rng.choice([None, "12 pages, 5 figures", "Accepted at NeurIPS 2025"]),
        )

    def _when(self, evening: date) -> datetime:
        start, end = self.calendar.window(evening)
        return start + (end - start) * self.rng.random()

    def announcement(
        self, evening: date, topics: Sequence[str], corpus: dict[str, Paper]
    ) -> list[Paper]:
        """New submissions and replacements of ``evening``'s announcement, at arXiv's rates."""
        papers = []
        for _ in range(NEW_PER_DAY):
            chosen = [t for t in topics if self.rng.random() < self.rate(t) / NEW_PER_DAY]
            papers.append(self.paper(self._when(evening), chosen))
        # Replacements come from full-rate days only, so each topic gets its
        # share (about 40 % of its new papers), as on arXiv.
        pool = self.announced or [p.id for p in papers]
        for paper_id in self.rng.sample(pool, min(REPLACEMENTS_PER_DAY, len(pool))):
            old = corpus.get(paper_id) or next(p for p in papers if p.id == paper_id)
            papers.append(old.with_changes(version=old.version + 1, updated=self._when(evening)))
        self.announced += [p.id for p in papers if p.version == 1]
        return papers

    def history(self, before: date, topics: Sequence[str], per_topic: int) -> Iterator[Paper]:
        """``per_topic`` matching papers per topic, spread back from ``before`` at its rate."""
        for topic in topics:
            evening, left = before, per_topic if self.rate(topic) else 0
            while left > 0:
                evening = self.calendar.previous_announcement_day(evening)
                expected = self.rate(topic)
                count = min(left, max(1, round(expected * self.rng.uniform(0.6, 1.4))))
                skip = self.rng.random() > expected  # rarer than one a day: some days none
                for _ in range(0 if skip and expected < 1 else count):
                    yield self.paper(self._when(evening), [topic])
                    left -= 1
