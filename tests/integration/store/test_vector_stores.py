"""The vector store store's contract (stores with their counts, the files in them, batches, each file's stores), on
DynamoDB and on the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.vector_stores import (
    ChunkingStrategy,
    FileCounts,
    FileError,
    StaticChunking,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)
from threadrunner.errors import NotFound
from threadrunner.ports import Stores

from .builders import ids, pages_like_a_list


def _store(store: Stores, **fields: Any) -> VectorStore:
    made = VectorStore(id=new_id("vs"), created_at=now(), **fields)
    store.vector_stores.put_store(made)
    return made


def _entry(vector_store: VectorStore, file_id: str | None = None, **fields: Any) -> VectorStoreFile:
    return VectorStoreFile(
        id=file_id or new_id("file", "-"), created_at=now(), vector_store_id=vector_store.id, **fields
    )


def _counts(**counts: int) -> FileCounts:
    return FileCounts(**counts, total=sum(counts.values()))


def test_a_store_reads_back_with_counts_that_start_at_nothing(store):
    made = VectorStore(
        id=new_id("vs"),
        created_at=now(),
        name="docs",
        metadata={"k": "v"},
        expires_after={"anchor": "last_active_at", "days": 7},
        last_active_at=now(),
        file_counts=FileCounts(completed=9, total=9),  # counted by the store, not taken from the caller
    )

    store.vector_stores.put_store(made)

    assert store.vector_stores.get_store(made.id) == made.model_copy(update={"file_counts": FileCounts()})


def test_an_update_sets_the_stores_fields_and_keeps_its_counts(store):
    made = _store(store, name="old")
    store.vector_stores.add_file(_entry(made))

    updated = store.vector_stores.update_store(made.id, {"name": "new", "expires_at": 99, "metadata": {"k": "2"}})

    assert updated == store.vector_stores.get_store(made.id)
    assert (updated.name, updated.expires_at, updated.metadata, updated.file_counts) == (
        "new",
        99,
        {"k": "2"},
        _counts(in_progress=1),
    )


def test_stores_are_listed_in_pages_by_creation_and_a_deleted_one_is_gone(store):
    made = [_store(store, name=f"s{n}") for n in range(5)]

    pages_like_a_list(store.vector_stores.list_stores, [s.id for s in made])
    store.vector_stores.delete_store(made[0].id)

    assert ids(store.vector_stores.list_stores(PageRequest(order="asc"))) == [s.id for s in made[1:]]
    for call in (
        lambda: store.vector_stores.get_store(made[0].id),
        lambda: store.vector_stores.update_store(made[0].id, {"name": "x"}),
        lambda: store.vector_stores.delete_store(made[0].id),
        lambda: store.vector_stores.add_file(_entry(made[0])),
        lambda: store.vector_stores.list_files(made[0].id, PageRequest()),
        lambda: store.vector_stores.get_store("vs_../x"),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_file_joins_a_store_once_in_progress_and_counted(store):
    made = _store(store)
    chunking = ChunkingStrategy(static=StaticChunking(max_chunk_size_tokens=200, chunk_overlap_tokens=20))
    entry = _entry(made, chunking_strategy=chunking, attributes={"lang": "en", "year": 2024, "draft": False})

    assert store.vector_stores.add_file(entry) is True
    assert store.vector_stores.add_file(entry.model_copy(update={"attributes": {}})) is False

    assert store.vector_stores.get_file(made.id, entry.id) == entry
    assert store.vector_stores.get_store(made.id).file_counts == _counts(in_progress=1)
    assert store.vector_stores.stores_of_file(entry.id) == [made.id]
    assert store.vector_stores.file_ids(made.id) == [entry.id]


def test_a_files_attributes_are_updated_in_its_store(store):
    made = _store(store)
    entry = _entry(made, attributes={"lang": "en"})
    store.vector_stores.add_file(entry)

    updated = store.vector_stores.update_file(made.id, entry.id, {"attributes": {"lang": "fr", "score": 0.5}})

    assert updated == store.vector_stores.get_file(made.id, entry.id)
    assert updated == entry.model_copy(update={"attributes": {"lang": "fr", "score": 0.5}})
    for call in (
        lambda: store.vector_stores.update_file(made.id, new_id("file", "-"), {"attributes": {}}),
        lambda: store.vector_stores.get_file(made.id, new_id("file", "-")),
        lambda: store.vector_stores.get_file(new_id("vs"), entry.id),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_file_ends_once_and_the_stores_counts_and_bytes_follow(store):
    made = _store(store)
    done, broken, stopped = (_entry(made) for _ in range(3))
    for entry in (done, broken, stopped):
        store.vector_stores.add_file(entry)
    error = FileError(code="unsupported_file", message="The file has no text.")

    assert store.vector_stores.finish_file(made.id, done.id, "completed", usage_bytes=300, chunks=4)
    assert store.vector_stores.finish_file(made.id, broken.id, "failed", last_error=error)
    assert store.vector_stores.finish_file(made.id, stopped.id, "cancelled")
    assert not store.vector_stores.finish_file(made.id, done.id, "failed")  # ended already
    assert not store.vector_stores.finish_file(made.id, new_id("file", "-"), "completed")  # not in the store

    assert store.vector_stores.get_file(made.id, done.id) == done.model_copy(
        update={"status": "completed", "usage_bytes": 300}
    )
    assert store.vector_stores.get_file(made.id, broken.id).last_error == error
    shown = store.vector_stores.get_store(made.id)
    assert (shown.file_counts, shown.usage_bytes) == (_counts(completed=1, failed=1, cancelled=1), 300)


def test_a_stores_files_are_listed_in_pages_all_of_them_or_those_of_one_status(store):
    made = _store(store)
    entries = [_entry(made) for _ in range(9)]
    for n, entry in enumerate(entries):
        store.vector_stores.add_file(entry)
        if n % 2:
            store.vector_stores.finish_file(made.id, entry.id, "completed", usage_bytes=1, chunks=1)

    pages_like_a_list(lambda page: store.vector_stores.list_files(made.id, page), [e.id for e in entries])
    completed = [e.id for n, e in enumerate(entries) if n % 2]
    pages_like_a_list(lambda page: store.vector_stores.list_files(made.id, page, status="completed"), completed)
    assert store.vector_stores.list_files(made.id, PageRequest(), status="failed").data == []


def test_a_file_leaves_a_store_with_its_counts_and_says_how_many_chunks_it_had(store):
    made, other = _store(store), _store(store)
    entry = _entry(made)
    store.vector_stores.add_file(entry)
    store.vector_stores.add_file(entry.model_copy(update={"vector_store_id": other.id}))
    store.vector_stores.finish_file(made.id, entry.id, "completed", usage_bytes=300, chunks=4)

    assert store.vector_stores.remove_file(made.id, entry.id) == 4

    shown = store.vector_stores.get_store(made.id)
    assert (shown.file_counts, shown.usage_bytes) == (FileCounts(), 0)
    assert store.vector_stores.stores_of_file(entry.id) == [other.id]
    assert store.vector_stores.file_ids(made.id) == []
    assert store.vector_stores.remove_file(other.id, entry.id) == 0
    with pytest.raises(NotFound):
        store.vector_stores.remove_file(made.id, entry.id)
    assert store.vector_stores.stores_of_file(entry.id) == []


def test_a_batch_reads_its_counts_and_status_from_its_files(store):
    made = _store(store)
    entries = [_entry(made) for _ in range(3)]
    batch = VectorStoreFileBatch(id=new_id("vsfb"), created_at=now(), vector_store_id=made.id)
    store.vector_stores.put_batch(batch, [e.id for e in entries])
    for entry in entries:
        store.vector_stores.add_file(entry, batch_id=batch.id)

    assert store.vector_stores.get_batch(made.id, batch.id) == (
        batch.model_copy(update={"file_counts": _counts(in_progress=3)}),
        [e.id for e in entries],
    )
    store.vector_stores.finish_file(made.id, entries[0].id, "completed", chunks=1)
    store.vector_stores.finish_file(made.id, entries[1].id, "failed")
    store.vector_stores.cancel_batch(made.id, batch.id)
    shown, _ = store.vector_stores.get_batch(made.id, batch.id)
    assert (shown.status, shown.file_counts) == ("cancelled", _counts(in_progress=1, completed=1, failed=1))
    store.vector_stores.finish_file(made.id, entries[2].id, "cancelled")
    shown, _ = store.vector_stores.get_batch(made.id, batch.id)
    assert (shown.status, shown.file_counts) == ("cancelled", _counts(completed=1, failed=1, cancelled=1))


def test_a_batch_whose_files_all_ended_is_completed_unless_only_failures_are_left_in_it(store):
    made = _store(store)
    done, broken = _entry(made), _entry(made)
    batch = VectorStoreFileBatch(id=new_id("vsfb"), created_at=now(), vector_store_id=made.id)
    store.vector_stores.put_batch(batch, [done.id, broken.id])
    for entry in (done, broken):
        store.vector_stores.add_file(entry)
    store.vector_stores.finish_file(made.id, done.id, "completed", chunks=1)
    store.vector_stores.finish_file(made.id, broken.id, "failed")

    mixed, _ = store.vector_stores.get_batch(made.id, batch.id)
    store.vector_stores.remove_file(made.id, done.id)  # a file that left the store is not counted
    failed, _ = store.vector_stores.get_batch(made.id, batch.id)

    assert (mixed.status, mixed.file_counts) == ("completed", _counts(completed=1, failed=1))
    assert (failed.status, failed.file_counts) == ("failed", _counts(failed=1))
    for call in (
        lambda: store.vector_stores.get_batch(made.id, new_id("vsfb")),
        lambda: store.vector_stores.cancel_batch(made.id, new_id("vsfb")),
        lambda: store.vector_stores.get_batch(new_id("vs"), batch.id),
    ):
        with pytest.raises(NotFound):
            call()


def test_a_deleted_store_is_forgotten_file_by_file_then_purged(store):
    made, kept = _store(store), _store(store)
    entries = [_entry(made) for _ in range(2)]
    batch = VectorStoreFileBatch(id=new_id("vsfb"), created_at=now(), vector_store_id=made.id)
    store.vector_stores.put_batch(batch, [e.id for e in entries])
    for entry in entries:
        store.vector_stores.add_file(entry, batch_id=batch.id)
    store.vector_stores.add_file(entries[0].model_copy(update={"vector_store_id": kept.id}))

    store.vector_stores.delete_store(made.id)
    # Its files are still recorded, for the indexer to forget; an indexing that ends now counts nothing.
    assert store.vector_stores.file_ids(made.id) == sorted(e.id for e in entries)
    assert not store.vector_stores.finish_file(made.id, entries[0].id, "completed", usage_bytes=5, chunks=2)
    for entry in entries:
        store.vector_stores.remove_file(made.id, entry.id)
    store.vector_stores.purge(made.id)

    assert store.vector_stores.file_ids(made.id) == []
    with pytest.raises(NotFound):
        store.vector_stores.get_batch(made.id, batch.id)
    assert store.vector_stores.stores_of_file(entries[0].id) == [kept.id]
    assert store.vector_stores.stores_of_file(entries[1].id) == []
    assert store.vector_stores.get_store(kept.id).file_counts == _counts(in_progress=1)
