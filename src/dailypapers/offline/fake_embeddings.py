"""The ``/v1/embeddings`` answers of the fake OpenAI-compatible server.

:class:`dailypapers.offline.fake_llm.FakeLLM` serves them at
``POST {url}/embeddings``: one deterministic vector per input, a hashed bag
of words (each lower-cased word adds +1 or -1 to one of :data:`DIMENSIONS`
coordinates, chosen by its SHA-256; the vector is L2-normalised), so texts
sharing words are close and every run gives the same numbers.

Faults (queued with ``FakeLLM.fail``) beyond the shared HTTP ones (``429``,
``5xx``, ``slow``, ``html``, ``not_json``, ``huge``):

=====================  ====================================================
``wrong_dimension``    the last vector is one coordinate short
``short``              one vector fewer than inputs
``malformed``          ``"data"`` is not a list of ``{"embedding": [...]}``
=====================  ====================================================
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

DIMENSIONS = 64
EMBEDDING_FAULTS = frozenset({"wrong_dimension", "short", "malformed"})
_WORD = re.compile(r"\w+")


def vector_of(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """The hashed bag of words of ``text``, L2-normalised (all zeros for no word)."""
    values = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        slot = int.from_bytes(digest[:4], "big") % dimensions
        values[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values))
    return [round(v / norm, 6) if norm else 0.0 for v in values]


def inputs_of(data: Any) -> list[str] | None:
    """The request's ``input`` as a list of texts (``None``: not a valid request)."""
    raw = data.get("input") if isinstance(data, dict) else None
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        return raw
    return None


def answer(data: Any, fault: str | None = None) -> tuple[int, bytes]:
    """``(status, JSON body)`` for one embeddings request (``fault``: one of the above)."""
    texts = inputs_of(data)
    if texts is None:
        return 400, _json({"error": {"message": "input must be a string or a list of strings"}})
    vectors = [vector_of(text) for text in texts]
    if fault == "wrong_dimension" and vectors:
        vectors[-1] = vectors[-1][:-1]
    if fault == "short" and vectors:
        vectors = vectors[:-1]
    if fault == "huge":
        vectors = [[0.5] * 2_000_000 for _ in vectors]
    items: Any = [
        {"object": "embedding", "index": index, "embedding": vector}
        for index, vector in enumerate(vectors)
    ]
    if fault == "malformed":
        items = [{"index": i, "embedding": "not a list"} for i in range(len(texts))]
    words = sum(len(_WORD.findall(text)) for text in texts)
    return 200, _json(
        {
            "object": "list",
            "model": data.get("model", "fake"),
            "data": items,
            "usage": {"prompt_tokens": words, "total_tokens": words},
        }
    )


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode("utf-8")
