"""Indexing on fakes: a file read, cut and indexed once; what goes wrong ends the file, never the store."""

from __future__ import annotations

import pytest

from tests.fakes import FakeContents, FakeIndex, FakeJobs, fake_stores
from threadrunner.app import files, vector_stores
from threadrunner.app.indexing import MAX_ATTEMPTS, Indexer
from threadrunner.domain.vector_stores import ChunkingStrategy, StaticChunking, chunks, keyword_vector


class BrokenEmbeddings:
    name = "broken/3"

    def embed(self, texts):
        raise RuntimeError("the provider is down")


def _world(text: bytes = b"The keeper wound the clockwork every night.", name: str = "log.txt"):
    stores, contents, jobs, index = fake_stores(), FakeContents(), FakeJobs(), FakeIndex()
    file = files.create_file(stores, contents, name, "assistants", text)
    store = vector_stores.create_store(stores, jobs, "Logs", [file.id])
    return stores, contents, jobs, index, store, file


def test_given_a_queued_file_when_indexed_twice_then_it_is_counted_once_and_found():
    stores, contents, jobs, index, store, file = _world()
    indexer = Indexer(contents, index, embeddings=None)

    for job in jobs.submitted * 2:  # the queue delivers at least once
        indexer.run(stores, job)

    counted = vector_stores.get_store(stores, store.id)
    assert (counted.status, counted.file_counts.completed, counted.file_counts.in_progress) == ("completed", 1, 0)
    (hit,) = vector_stores.search(stores, index, None, [store.id], "clockwork keeper")
    assert (hit.file_id, hit.filename) == (file.id, "log.txt")


def test_given_an_unreadable_file_when_indexed_then_it_fails_with_why_and_the_store_stays_usable():
    stores, contents, jobs, index, store, file = _world(b"\x89PNG\x00\x00", "image.png")

    Indexer(contents, index, None).run(stores, jobs.submitted[0])

    entry = stores.vector_stores.get_file(store.id, file.id)
    assert (entry.status, entry.last_error.code) == ("failed", "unsupported_file")
    assert vector_stores.get_store(stores, store.id).status == "completed" and index.vectors.get("keywords") is None


def test_given_a_file_removed_while_it_was_indexed_then_its_chunks_are_taken_back():
    stores, contents, jobs, index, store, file = _world()
    indexer = Indexer(contents, index, None)
    put = index.put

    def put_then_removed(kind, pieces, vectors):
        put(kind, pieces, vectors)
        stores.vector_stores.remove_file(store.id, file.id)

    index.put = put_then_removed  # type: ignore[method-assign]
    indexer.run(stores, jobs.submitted[0])

    assert index.vectors["keywords"] == {} and vector_stores.get_store(stores, store.id).file_counts.total == 0


def test_given_embeddings_that_keep_failing_then_the_queue_retries_and_the_last_attempt_fails_the_file():
    stores, contents, jobs, index, store, file = _world()
    indexer = Indexer(contents, index, BrokenEmbeddings())

    with pytest.raises(RuntimeError):
        indexer.run(stores, jobs.submitted[0], attempt=1)
    indexer.run(stores, jobs.submitted[0], attempt=MAX_ATTEMPTS)

    entry = stores.vector_stores.get_file(store.id, file.id)
    assert (entry.status, entry.last_error.code) == ("failed", "server_error") and not index.vectors.get("keywords")


def test_given_a_deleted_file_then_it_leaves_every_store_with_its_chunks():
    stores, contents, jobs, index, store, file = _world()
    indexer = Indexer(contents, index, None)
    indexer.run(stores, jobs.submitted[0])
    other = vector_stores.create_store(stores, jobs, "Other", [file.id])
    indexer.run(stores, jobs.submitted[-1])

    files.delete_file(stores, contents, jobs, file.id)
    indexer.run(stores, jobs.submitted[-1])

    assert jobs.submitted[-1].kind == "forget_file" and index.vectors["keywords"] == {}
    assert [vector_stores.get_store(stores, s).file_counts.total for s in (store.id, other.id)] == [0, 0]


def test_chunks_overlap_as_asked_and_cover_the_whole_text():
    words = [f"w{i:04d}" for i in range(1000)]  # 5 characters and a space each
    strategy = ChunkingStrategy(static=StaticChunking(max_chunk_size_tokens=100, chunk_overlap_tokens=50))

    cut = chunks(" ".join(words), strategy)

    assert all(len(piece) <= 400 for piece in cut)
    assert cut[0].split()[0] == "w0000" and cut[-1].split()[-1] == "w0999"
    assert set(cut[0].split()) & set(cut[1].split())  # the second starts inside the first


def test_keyword_vectors_rank_texts_by_the_words_they_share():
    query = keyword_vector("lighthouse lens")

    def near(text: str) -> float:
        return sum(a * b for a, b in zip(query, keyword_vector(text), strict=True))

    assert near("The lighthouse lens turned") > near("A lighthouse at sea") > near("Bread and butter")
