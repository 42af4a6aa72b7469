"""Vector stores through the unmodified openai SDK: files indexed by the IndexFunction (asynchronously, from its
queue), counted as they move, searched, and forgotten with everything in them."""

from __future__ import annotations

import io
import secrets

import openai
import pytest
from openai.types import VectorStoreSearchResponse
from openai.types.static_file_chunking_strategy import StaticFileChunkingStrategy as Static
from openai.types.vector_stores import VectorStoreFile

from tests.e2e.helpers import wait_for
from tests.support.documents import docx, docx_with_document_xml, pdf
from tests.support.fidelity import problems

LIGHTHOUSE = (
    "The Fresnel lens, invented by Augustin-Jean Fresnel in 1822, let lighthouses throw their beam more than twenty "
    "miles. Keepers trimmed the wicks and wound the clockwork that turned the lens every night."
)
BAKERY = "Sourdough bread rises slowly: the starter needs flour, water and about twelve hours at room temperature."


def _file(client, name: str, data: bytes) -> str:
    return client.files.create(file=(name, io.BytesIO(data)), purpose="assistants").id


def _index_keys(stack) -> list[str]:
    """Every chunk's key in the keyword index (``<store>:<file id>:<number>``)."""
    index = stack.template.functions["ApiFunction"].environment["KEYWORD_INDEX"]
    return [vector["key"] for vector in stack.client("s3vectors").list_vectors(indexArn=index)["vectors"]]


def test_a_store_indexes_its_files_counts_them_and_searches_them(project_client):
    client, _ = project_client
    lighthouse, bakery = (
        _file(client, "lighthouse.md", LIGHTHOUSE.encode()),
        _file(client, "bread.txt", BAKERY.encode()),
    )

    store = client.vector_stores.create(name="Handbook", file_ids=[lighthouse, bakery], metadata={"team": "docs"})
    store = wait_for(lambda: (s := client.vector_stores.retrieve(store.id)).status == "completed" and s)

    assert (store.name, store.metadata, store.file_counts.completed, store.file_counts.total) == (
        "Handbook",
        {"team": "docs"},
        2,
        2,
    )
    assert store.usage_bytes == len(LIGHTHOUSE.encode()) + len(BAKERY.encode())
    files = client.vector_stores.files.list(store.id)
    assert {f.id for f in files} == {lighthouse, bakery} and all(f.status == "completed" for f in files)
    results = client.vector_stores.search(store.id, query="Who invented the lens of lighthouses?")
    assert results.data[0].file_id == lighthouse and results.data[0].filename == "lighthouse.md"
    assert "Fresnel" in results.data[0].content[0].text and results.data[0].score > results.data[-1].score


def test_upload_and_poll_and_batches_move_through_their_statuses(project_client):
    client, _ = project_client
    store = client.vector_stores.create(name="Batches")

    single = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("notes.html", io.BytesIO(b"<html><body><p>Tide tables</p><script>x()</script></body></html>")),
    )
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        file_ids=[_file(client, f"part{i}.txt", f"Chapter {i} of the keeper's log.".encode()) for i in range(3)],
    )

    assert single.status == "completed"
    assert batch.status == "completed" and batch.file_counts.completed == 3 and batch.file_counts.total == 3
    listed = client.vector_stores.file_batches.list_files(batch_id=batch.id, vector_store_id=store.id)
    assert len(listed.data) == 3
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 4
    assert client.vector_stores.search(store.id, query="tide tables").data[0].file_id == single.id


def test_pdf_and_docx_are_read_and_an_unreadable_file_fails_without_harming_the_store(project_client):
    client, _ = project_client
    files = {
        "manual.pdf": pdf("Fog signals", "The foghorn sounds every thirty seconds in dense fog."),
        "rota.docx": docx("Night watch rota", "Alice keeps the first watch, Bob the second."),
        "broken.pdf": b"%PDF-1.4 this is not really a pdf",
        "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary",
    }
    ids = {name: _file(client, name, data) for name, data in files.items()}

    store = client.vector_stores.create(name="Mixed", file_ids=list(ids.values()))
    store = wait_for(lambda: (s := client.vector_stores.retrieve(store.id)).status == "completed" and s)

    assert (store.file_counts.completed, store.file_counts.failed) == (2, 2)
    broken = client.vector_stores.files.retrieve(ids["broken.pdf"], vector_store_id=store.id)
    photo = client.vector_stores.files.retrieve(ids["photo.png"], vector_store_id=store.id)
    assert (broken.status, broken.last_error.code) == ("failed", "invalid_file")
    assert (photo.status, photo.last_error.code) == ("failed", "unsupported_file")
    (foghorn, *_) = client.vector_stores.search(store.id, query="foghorn fog").data
    (watch, *_) = client.vector_stores.search(store.id, query="who keeps the first watch").data
    assert foghorn.file_id == ids["manual.pdf"] and "every thirty seconds" in foghorn.content[0].text
    assert watch.file_id == ids["rota.docx"] and "Alice keeps the first watch" in watch.content[0].text


