"""Optional ranking by embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

With ``[embeddings]`` configured (Ollama, vLLM, a hosted API; the key from
``$DAILYPAPERS_EMBEDDINGS_KEY``), :func:`rerank` turns the offline ranking
into method ``embeddings`` (the mean cosine of each paper with its
:data:`K` nearest library items) or ``hybrid`` (the mean of that and the
offline score). Vectors are cached per paper version and model
(:mod:`dailypapers.rank.embedstore`): a second run asks only for new texts.

Never blocking: each answer is capped in size, all of a run's requests
share one total deadline (``timeout``), at most ``max_texts`` new texts are
embedded per run, and any failure (unreachable, HTTP error, slow, oversized,
malformed, a wrong dimension) prints one line on stderr and keeps the
offline ranking for the rest of the run. The HTTP pieces are
:mod:`dailypapers.llm`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar
from weakref import WeakKeyDictionary

import httpx
import numpy as np

from dailypapers.config import Config, EmbeddingsSettings
from dailypapers.llm import LLMError, answer_json, bearer_key, describe, endpoint, post_capped
from dailypapers.masking import short
from dailypapers.models import Paper
from dailypapers.rank import embedstore
from dailypapers.rank.embedstore import Text, joined
from dailypapers.rank.methods import DEFAULT
from dailypapers.store import Store

KEY_ENV = "DAILYPAPERS_EMBEDDINGS_KEY"
MAX_DIMENSIONS = 8192
MAX_COORDINATE = 1e6  # models answer within a few units; 1e308 is a hostile answer
MAX_TEXT = 8000  # characters of one text sent
BYTES_PER_NUMBER = 32  # an answer's cap: this per coordinate, plus some slack
K = 3
REASONS = 3
_FAILED: WeakKeyDictionary[Store, str] = WeakKeyDictionary()  # per run (one Store a run)


class Ranked(Protocol):
    """A scored paper (``dailypapers.rank.api.Scored``)."""

    @property
    def paper(self) -> Paper: ...
    @property
    def score(self) -> float: ...
    @property
    def because(self) -> dict[str, list[str]]: ...


R = TypeVar("R", bound=Ranked)


class EmbeddingsError(Exception):
    """The endpoint could not give the vectors (one line)."""


def parse_vectors(data: Any, count: int) -> list[list[float]]:
    """The ``count`` vectors of an answer, in input order (or :class:`EmbeddingsError`)."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise EmbeddingsError("answer has no data list")
    if len(items) != count:
        raise EmbeddingsError(f"answer has {len(items)} vectors for {count} texts")
    vectors: list[list[float] | None] = [None] * count
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise EmbeddingsError("answer's data holds a non-object")
        index = item.get("index", position)
        vector = item.get("embedding")
        if not isinstance(index, int) or not 0 <= index < count or vectors[index] is not None:
            raise EmbeddingsError("answer's indexes do not match the texts")
        vectors[index] = _numbers(vector)
    found = [v for v in vectors if v is not None]
    if len({len(v) for v in found}) > 1:
        raise EmbeddingsError("answer's vectors differ in dimension")
    return found


def _numbers(vector: Any) -> list[float]:
    if not isinstance(vector, list) or not 0 < len(vector) <= MAX_DIMENSIONS:
        raise EmbeddingsError(f"an embedding is not a list of 1 to {MAX_DIMENSIONS} numbers")
    numbers = []
    for value in vector:
        number = math.nan
        if isinstance(value, int | float) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):  # a 400-digit integer
                number = float(value)
        if not math.isfinite(number):
            raise EmbeddingsError("an embedding holds something other than finite numbers")
        if abs(number) > MAX_COORDINATE:  # its square overflows in the cosine (numpy warns)
            raise EmbeddingsError(f"an embedding holds a number beyond ±{MAX_COORDINATE:g}")
        numbers.append(number)
    return numbers


