"""The offline model's ``/v1/embeddings``: deterministic vectors, with OpenAI's limits held. Not a language model's:
texts are near when they share words (or pieces of words), which is what the tests of search need."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from threadrunner.domain.budget import estimate_tokens

DEFAULT_EMBEDDING_DIMENSIONS = 1536
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_INPUT_TOKENS = 8192
MAX_EMBEDDING_REQUEST_TOKENS = 300_000
"""OpenAI's limits on ``/v1/embeddings``: inputs a request, tokens an input, tokens a request, which the double
holds with threadrunner's own count of tokens (``estimate_tokens``), so a text too long for the provider fails
here too."""


def embeddings(request: dict[str, Any]) -> dict[str, Any]:
    """The embeddings list for a request: one vector per input text, and the tokens counted as threadrunner counts
    them.

    Raises ``ValueError`` with OpenAI's words for a request it refuses.
    """
    texts = request.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    dimensions = request.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not 0 < dimensions <= 4096:
        raise ValueError("input must be a string or an array of strings; dimensions 1 to 4096.")
    counts = [estimate_tokens(text) for text in texts]
    refused = embeddings_refusal(counts)
    if refused:
        raise ValueError(refused)
    data = [
        {"object": "embedding", "index": index, "embedding": embedding_of(text, dimensions)}
        for index, text in enumerate(texts)
    ]
    usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
    return {"object": "list", "data": data, "model": request.get("model", ""), "usage": usage}


def embeddings_refusal(counts: list[int]) -> str | None:
    """Why an embeddings request of inputs of ``counts`` tokens is refused, as OpenAI refuses it; ``None`` if not."""
    if len(counts) > MAX_EMBEDDING_INPUTS:
        return f"'input' holds {len(counts)} texts; at most {MAX_EMBEDDING_INPUTS} are embedded at once."
    if counts and max(counts) > MAX_EMBEDDING_INPUT_TOKENS:
        return (
            f"This model's maximum context length is {MAX_EMBEDDING_INPUT_TOKENS} tokens, however you requested "
            f"{max(counts)} tokens in an input. Please reduce your input."
        )
    if sum(counts) > MAX_EMBEDDING_REQUEST_TOKENS:
        return f"The inputs hold {sum(counts)} tokens; at most {MAX_EMBEDDING_REQUEST_TOKENS} are embedded at once."
    return None


def embedding_of(text: str, dimensions: int) -> list[float]:
    """A text's embedding in the double: its words and their three-letter pieces hashed into ``dimensions`` counts,
    normalised, the same text always giving the same vector."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[^\W_]+", text.lower()):
        features = [word] + [word[i : i + 3] for i in range(max(1, len(word) - 2))]
        for feature in features:
            digest = hashlib.sha256(feature.encode()).digest()
            vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] % 2 else -1.0
    norm = sum(value * value for value in vector) ** 0.5
    return [value / norm for value in vector] if norm else vector
