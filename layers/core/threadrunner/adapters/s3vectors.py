"""The vector index on S3 Vectors: one index per kind of vector, shared by every store, a chunk's store in its
filterable metadata (docs/files.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.vector_stores import Chunk, Hit

_BATCH = 500
"""The most vectors one PutVectors or DeleteVectors takes."""
MAX_TOP_K = 100
"""The most results one QueryVectors gives."""


class S3VectorIndex:
    """:class:`threadrunner.ports.VectorIndex` on an index per kind (``keywords``, ``embeddings``), by their ARNs."""

    def __init__(self, indexes: dict[str, str], client: Any) -> None:
        self._indexes = indexes
        self._client = client

    def put(self, kind: str, chunks: Sequence[Chunk], vectors: Sequence[list[float]]) -> None:
        entries = [
            {
                "key": chunk.key,
                "data": {"float32": vector},
                "metadata": {"store": chunk.store, "file_id": chunk.file_id, "n": chunk.number, "text": chunk.text},
            }
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        for start in range(0, len(entries), _BATCH):
            self._client.put_vectors(indexArn=self._indexes[kind], vectors=entries[start : start + _BATCH])

    def delete(self, kind: str, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            self._client.delete_vectors(indexArn=self._indexes[kind], keys=list(keys[start : start + _BATCH]))

    def query(self, kind: str, vector: list[float], stores: Sequence[str], top_k: int) -> list[Hit]:
        answer = self._client.query_vectors(
            indexArn=self._indexes[kind],
            queryVector={"float32": vector},
            topK=min(top_k, MAX_TOP_K),
            filter={"store": {"$in": list(stores)}},
            returnMetadata=True,
            returnDistance=True,
        )
        return [
            Hit(
                key=found["key"],
                distance=float(found.get("distance", 1.0)),
                store=found["metadata"]["store"],
                file_id=found["metadata"]["file_id"],
                text=found["metadata"]["text"],
            )
            for found in answer.get("vectors", [])
        ]
