"""Optional embeddings ranking: the fake endpoint, its faults, the cache, the fallback.

Every request goes over a real socket to the fake OpenAI-compatible server;
the ranking tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from dailypapers.config import Config, ConfigError, EmbeddingsSettings, load_config
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_embeddings import DIMENSIONS, vector_of
from dailypapers.offline.fake_llm import FakeLLM, refused_url
from dailypapers.pipeline import run_notify, run_update
from dailypapers.rank import api
from dailypapers.rank.embeddings import KEY_ENV, EmbeddingsError, embed, parse_vectors
from dailypapers.run import RunStatus
from dailypapers.store import open_store

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
LIBRARY = ["2505.07271", "2505.07263"]


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def settings(url: str, **extra: object) -> EmbeddingsSettings:
    return EmbeddingsSettings.model_validate({"base_url": url, "model": "fake", **extra})


# -- the fake endpoint and the client ------------------------------------------


def test_fake_vectors_are_deterministic_and_closer_for_shared_words() -> None:
    reward = vector_of("reward models from human preference")
    assert reward == vector_of("reward models from human preference")
    assert len(reward) == DIMENSIONS and abs(sum(v * v for v in reward) - 1) < 1e-4
    near = vector_of("reward models for preference learning")
    far = vector_of("graph colouring with local search")

    def dot(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert dot(reward, near) > dot(reward, far)


def test_embed_sends_batches_with_the_key_and_keeps_input_order(llm: FakeLLM) -> None:
    texts = [f"paper number {i} about reward" for i in range(5)]
    found = asyncio.run(embed(settings(llm.url, batch=2), texts, api_key="sk-test"))
    assert found == [vector_of(t) for t in texts]
    assert len(llm.embeddings) == 3  # 2 + 2 + 1
    assert llm.embeddings[0].headers["authorization"] == "Bearer sk-test"
    assert llm.embeddings[0].json() == {"model": "fake", "input": texts[:2]}


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "HTTP 500"),
        ("429", "rate limited"),
        ("not_json", "not JSON"),
        ("html", "not JSON"),
        ("wrong_dimension", "differ in dimension"),
        ("short", "1 vectors for 2 texts"),
        ("malformed", "not a list of"),
        ("huge", "larger than"),
    ],
)
def test_every_fault_is_one_line(llm: FakeLLM, fault: str, message: str) -> None:
    llm.fail(fault)
    with pytest.raises(EmbeddingsError) as caught:
        asyncio.run(embed(settings(llm.url), ["reward models", "graph search"]))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_key_the_endpoint_quotes_back_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-embeddings-secret-4711"
    monkeypatch.setenv("DAILYPAPERS_EMBEDDINGS_KEY", key)
    # Its 401 quotes the key it got, as real providers do.
    with FakeLLM(api_key="another-key") as fake, pytest.raises(EmbeddingsError) as caught:
        asyncio.run(embed(settings(fake.url), ["reward models"], api_key=key))
    assert "Incorrect API key provided: ***" in str(caught.value)
    assert key not in str(caught.value)


def test_a_slow_endpoint_hits_the_total_deadline(llm: FakeLLM) -> None:
    llm.fail("slow")
    try:
        with pytest.raises(EmbeddingsError, match=r"no answer within 0\.3 s"):
            asyncio.run(embed(settings(llm.url, timeout=0.3), ["reward models"]))
    finally:
        llm.release()


def test_an_unreachable_endpoint_is_one_line() -> None:
    with pytest.raises(EmbeddingsError, match="cannot reach the endpoint"):
        asyncio.run(embed(settings(refused_url()), ["reward models"]))


@pytest.mark.parametrize(
    "data",
    [
        {"data": [{"embedding": [1.0, float("nan")]}]},
        {"data": [{"embedding": [True]}]},
        {"data": [{"embedding": [10**400, 1.0]}]},  # float() of it: OverflowError
        {"data": [{"embedding": ["1.0"]}]},
        {"data": [{"embedding": [1e308, 1.0]}]},  # its square: inf, a numpy warning
        {"data": [{"embedding": []}]},
        {"data": [{"index": 3, "embedding": [1.0]}]},
        {"data": ["x"]},
        [1, 2],
    ],
)
def test_hostile_answers_are_refused(data: object) -> None:
    with pytest.raises(EmbeddingsError):
        parse_vectors(data, 1)


# -- config ----------------------------------------------------------------------


def _config_text(url: str, extra: str = "") -> str:
    return f'[[topics]]\nname = "Reward Model"\n\n[embeddings]\nbase_url = "{url}"\n{extra}'


def test_config_refuses_a_key_and_takes_the_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "papers.toml"
    path.write_text(_config_text("http://x/v1", 'model = "m"\napi_key = "sk-1"\n'))
    with pytest.raises(
        ConfigError, match=r"papers\.toml:\d+: embeddings: .*DAILYPAPERS_EMBEDDINGS_KEY"
    ):
        load_config(path)
    path.write_text(_config_text("http://x/v1", 'model = "m"\nmethod = "magic"\n'))
    with pytest.raises(ConfigError, match=r"papers\.toml:7: embeddings\.method"):
        load_config(path)
    path.write_text(_config_text("http://x/v1", 'model = "m"\n'))
    monkeypatch.setenv("DAILYPAPERS_EMBEDDINGS_URL", "http://127.0.0.1:1/v1")
    embeddings = load_config(path).settings.embeddings
    assert embeddings is not None and embeddings.base_url == "http://127.0.0.1:1/v1"
    assert embeddings.method == "hybrid"


@pytest.mark.parametrize("section", ["summaries", "embeddings"])
@pytest.mark.parametrize("source", ["file", "environment"])
def test_an_endpoint_with_a_password_in_it_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, source: str
) -> None:
    # Before: accepted, sent, and printed in clear by `summarize --dry-run`.
    url = "http://alice:s3cretpw@127.0.0.1:9/v1"
    path = tmp_path / "papers.toml"
    written = url if source == "file" else "http://127.0.0.1:9/v1"
    path.write_text(
        f'[[topics]]\nname = "A"\n[{section}]\nbase_url = "{written}"\nmodel = "m"\n',
        encoding="utf-8",
    )
    if source == "environment":
        variable = "DAILYPAPERS_LLM_URL" if section == "summaries" else "DAILYPAPERS_EMBEDDINGS_URL"
        monkeypatch.setenv(variable, url)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "must not carry a user name or password" in str(caught.value)
    assert "s3cretpw" not in str(caught.value)


def test_an_embeddings_base_url_with_a_query_keeps_it_after_the_path() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0, 0.0]}]})

    one = settings("https://llm.invalid/openai/v1?api-version=2024-06-01")
    asyncio.run(embed(one, ["a text"], transport=httpx.MockTransport(answer)))
    assert seen[0].path == "/openai/v1/embeddings"
    assert seen[0].params["api-version"] == "2024-06-01"


# -- ranking ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


def project(folder: Path, server: FakeArxiv, embeddings: str = "") -> Config:
    folder.mkdir(exist_ok=True)
    text = (
        'outputs = ["readme", "json"]\n\n[[topics]]\nname = "Reward Model"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 3\n'
        f'\n[library]\npaths = ["library.txt"]\n{embeddings}'
    )
    (folder / "papers.toml").write_text(text, encoding="utf-8")
    (folder / "library.txt").write_text("\n".join(LIBRARY) + "\n", encoding="utf-8")
    return load_config(folder / "papers.toml")


def _section(url: str, method: str = "hybrid") -> str:
    return f'\n[embeddings]\nbase_url = "{url}"\nmodel = "fake"\nmethod = "{method}"\n'


def test_hybrid_ranks_with_cached_vectors(
    tmp_path: Path, server: FakeArxiv, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-secret")
    offline_config = project(tmp_path, server)
    assert run_update(offline_config, now=DAY1).status == RunStatus.UPDATED
    hybrid = project(tmp_path, server, _section(llm.url))
    alone = project(tmp_path, server, _section(llm.url, "embeddings"))
    with open_store(hybrid.db_url) as store:
        offline = api.for_you(store, offline_config)
        mixed = api.for_you(store, hybrid)
        asked = len(llm.embeddings)
        again = api.for_you(store, hybrid)
        only = api.for_you(store, alone)
    assert asked >= 1 and len(llm.embeddings) == asked  # the second run used the cache
    assert llm.embeddings[0].headers["authorization"] == "Bearer sk-secret"
    assert [s.paper.id for s in again] == [s.paper.id for s in mixed]
    assert {s.paper.id for s in mixed} == {s.paper.id for s in offline}
    assert [s.score for s in mixed] == sorted((s.score for s in mixed), reverse=True)
    by_id = {s.paper.id: s.score for s in offline}
    for scored, alone_scored in zip(
        sorted(mixed, key=lambda s: s.paper.id), sorted(only, key=lambda s: s.paper.id), strict=True
    ):
        assert scored.score == pytest.approx((by_id[scored.paper.id] + alone_scored.score) / 2)
    assert mixed[0].because["items"][0] in LIBRARY and mixed[0].because["terms"]


def test_a_failing_endpoint_falls_back_offline_with_one_line(
    tmp_path: Path,
    server: FakeArxiv,
    llm: FakeLLM,
    capsys: pytest.CaptureFixture[str],
) -> None:
    offline_config = project(tmp_path, server)
    assert run_update(offline_config, now=DAY1).status == RunStatus.UPDATED
    offline = json.loads(offline_config.json_path.read_text(encoding="utf-8"))["for_you"]
    capsys.readouterr()
    config = project(tmp_path, server, _section(llm.url))
    llm.fail("503", times=None)
    report = run_update(config, now=DAY1, fetch=False, force=True)
    assert report.status == RunStatus.RENDERED, report.error
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    assert document["for_you"] == offline
    lines = [line for line in capsys.readouterr().err.splitlines() if "embeddings" in line]
    assert lines == ["embeddings: skipped (HTTP 503: fake); ranked offline with bm25-knn"]
    assert len(llm.embeddings) == 1  # asked once a run, not once per use


def test_a_run_never_waits_past_the_deadline(
    tmp_path: Path, server: FakeArxiv, llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, server, _section(llm.url) + "timeout = 0.5\n")
    llm.fail("slow", times=None)
    released = threading.Timer(30, llm.release)
    released.start()
    try:
        assert run_update(config, now=DAY1).status == RunStatus.UPDATED
    finally:
        released.cancel()
        llm.release()
    assert "embeddings: skipped (no answer within 0.5 s (timeout))" in capsys.readouterr().err


def test_too_many_new_texts_or_a_changed_dimension_rank_offline(
    tmp_path: Path,
    server: FakeArxiv,
    llm: FakeLLM,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dailypapers.rank import embedstore

    offline_config = project(tmp_path, server)
    assert run_update(offline_config, now=DAY1).status == RunStatus.UPDATED
    capped = project(tmp_path, server, _section(llm.url) + "max_texts = 2\n")
    with open_store(capped.db_url) as store:
        offline = api.for_you(store, offline_config)
        assert api.for_you(store, capped) == offline  # ranked offline this run...
    assert [len(request.json()["input"]) for request in llm.embeddings] == [2]
    err = capsys.readouterr().err
    # ... and the 2 it embedded are cached: a big library is embedded over a few runs.
    assert "embeddings: skipped (" in err and ", over max_texts = 2: 2 embedded and cached, " in err
    with open_store(capped.db_url) as store:
        for _ in range(50):
            if "embeddings: skipped" not in capsys.readouterr().err:
                break
            api.for_you(store, capped)
        assert api.for_you(store, capped) != offline  # every text has its vector now
    assert "embeddings: skipped" not in capsys.readouterr().err
    inputs = [text for request in llm.embeddings for text in request.json()["input"]]
    assert len(inputs) == len(set(inputs))  # no text asked twice: each run's work was kept
    first = offline[0].paper
    odd = embedstore.Text(first.id, first.version, "")
    with open_store(capped.db_url) as store:
        store.write(lambda conn: embedstore.save(conn, [odd], {first.id: [1.0, 0.0]}, "fake"))
        config = project(tmp_path, server, _section(llm.url))
        assert api.for_you(store, config) == offline
    err = capsys.readouterr().err
    assert "embeddings: skipped (vectors of different dimensions (was the model changed?))" in err


def test_the_vectors_answered_before_a_failure_are_kept(tmp_path: Path) -> None:
    """Before: nothing was cached until every batch succeeded, so an endpoint slower than
    the run's deadline for the whole library was asked the same texts every run."""

    from dailypapers.rank import embedstore
    from dailypapers.rank.embeddings import vectors

    asked: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        asked.append(texts)
        if len(asked) == 3:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        data = [{"index": i, "embedding": vector_of(t)} for i, t in enumerate(texts)]
        return httpx.Response(200, json={"data": data})

    texts = [embedstore.Text(f"k{n}", 1, f"text number {n}") for n in range(5)]
    one = settings("http://embed.test/v1", batch=1)
    with open_store(f"sqlite:///{tmp_path / 'e.db'}") as store:
        with pytest.raises(EmbeddingsError, match="HTTP 503"):
            vectors(one, store, texts, transport=httpx.MockTransport(answer))
        with store.reading() as conn:
            assert sorted(embedstore.cached(conn, texts, "fake")) == ["k0", "k1"]
        found = vectors(one, store, texts, transport=httpx.MockTransport(answer))
    assert sorted(found) == [t.key for t in texts]
    assert asked[3:] == [["text number 2"], ["text number 3"], ["text number 4"]]