async def embed(
    settings: EmbeddingsSettings,
    texts: Sequence[str],
    *,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    into: list[list[float]] | None = None,
) -> list[list[float]]:
    """Vectors of ``texts``, ``batch`` per request, all within ``timeout`` seconds.

    ``into`` receives each batch's vectors as it is answered, so that a
    caller keeps what came before a failure (the vectors of ``texts`` in
    order, as many as were answered).
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = endpoint(settings.base_url, "embeddings")
    found: list[list[float]] = [] if into is None else into
    try:
        async with (
            httpx.AsyncClient(
                headers=headers, timeout=settings.timeout, transport=transport
            ) as http,
            asyncio.timeout(settings.timeout),
        ):
            for start in range(0, len(texts), settings.batch):
                chunk = [text[:MAX_TEXT] for text in texts[start : start + settings.batch]]
                body = {"model": settings.model, "input": chunk}
                cap = len(chunk) * MAX_DIMENSIONS * BYTES_PER_NUMBER + 65536
                status, answer_headers, raw = await post_capped(http, url, body, cap)
                found.extend(parse_vectors(answer_json(status, answer_headers, raw), len(chunk)))
    except TimeoutError:
        raise EmbeddingsError(f"no answer within {settings.timeout:g} s (timeout)") from None
    except httpx.HTTPError as exc:
        raise EmbeddingsError(f"cannot reach the endpoint: {describe(exc)}") from None
    except LLMError as exc:
        raise EmbeddingsError(str(exc)) from None
    return found


def vectors(
    settings: EmbeddingsSettings,
    store: Store,
    texts: Sequence[Text],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, list[float]]:
    """``{key: vector}`` of ``texts``: cached ones, then the rest from the endpoint (cached).

    At most ``max_texts`` new texts a run, in ``texts``' order; the vectors of
    every batch answered are cached, also when a later one fails or the run
    has more texts than that. Raises :class:`EmbeddingsError` (the run ranks
    offline) until every text has a vector: a big library is embedded over
    a few runs, each one's work kept.
    """
    unique = list({t.key: t for t in texts}.values())
    with store.reading() as conn:
        found = embedstore.cached(conn, unique, settings.model)
    missing = [t for t in unique if t.key not in found]
    todo = missing[: settings.max_texts]
    answered: list[list[float]] = []
    failure: EmbeddingsError | None = None
    if todo:
        try:
            asyncio.run(
                embed(
                    settings,
                    [t.text for t in todo],
                    api_key=bearer_key(KEY_ENV, EmbeddingsError),
                    transport=transport,
                    into=answered,
                )
            )
        except EmbeddingsError as exc:
            failure = exc
        done = todo[: len(answered)]
        fresh = {t.key: v for t, v in zip(done, answered, strict=True)}
        if fresh:
            _same_dimension([*found.values(), *fresh.values()])
            store.write(lambda conn: embedstore.save(conn, done, fresh, settings.model))
            found.update(fresh)
    if failure is not None:
        raise failure
    if len(missing) > len(todo):
        left = len(missing) - len(todo)
        raise EmbeddingsError(
            f"{len(missing)} new texts, over max_texts = {settings.max_texts}: "
            f"{len(todo)} embedded and cached, {left} left for the next runs"
        )
    _same_dimension(list(found.values()))
    return found


def _same_dimension(vectors: Sequence[list[float]]) -> None:
    if len({len(v) for v in vectors}) > 1:
        raise EmbeddingsError("vectors of different dimensions (was the model changed?)")


def rerank(
    config: Config,
    store: Store,
    offline: Sequence[R],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[R]:
    """``offline`` ranked again by ``[embeddings] method``; unchanged on any failure.

    A failure prints one line on stderr; the rest of the run (the same store)
    ranks offline without asking again.
    """
    settings = config.settings.embeddings
    if settings is None or not offline or store in _FAILED:
        return list(offline)
    try:
        return _rerank(settings, store, offline, transport)
    except EmbeddingsError as exc:
        reason = short(exc, 300)
        _FAILED[store] = reason
        print(f"embeddings: skipped ({reason}); ranked offline with {DEFAULT}", file=sys.stderr)
        return list(offline)


def _rerank(
    settings: EmbeddingsSettings,
    store: Store,
    offline: Sequence[R],
    transport: httpx.AsyncBaseTransport | None,
) -> list[R]:
    with store.reading() as conn:
        library = embedstore.library_texts(conn)
    if not library:
        return list(offline)
    papers = [
        Text(s.paper.id, s.paper.version, joined(s.paper.title, s.paper.abstract)) for s in offline
    ]
    found = vectors(
        settings, store, [*papers, *(item.text for item in library)], transport=transport
    )
    similarity = (
        _unit([found[t.key] for t in papers]) @ _unit([found[item.text.key] for item in library]).T
    )
    depth = min(K, len(library))
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :depth]
    closest = np.clip(np.take_along_axis(similarity, nearest, axis=1), 0.0, None)
    scores = closest.sum(axis=1) / depth  # the mean over the nearest (fewer than K items: all)
    result = []
    for row, scored in enumerate(offline):
        close = float(scores[row])
        score = close if settings.method == "embeddings" else (scored.score + close) / 2
        items = [library[int(j)].key for j in nearest[row] if similarity[row, int(j)] > 0]
        merged = list(dict.fromkeys([*items, *scored.because.get("items", [])]))[:REASONS]
        because = {"items": merged, "terms": list(scored.because.get("terms", []))}
        result.append(replace(scored, score=score, because=because))  # type: ignore[type-var]
    return sorted(result, key=lambda s: (-s.score, s.paper.id))


def _unit(rows: Sequence[list[float]]) -> Any:
    matrix = np.array(rows, dtype=float)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
