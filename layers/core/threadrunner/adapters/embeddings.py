"""The provider's embeddings endpoint, through the ``openai`` SDK (only the IndexFunction and searches load it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import openai

from ..domain.budget import estimate_tokens
from ..domain.vector_stores import Embedded
from ..errors import ModelRateLimited, ModelUnavailable
from ..observability import logger

_BATCH = 64
"""Texts per request: a request stays well under the endpoints' input limits for chunks of 4096 tokens at most."""


class OpenAIEmbeddings:
    """:class:`threadrunner.ports.Embeddings` on ``client.embeddings``."""

    def __init__(self, client: Callable[[], openai.OpenAI], model: str, dimensions: int) -> None:
        self._client, self._model, self._dimensions = client, model, dimensions

    @property
    def name(self) -> str:
        return f"{self._model}/{self._dimensions}"

    def embed(self, texts: Sequence[str]) -> Embedded:
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), _BATCH):
            batch = texts[start : start + _BATCH]
            try:
                answer = self._client().embeddings.create(
                    model=self._model,
                    input=list(batch),
                    dimensions=self._dimensions,
                    encoding_format="float",
                )
            except openai.RateLimitError as exc:
                logger.warning("embeddings rate limited", extra={"detail": exc.message})
                raise ModelRateLimited("The embeddings endpoint is rate limiting (HTTP 429).") from exc
            except openai.APIError as exc:
                logger.warning("embeddings failed", extra={"detail": str(exc)[:500]})
                raise ModelUnavailable("The embeddings endpoint could not embed the text.") from exc
            ordered = sorted(answer.data, key=lambda item: item.index)
            if any(len(item.embedding) != self._dimensions for item in ordered):
                raise ModelUnavailable(
                    "The embeddings endpoint answered vectors of another size than EMBEDDING_DIMENSIONS "
                    f"({self._dimensions})."
                )
            vectors += [list(item.embedding) for item in ordered]
            tokens += answer.usage.prompt_tokens if answer.usage else sum(estimate_tokens(text) for text in batch)
        return Embedded(vectors, tokens)
