"""A file's chunks and their embeddings, kept beside its bytes so that a file is read, cut and embedded once per
chunking strategy and embedding model, however many vector stores it joins (a file attached in a thousand threads
is embedded once). They are deleted with the file's bytes."""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass, field

from .vector_stores import ChunkingStrategy

_FORMAT = 1
"""The layout of what :meth:`FileChunks.encode` writes: a JSON line, then the embeddings as float32 in the
machine's order (little-endian wherever Lambda runs)."""


def chunks_key(content_key: str) -> str:
    """Where a file's chunks are kept: beside its bytes, under its project."""
    return f"{content_key}.chunks"


@dataclass
class FileChunks:
    """The chunks of a file cut with one strategy, and their embeddings by one model (none: ``""``)."""

    chunking_strategy: ChunkingStrategy
    embedding_model: str
    texts: list[str]
    dimensions: int = 0
    embeddings: array = field(default_factory=lambda: array("f"))
    """Every chunk's embedding, one after the other, as float32: a fifth of the memory of lists of floats."""

    def serves(self, chunking_strategy: ChunkingStrategy, embedding_model: str) -> bool:
        return self.chunking_strategy == chunking_strategy and self.embedding_model == embedding_model

    def add_embeddings(self, vectors: list[list[float]]) -> None:
        for vector in vectors:
            self.dimensions = len(vector)
            self.embeddings.extend(vector)

    def vectors(self, start: int, stop: int) -> list[list[float]]:
        """The embeddings of chunks ``start`` to ``stop`` (excluded)."""
        size = self.dimensions
        return [self.embeddings[number * size : (number + 1) * size].tolist() for number in range(start, stop)]

    def encode(self) -> bytes:
        head = {
            "format": _FORMAT,
            "chunking_strategy": self.chunking_strategy.model_dump(),
            "embedding_model": self.embedding_model,
            "dimensions": self.dimensions,
            "texts": self.texts,
        }
        return json.dumps(head).encode() + b"\n" + self.embeddings.tobytes()

    @classmethod
    def decode(cls, data: bytes) -> FileChunks | None:
        """What :meth:`encode` wrote; ``None`` for anything else (another format: made again)."""
        line, _, rest = data.partition(b"\n")
        try:
            head = json.loads(line)
            if head.get("format") != _FORMAT:
                return None
            embeddings = array("f")
            embeddings.frombytes(rest)
            return cls(
                ChunkingStrategy.model_validate(head["chunking_strategy"]),
                head["embedding_model"],
                head["texts"],
                head["dimensions"],
                embeddings,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