def test_deleting_files_and_stores_leaves_no_chunk_behind(stack, project_client):
    client, _ = project_client
    kept, deleted = _file(client, "kept.txt", LIGHTHOUSE.encode()), _file(client, "gone.txt", BAKERY.encode())
    store = client.vector_stores.create(name="Cascade", file_ids=[kept, deleted])
    other = client.vector_stores.create(name="Other", file_ids=[deleted])
    for each in (store, other):
        wait_for(lambda each=each: client.vector_stores.retrieve(each.id).status == "completed")
    assert any(deleted in key for key in _index_keys(stack))

    client.files.delete(deleted)  # the file leaves both stores

    wait_for(lambda: client.vector_stores.retrieve(other.id).file_counts.total == 0)
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [kept]
    assert not any(deleted in key for key in _index_keys(stack))
    assert client.vector_stores.search(store.id, query="sourdough starter").data == [] or all(
        hit.file_id == kept for hit in client.vector_stores.search(store.id, query="sourdough starter").data
    )
    removed = client.vector_stores.files.delete(kept, vector_store_id=store.id)
    assert removed.deleted and not any(kept in key for key in _index_keys(stack))

    client.vector_stores.delete(other.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(other.id)
    assert client.files.retrieve(kept).id == kept  # taking a file out of a store keeps the file


WORD_XML = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'


def test_files_no_parser_can_read_fail_invalid_file_and_the_store_completes_without_them(project_client):
    client, _ = project_client
    huge = WORD_XML + b"<w:p><w:r><w:t>" + b"a" * (10 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    hostile = {
        "deep.json": b"[" * 50_000 + b"]" * 50_000,
        "broken.docx": docx_with_document_xml(WORD_XML + b"<w:p><w:r><w:t>never closed"),
        "bomb.docx": docx_with_document_xml(huge),  # 46 KB that unpack to 10 MB
    }
    ids = {name: _file(client, name, data) for name, data in hostile.items()}
    good = _file(client, "lighthouse.md", LIGHTHOUSE.encode())

    store = client.vector_stores.create(name="Hostile", file_ids=[*ids.values(), good])
    store = wait_for(lambda: (s := client.vector_stores.retrieve(store.id)).status == "completed" and s)

    assert (store.file_counts.completed, store.file_counts.failed, store.file_counts.in_progress) == (1, 3, 0)
    errors = {
        name: client.vector_stores.files.retrieve(i, vector_store_id=store.id).last_error for name, i in ids.items()
    }
    assert {name: error.code for name, error in errors.items()} == dict.fromkeys(hostile, "invalid_file")
    assert "nested too deeply" in errors["deep.json"].message and "unpacks to too much" in errors["bomb.docx"].message
    assert client.vector_stores.search(store.id, query="Fresnel lens").data[0].file_id == good


def test_a_job_the_dead_letter_queue_took_ends_its_file_failed_and_the_store_completes(stack, project_client):
    from threadrunner.domain.vector_stores import IndexJob, VectorStoreFile

    client, project = project_client
    file = _file(client, "lost.txt", BAKERY.encode())
    store = client.vector_stores.create(name="Dead letters")
    # A file whose every delivery ended the IndexFunction (out of memory or time): in the store, its job dead.
    stack.stores(project).vector_stores.add_file(VectorStoreFile(id=file, created_at=1, vector_store_id=store.id))
    job = IndexJob(kind="index", project=project, vector_store_id=store.id, file_id=file)
    stack.client("sqs").send_message(
        QueueUrl=stack.queue_url("IndexDeadLetterQueue"), MessageBody=job.model_dump_json()
    )

    store = wait_for(lambda: (s := client.vector_stores.retrieve(store.id)).status == "completed" and s)

    entry = client.vector_stores.files.retrieve(file, vector_store_id=store.id)
    assert (store.file_counts.failed, entry.status, entry.last_error.code) == (1, "failed", "server_error")
    assert "more time or memory" in entry.last_error.message


def _usage(stack, client) -> dict:
    return stack.api("GET", "/usage", key=client.api_key)[1]


def test_embedded_tokens_count_in_the_projects_usage_and_a_file_is_embedded_once_for_many_stores(stack, project_client):
    client, _ = project_client
    file = _file(client, "lighthouse.md", LIGHTHOUSE.encode())
    first = client.vector_stores.create(name="Thread 1", file_ids=[file])
    wait_for(lambda: client.vector_stores.retrieve(first.id).status == "completed")
    embedded = _usage(stack, client)["usage"]["total_tokens"]

    others = [client.vector_stores.create(name=f"Thread {n}", file_ids=[file]) for n in (2, 3, 4)]
    for store in others:
        wait_for(lambda store=store: client.vector_stores.retrieve(store.id).status == "completed")

    assert embedded >= len(LIGHTHOUSE) // 4 and _usage(stack, client)["usage"]["total_tokens"] == embedded
    client.vector_stores.search(others[0].id, query="Fresnel")
    assert _usage(stack, client)["usage"]["total_tokens"] == embedded + 2  # the query's tokens


def test_a_project_over_its_daily_budget_may_not_embed_searches_or_files(stack, project_client):
    from threadrunner.domain.budget import Budget, ProjectPolicy

    client, project = project_client
    stack.stores(project).projects.set_policy(ProjectPolicy(budget=Budget(daily_tokens=20)))
    store = client.vector_stores.create(name="Budget", file_ids=[_file(client, "lighthouse.md", LIGHTHOUSE.encode())])
    wait_for(lambda: client.vector_stores.retrieve(store.id).status == "completed")  # its reservation overshoots

    with pytest.raises(openai.RateLimitError) as refused:
        client.vector_stores.search(store.id, query="Fresnel")
    late = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=_file(client, "b.txt", BAKERY.encode())
    )

    assert refused.value.code == "daily_budget_exceeded" and "daily token budget of 20" in refused.value.message
    assert (late.status, late.last_error.code) == ("failed", "server_error") and "budget" in late.last_error.message


def test_index_jobs_go_to_a_fair_queue_grouped_by_their_project(stack):
    from threadrunner.adapters.aws import SQSIndexJobs
    from threadrunner.domain.vector_stores import IndexJob

    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="fair-" + secrets.token_hex(4))["QueueUrl"]

    SQSIndexJobs(url, sqs).submit(IndexJob(kind="forget_store", project="p_noisy", vector_store_id="vs_1"))

    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["MessageGroupId"])["Messages"]
    assert message["Attributes"]["MessageGroupId"] == "p_noisy"