def test_a_cache_of_mixed_dimensions_ranks_offline(
    tmp_path: Path, server: FakeArxiv, llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    from dailypapers.rank import embedstore

    offline_config = project(tmp_path, server)
    assert run_update(offline_config, now=DAY1).status == RunStatus.UPDATED
    config = project(tmp_path, server, _section(llm.url))
    with open_store(config.db_url) as store:
        offline = api.for_you(store, offline_config)
        assert len(api.for_you(store, config)) == len(offline)  # everything cached now
        first = offline[0].paper
        odd = embedstore.Text(first.id, first.version, "")
        store.write(lambda conn: embedstore.save(conn, [odd], {first.id: [1.0, 0.0]}, "fake"))
    asked = len(llm.embeddings)
    with open_store(config.db_url) as store:
        assert api.for_you(store, config) == offline
    assert len(llm.embeddings) == asked  # nothing new to ask: the cache alone was inconsistent
    assert "embeddings: skipped (vectors of different dimensions" in capsys.readouterr().err


def test_notify_min_score_compares_the_scores_papers_json_shows(
    tmp_path: Path, server: FakeArxiv, llm: FakeLLM
) -> None:
    # Before: the digest scored with the offline method alone while papers.json
    # showed the hybrid scores, so a min_score read off papers.json left out
    # papers scored above it.
    notify = "\n[notify]\nmin_score = {}\nmax_per_topic = 200\n\n[notify.github]\n"
    config = project(tmp_path, server, _section(llm.url) + notify.format(0.5))
    assert run_update(config, now=DAY1, notify=False).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    scores = {p["id"]: p["score"] for t in document["topics"] for p in t["papers"] if p["score"]}
    middle = sorted(scores.values())[len(scores) // 2]
    config = project(tmp_path, server, _section(llm.url) + notify.format(middle))
    preview = run_notify(config, dry_run=True).notified[0].preview
    shown = {i.split("v")[0] for i in re.findall(r"\b\d{4}\.\d{5}(?:v\d+)?\b", preview)}
    above = {i for i, score in scores.items() if score >= middle}
    assert above and above <= shown
    assert not {i for i, score in scores.items() if score < middle} & shown


def test_the_embeddings_score_is_the_mean_cosine_with_the_nearest_items(
    tmp_path: Path, server: FakeArxiv, llm: FakeLLM
) -> None:
    # A library of 2 items: the mean of 2 cosines (before: their sum over 3, as if a third
    # item of cosine 0 were there, so a small library scored a third lower than documented).
    from dailypapers.rank.embedstore import joined
    from dailypapers.store import stored_papers

    offline = project(tmp_path, server)
    run_update(offline, now=DAY1)
    alone = project(tmp_path, server, _section(llm.url, "embeddings"))
    with open_store(alone.db_url) as store:
        only = api.for_you(store, alone)
        with store.reading() as conn:
            stored = {p.id: p for p in stored_papers(conn, LIBRARY)}
    items = [vector_of(joined(p.title, p.abstract)) for p in stored.values()]

    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return float(dot / (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5)

    assert len(items) == 2 and only
    for scored in only:
        paper = vector_of(joined(scored.paper.title, scored.paper.abstract))
        expected = sum(max(cosine(paper, item), 0.0) for item in items) / 2
        assert scored.score == pytest.approx(expected, abs=1e-6)
