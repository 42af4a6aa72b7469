"""Embeddings on fakes: what a project embeds counts in its ledger and is refused over its budget, and a file's
chunks are embedded once per chunking strategy however many stores it joins."""

from __future__ import annotations

import pytest

from tests.fakes import FakeContents, FakeIndex, FakeJobs, World, fake_stores
from threadrunner.app import files, vector_stores
from threadrunner.app.embeddings import metered
from threadrunner.app.indexing import Indexer
from threadrunner.domain.budget import Budget, ProjectPolicy, today
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.file_chunks import chunks_key
from threadrunner.domain.vector_stores import Embedded
from threadrunner.errors import BudgetExceeded

HANDBOOK = b"The lamp is lit at sunset and put out at dawn. The keeper winds the clockwork every night."


class CountingEmbeddings:
    """Embeddings that count their calls and the texts they embed; each text costs ten tokens."""

    name = "counting/3"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += texts
        return Embedded([[1.0, float(len(text)), 0.0] for text in texts], 10 * len(texts))


def _project(budget: int | None = None):
    world = World(policy=ProjectPolicy(budget=Budget(daily_tokens=budget)))
    stores, contents, jobs, index, embeddings = (
        fake_stores(world),
        FakeContents(),
        FakeJobs(),
        FakeIndex(),
        CountingEmbeddings(),
    )
    file = files.create_file(stores, contents, "handbook.txt", "assistants", HANDBOOK)
    return stores, contents, jobs, index, embeddings, file


def test_indexing_counts_the_embedded_tokens_in_the_projects_usage_of_the_day():
    stores, contents, jobs, index, embeddings, file = _project()
    store = vector_stores.create_store(stores, jobs, "Docs", [file.id])

    Indexer(contents, index, embeddings).run(stores, jobs.submitted[0])

    assert stores.vector_stores.get_file(store.id, file.id).status == "completed"
    day = stores.usage.usage_today(today())
    assert (day.usage.prompt_tokens, day.usage.total_tokens, day.reserved) == (10, 10, 0)


def test_a_project_over_its_budget_has_its_file_failed_with_why_and_nothing_embedded():
    stores, contents, jobs, index, embeddings, file = _project(budget=0)
    store = vector_stores.create_store(stores, jobs, "Docs", [file.id])

    Indexer(contents, index, embeddings).run(stores, jobs.submitted[0])

    entry = stores.vector_stores.get_file(store.id, file.id)
    assert (entry.status, entry.last_error.code) == ("failed", "server_error")
    assert "daily token budget" in entry.last_error.message and embeddings.texts == []
    assert vector_stores.get_store(stores, store.id).status == "completed" and not index.vectors.get("keywords")


def test_a_search_counts_its_query_and_is_refused_over_the_budget():
    stores, contents, jobs, index, embeddings, file = _project(budget=15)
    store = vector_stores.create_store(stores, jobs, "Docs", [file.id])
    Indexer(contents, index, embeddings).run(stores, jobs.submitted[0])
    searching = metered(embeddings, stores, RunDefaults())

    (hit,) = vector_stores.search(stores, index, searching, [store.id], "When is the lamp lit?")
    with pytest.raises(BudgetExceeded, match="daily token budget of 15"):
        vector_stores.search(stores, index, searching, [store.id], "When is the lamp put out?")

    assert hit.file_id == file.id and stores.usage.usage_today(today()).usage.total_tokens == 20
    assert embeddings.texts[-1] == "When is the lamp lit?"


def test_a_file_attached_in_many_threads_is_read_cut_and_embedded_once():
    stores, contents, jobs, index, embeddings, file = _project()
    indexer = Indexer(contents, index, embeddings)
    thread_stores = [vector_stores.create_store(stores, jobs, f"Thread {n}", [file.id]) for n in range(5)]

    for job in jobs.submitted:
        indexer.run(stores, job)

    assert len(embeddings.texts) == 1 and stores.usage.usage_today(today()).usage.total_tokens == 10
    for store in thread_stores:
        (hit,) = vector_stores.search(stores, index, embeddings, [store.id], "lamp sunset")
        assert hit.file_id == file.id


def test_another_chunking_strategy_cuts_and_embeds_the_file_again():
    stores, contents, jobs, index, embeddings, file = _project()
    indexer = Indexer(contents, index, embeddings)
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    vector_stores.create_store(stores, jobs, "Default", [file.id])
    vector_stores.create_store(stores, jobs, "Small", [file.id], small)

    for job in jobs.submitted:
        indexer.run(stores, job)

    assert len(embeddings.texts) == 2


def test_deleting_a_file_deletes_its_kept_chunks_with_its_bytes():
    stores, contents, jobs, index, embeddings, file = _project()
    vector_stores.create_store(stores, jobs, "Docs", [file.id])
    Indexer(contents, index, embeddings).run(stores, jobs.submitted[0])
    kept = chunks_key(stores.files.content_key(file.id))
    assert kept in contents.blobs

    files.delete_file(stores, contents, jobs, file.id)

    assert contents.blobs == {}


def test_a_file_deleted_while_it_was_embedded_leaves_no_copy_of_its_chunks():
    stores, contents, jobs, index, embeddings, file = _project()
    store = vector_stores.create_store(stores, jobs, "Docs", [file.id])
    embed = embeddings.embed

    def deleted_meanwhile(texts):
        files.delete_file(stores, contents, jobs, file.id)
        return embed(texts)

    embeddings.embed = deleted_meanwhile  # type: ignore[method-assign]
    Indexer(contents, index, embeddings).run(stores, jobs.submitted[0])

    entry = stores.vector_stores.get_file(store.id, file.id)
    assert (entry.status, entry.last_error.message) == ("failed", "The file was deleted.") and contents.blobs == {}
