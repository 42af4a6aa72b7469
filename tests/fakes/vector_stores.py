"""Vector stores with their files and batches, the vector index, and the indexer's queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.vector_stores import (
    Chunk,
    FileCounts,
    FileError,
    Hit,
    IndexJob,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    batch_status,
)
from threadrunner.errors import NotFound

from .world import World


class FakeVectorStores:
    """Stores, their files (by store), batches and counts, as the table keeps them."""

    def __init__(self, world: World) -> None:
        self.world = world

    def put_store(self, store: VectorStore) -> None:
        self.world.stores[store.id] = store.model_copy(update={"file_counts": FileCounts()})

    def get_store(self, vector_store_id: str) -> VectorStore:
        if vector_store_id not in self.world.stores:
            raise NotFound("vector store", vector_store_id)
        return self.world.stores[vector_store_id]

    def list_stores(self, page: PageRequest) -> Page[VectorStore]:
        return paginate(sorted(self.world.stores.values(), key=lambda s: s.id), page)

    def update_store(self, vector_store_id: str, changes: dict[str, Any]) -> VectorStore:
        store = self.get_store(vector_store_id)
        self.world.stores[vector_store_id] = VectorStore.model_validate({**store.model_dump(), **changes})
        return self.world.stores[vector_store_id]

    def delete_store(self, vector_store_id: str) -> None:
        self.get_store(vector_store_id)
        del self.world.stores[vector_store_id]

    def _count(self, vector_store_id: str, changes: dict[str, int], usage: int = 0) -> None:
        if vector_store_id not in self.world.stores:
            return
        store = self.world.stores[vector_store_id]
        counts = store.file_counts.model_copy(
            update={name: getattr(store.file_counts, name) + value for name, value in changes.items()}
        )
        self.world.stores[vector_store_id] = store.model_copy(
            update={"file_counts": counts, "usage_bytes": store.usage_bytes + usage}
        )

    def add_file(self, entry: VectorStoreFile, batch_id: str | None = None) -> bool:
        self.get_store(entry.vector_store_id)
        files = self.world.store_files.setdefault(entry.vector_store_id, {})
        if entry.id in files:
            return False
        files[entry.id] = (entry, 0)
        self._count(entry.vector_store_id, {"in_progress": 1, "total": 1})
        return True

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile:
        if file_id not in self.world.store_files.get(vector_store_id, {}):
            raise NotFound("file", file_id)
        return self.world.store_files[vector_store_id][file_id][0]

    def update_file(self, vector_store_id: str, file_id: str, changes: dict[str, Any]) -> VectorStoreFile:
        entry, chunks = self.world.store_files.get(vector_store_id, {}).get(file_id) or (None, 0)
        if entry is None:
            raise NotFound("file", file_id)
        entry = VectorStoreFile.model_validate({**entry.model_dump(), **changes})
        self.world.store_files[vector_store_id][file_id] = (entry, chunks)
        return entry

    def list_files(self, vector_store_id: str, page: PageRequest, status: str | None = None) -> Page[VectorStoreFile]:
        self.get_store(vector_store_id)
        entries = sorted((e for e, _ in self.world.store_files.get(vector_store_id, {}).values()), key=lambda e: e.id)
        return paginate([e for e in entries if status in (None, e.status)], page)

    def finish_file(
        self,
        vector_store_id: str,
        file_id: str,
        status: str,
        usage_bytes: int = 0,
        chunks: int = 0,
        last_error: FileError | None = None,
    ) -> bool:
        files = self.world.store_files.get(vector_store_id, {})
        if file_id not in files or files[file_id][0].status != "in_progress":
            return False
        if vector_store_id not in self.world.stores:  # deleted: its files wait to be forgotten, counted nowhere
            return False
        changes = {"status": status, "usage_bytes": usage_bytes, "last_error": last_error}
        files[file_id] = (files[file_id][0].model_copy(update=changes), chunks)
        self._count(vector_store_id, {"in_progress": -1, status: 1}, usage_bytes)
        return True

    def remove_file(self, vector_store_id: str, file_id: str) -> int:
        entry, chunks = self.world.store_files.get(vector_store_id, {}).pop(file_id, (None, 0))
        if entry is None:
            raise NotFound("file", file_id)
        self._count(vector_store_id, {entry.status: -1, "total": -1}, -entry.usage_bytes)
        return chunks

    def stores_of_file(self, file_id: str) -> list[str]:
        return sorted(store for store, files in self.world.store_files.items() if file_id in files)

    def file_ids(self, vector_store_id: str) -> list[str]:
        return sorted(self.world.store_files.get(vector_store_id, {}))

    def purge(self, vector_store_id: str) -> None:
        self.world.store_files.pop(vector_store_id, None)
        self.world.batches = {key: value for key, value in self.world.batches.items() if key[0] != vector_store_id}

    def put_batch(self, batch: VectorStoreFileBatch, file_ids: list[str]) -> None:
        self.world.batches[(batch.vector_store_id, batch.id)] = (batch, list(file_ids), False)

    def get_batch(self, vector_store_id: str, batch_id: str) -> tuple[VectorStoreFileBatch, list[str]]:
        if (vector_store_id, batch_id) not in self.world.batches:
            raise NotFound("file batch", batch_id)
        batch, file_ids, cancelled = self.world.batches[(vector_store_id, batch_id)]
        counts = FileCounts()
        for file_id in file_ids:
            if file_id in self.world.store_files.get(vector_store_id, {}):
                status = self.world.store_files[vector_store_id][file_id][0].status
                setattr(counts, status, getattr(counts, status) + 1)
                counts.total += 1
        return batch.model_copy(update={"file_counts": counts, "status": batch_status(counts, cancelled)}), file_ids

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> None:
        if (vector_store_id, batch_id) not in self.world.batches:
            raise NotFound("file batch", batch_id)
        batch, file_ids, _ = self.world.batches[(vector_store_id, batch_id)]
        self.world.batches[(vector_store_id, batch_id)] = (batch, file_ids, True)


@dataclass
class FakeIndex:
    """The vector index: every chunk with its vectors, by kind; queries by exhaustive cosine distance."""

    vectors: dict[str, dict[str, tuple[Chunk, list[float]]]] = field(default_factory=dict)

    def put(self, kind: str, chunks: Sequence[Chunk], vectors: Sequence[list[float]]) -> None:
        for chunk, vector in zip(chunks, vectors, strict=True):
            self.vectors.setdefault(kind, {})[chunk.key] = (chunk, list(vector))

    def delete(self, kind: str, keys: Sequence[str]) -> None:
        for key in keys:
            self.vectors.get(kind, {}).pop(key, None)

    def query(self, kind: str, vector: list[float], stores: Sequence[str], top_k: int) -> list[Hit]:
        hits = [
            Hit(
                key=key,
                distance=1.0 - sum(a * b for a, b in zip(vector, other, strict=True)),
                store=chunk.store,
                file_id=chunk.file_id,
                text=chunk.text,
            )
            for key, (chunk, other) in self.vectors.get(kind, {}).items()
            if chunk.store in stores
        ]
        return sorted(hits, key=lambda hit: hit.distance)[:top_k]


@dataclass
class FakeJobs:
    """The IndexFunction's queue: what was submitted, in order."""

    submitted: list[IndexJob] = field(default_factory=list)

    def submit(self, job: IndexJob) -> None:
        self.submitted.append(job)