def test_a_files_attributes_are_set_per_file_in_a_batch_changed_and_returned_by_search(project_client):
    client, _ = project_client
    old, new = (_file(client, f"report-{year}.txt", f"The harbour report of {year}.".encode()) for year in (2023, 2024))
    store = client.vector_stores.create(name="Reports")

    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[
            {"file_id": old, "attributes": {"year": 2023, "final": True}},
            {
                "file_id": new,
                "attributes": {"year": 2024},
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
                },
            },
        ],
    )
    updated = client.vector_stores.files.with_raw_response.update(
        new, vector_store_id=store.id, attributes={"year": 2024, "region": "north"}
    ).http_response.json()
    found = client.vector_stores.with_raw_response.search(store.id, query="harbour report").http_response.json()

    assert batch.status == "completed" and batch.file_counts.completed == 2
    assert updated["attributes"] == {"year": 2024, "region": "north"}
    assert client.vector_stores.files.retrieve(new, vector_store_id=store.id).chunking_strategy.static == Static(
        max_chunk_size_tokens=100, chunk_overlap_tokens=50
    )
    assert {hit["file_id"]: hit["attributes"] for hit in found["data"]} == {
        old: {"year": 2023, "final": True},
        new: {"year": 2024, "region": "north"},
    }
    assert [problems(VectorStoreSearchResponse, hit) for hit in found["data"]] == [[], []]
    assert problems(VectorStoreFile, updated) == []
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.update("file-missing", vector_store_id=store.id, attributes={})
    with pytest.raises(openai.BadRequestError) as both:
        client.vector_stores.file_batches.create(store.id, file_ids=[old], files=[{"file_id": old}])
    assert "file_ids or as files" in both.value.message
