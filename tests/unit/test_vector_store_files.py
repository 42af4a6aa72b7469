"""A store's files on fakes: their attributes set when added (alone, in a batch, each its own) and changed later,
and returned with what a search finds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.fakes import FakeContents, FakeIndex, FakeJobs, fake_stores
from threadrunner.app import files, vector_stores
from threadrunner.app.indexing import Indexer
from threadrunner.app.requests.vector_stores import FileBatchCreate, VectorStoreFileUpdate
from threadrunner.errors import NotFound

STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}


def _world():
    stores, contents, jobs, index = fake_stores(), FakeContents(), FakeJobs(), FakeIndex()
    made = [
        files.create_file(stores, contents, name, "assistants", text)
        for name, text in (("2023.txt", b"The harbour report of 2023."), ("2024.txt", b"The harbour report of 2024."))
    ]
    return stores, contents, jobs, index, made


def test_given_files_with_their_own_attributes_when_batched_then_each_keeps_its_own_and_the_batchs_are_not_used():
    stores, _, jobs, _, (old, new) = _world()
    store = vector_stores.create_store(stores, jobs, "Reports", [])
    body = FileBatchCreate.model_validate(
        {
            "files": [
                {"file_id": old.id, "attributes": {"year": 2023, "final": True}},
                {"file_id": new.id, "attributes": {"year": 2024}, "chunking_strategy": STATIC},
                {"file_id": old.id, "attributes": {"year": 1999}},
            ],
            "attributes": {"ignored": "yes"},
        }
    )

    batch = vector_stores.create_batch(stores, jobs, store.id, body)

    assert batch.file_counts.total == 2
    first, second = (stores.vector_stores.get_file(store.id, f.id) for f in (old, new))
    assert (first.attributes, second.attributes) == ({"year": 2023, "final": True}, {"year": 2024})
    assert (
        first.chunking_strategy.static.max_chunk_size_tokens,
        second.chunking_strategy.static.max_chunk_size_tokens,
    ) == (800, 100)


@pytest.mark.parametrize("body", [{}, {"file_ids": ["file-1"], "files": [{"file_id": "file-1"}]}])
def test_given_a_batch_with_neither_or_both_lists_of_files_then_it_is_refused(body):
    with pytest.raises(ValidationError, match="file_ids or as files"):
        FileBatchCreate.model_validate(body)


def test_given_a_file_in_a_store_when_its_attributes_are_updated_then_they_replace_the_old_and_null_clears_them():
    stores, _, jobs, _, (old, _) = _world()
    store = vector_stores.create_store(stores, jobs, "Reports", [old.id])

    updated = vector_stores.update_file(stores, store.id, old.id, VectorStoreFileUpdate(attributes={"region": "north"}))
    cleared = vector_stores.update_file(stores, store.id, old.id, VectorStoreFileUpdate(attributes=None))

    assert updated.attributes == {"region": "north"} and cleared.attributes == {}
    with pytest.raises(NotFound):
        vector_stores.update_file(stores, "vs_missing", old.id, VectorStoreFileUpdate(attributes={}))


def test_given_a_file_in_two_stores_when_searched_then_each_result_carries_its_stores_attributes():
    stores, contents, jobs, index, (old, _) = _world()
    first = vector_stores.create_store(stores, jobs, "First", [])
    second = vector_stores.create_store(stores, jobs, "Second", [])
    for store, shelf in ((first, "a"), (second, "b")):
        vector_stores.create_batch(
            stores,
            jobs,
            store.id,
            FileBatchCreate.model_validate({"files": [{"file_id": old.id, "attributes": {"shelf": shelf}}]}),
        )
    for job in jobs.submitted:
        Indexer(contents, index, None).run(stores, job)

    (in_first,) = vector_stores.search(stores, index, None, [first.id], "harbour report")
    (in_second,) = vector_stores.search(stores, index, None, [second.id], "harbour report")

    assert (in_first.attributes, in_second.attributes) == ({"shelf": "a"}, {"shelf": "b"})
