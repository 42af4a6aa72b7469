"""Hostile files on fakes: whatever a file makes its parser do, the file ends ``failed`` with why, the store
completes without it, and the work one file may cost the IndexFunction is bounded by counts (docs/operations.md,
"Limits")."""

from __future__ import annotations

import pytest

from tests.fakes import FakeContents, FakeIndex, FakeJobs, fake_stores
from tests.support.documents import docx_with_document_xml, pdf, pdf_of_pages_sharing_one_stream
from threadrunner.app import files, vector_stores
from threadrunner.app.indexing import BATCH, Indexer
from threadrunner.domain import documents
from threadrunner.domain.budget import estimate_tokens
from threadrunner.domain.vector_stores import (
    MAX_CHUNKS_PER_FILE,
    Chunk,
    ChunkingStrategy,
    StaticChunking,
    chunk_key,
    chunks,
    store_key,
)

WORD = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'


def _indexed(name: str, data: bytes, chunking: dict | None = None, index: FakeIndex | None = None):
    """The file added to a store and its job run once: the store, the file's entry and the index."""
    stores, contents, jobs, index = fake_stores(), FakeContents(), FakeJobs(), index or FakeIndex()
    file = files.create_file(stores, contents, name, "assistants", data)
    store = vector_stores.create_store(stores, jobs, "Hostile", [file.id], chunking)
    Indexer(contents, index, None).run(stores, jobs.submitted[0])
    return vector_stores.get_store(stores, store.id), stores.vector_stores.get_file(store.id, file.id), index


def _failed(name: str, data: bytes, chunking: dict | None = None) -> tuple[str, str]:
    """The file's code and message once indexed, after checking that the store completed without it and nothing
    of it stayed in the index."""
    store, entry, index = _indexed(name, data, chunking)
    assert (store.status, store.file_counts.failed, store.file_counts.in_progress) == ("completed", 1, 0)
    assert entry.status == "failed" and not index.vectors.get("keywords")
    return entry.last_error.code, entry.last_error.message


def test_json_nested_too_deep_for_the_parser_fails_invalid_file():
    code, message = _failed("deep.json", b"[" * 50_000 + b"]" * 50_000)  # a RecursionError in json.loads

    assert (code, message) == ("invalid_file", "The JSON file is nested too deeply to be read.")


def test_a_docx_whose_xml_is_broken_fails_invalid_file():
    code, message = _failed("broken.docx", docx_with_document_xml(WORD + b"<w:p><w:r><w:t>never closed"))

    assert (code, message) == ("invalid_file", "The DOCX file could not be read.")


def test_a_small_docx_that_unpacks_to_10_mb_of_xml_fails_before_it_is_parsed():
    xml = WORD + b"<w:p><w:r><w:t>" + b"a" * (10 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    bomb = docx_with_document_xml(xml)
    assert len(bomb) < 64 * 1024

    code, message = _failed("bomb.docx", bomb)

    assert code == "invalid_file" and "unpacks to too much" in message


def test_a_docx_part_packed_more_than_a_hundred_times_fails_even_under_the_size_limit():
    xml = WORD + b"<w:p><w:r><w:t>" + b"a" * (2 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"

    code, message = _failed("packed.docx", docx_with_document_xml(xml))

    assert code == "invalid_file" and "packed at most 100 times" in message


def test_pages_sharing_one_stream_of_text_stop_being_read_at_the_characters_limit(monkeypatch):
    monkeypatch.setattr(documents, "MAX_TEXT_CHARS", 20_000)
    lines = b"".join(b"BT /F1 12 Tf 72 %d Td (Line %d of the one stream) Tj ET\n" % (700 - i, i) for i in range(100))
    bomb = pdf_of_pages_sharing_one_stream(500, lines)  # 500 pages of the same 2,400 characters

    code, message = _failed("shared.pdf", bomb)

    assert code == "invalid_file" and "longer than 20,000 characters" in message


def test_pages_sharing_one_stream_of_drawing_stop_being_read_at_the_operations_limit(monkeypatch):
    monkeypatch.setattr(documents, "MAX_PDF_OPERATIONS", 10_000)
    drawing = b"0 0 m 1 1 l S\n" * 2_000 + b"BT /F1 12 Tf 72 700 Td (a word) Tj ET"  # 6,000 operations, a word
    bomb = pdf_of_pages_sharing_one_stream(500, drawing)

    code, message = _failed("drawing.pdf", bomb)

    assert code == "invalid_file" and "more than 10,000 drawing operations" in message


def test_a_pdf_of_more_pages_than_the_limit_fails(monkeypatch):
    monkeypatch.setattr(documents, "MAX_PDF_PAGES", 3)

    code, message = _failed("long.pdf", pdf_of_pages_sharing_one_stream(4, b"BT /F1 12 Tf 72 700 Td (a page) Tj ET"))

    assert (code, message) == ("invalid_file", "The PDF has more than 3 pages; split it.")
    assert _indexed("short.pdf", pdf("A page of text."))[1].status == "completed"


def test_a_text_that_makes_more_chunks_than_the_limit_fails_and_writes_none():
    text = " ".join(f"w{number:05d}" for number in range(250_000)).encode()  # 1.7 MiB: 8,750 chunks of 100/50
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}

    code, message = _failed("long.txt", text, small)

    assert code == "invalid_file" and f"more than {MAX_CHUNKS_PER_FILE:,} chunks" in message


def test_a_long_file_is_written_to_the_index_a_batch_at_a_time():
    index, batches = FakeIndex(), []
    put = index.put

    def counted(kind, pieces, vectors):
        batches.append(len(pieces))
        put(kind, pieces, vectors)

    index.put = counted  # type: ignore[method-assign]
    text = " ".join(f"w{number:05d}" for number in range(100_000)).encode()

    _, entry, _ = _indexed("book.txt", text, index=index)

    assert entry.status == "completed" and len(index.vectors["keywords"]) > BATCH
    assert max(batches) == BATCH and sum(batches) == len(index.vectors["keywords"])


@pytest.mark.parametrize("text", ["漢字の文章です。" * 5_000, "😀 " * 20_000, "Привет мир " * 5_000, "word " * 20_000])
def test_chunks_of_any_script_hold_at_most_their_tokens_and_four_bytes_a_token(text):
    strategy = ChunkingStrategy(static=StaticChunking(max_chunk_size_tokens=4096, chunk_overlap_tokens=2048))

    cut = chunks(text, strategy)

    assert all(estimate_tokens(piece) <= 4096 and len(piece.encode()) <= 16 * 1024 for piece in cut)
    assert "".join(cut).replace(" ", "")[:50] == text.replace(" ", "")[:50]


def test_a_job_the_dead_letter_queue_took_ends_its_file_failed_and_takes_back_what_was_written():
    stores, contents, jobs, index = fake_stores(), FakeContents(), FakeJobs(), FakeIndex()
    kept, lost = (files.create_file(stores, contents, f"{n}.txt", "assistants", b"The keeper's log.") for n in "ab")
    store = vector_stores.create_store(stores, jobs, "Logs", [kept.id, lost.id])
    indexer = Indexer(contents, index, None)
    indexer.run(stores, jobs.submitted[0])
    written = store_key(stores.project, store.id)  # what an attempt wrote before the function ran out of time
    index.put(
        "keywords",
        [Chunk(key=chunk_key(written, lost.id, 0), store=written, file_id=lost.id, number=0, text="x")],
        [[1.0]],
    )

    indexer.give_up(stores, jobs.submitted[1])

    entry, counted = stores.vector_stores.get_file(store.id, lost.id), vector_stores.get_store(stores, store.id)
    assert (entry.status, entry.last_error.code) == ("failed", "server_error")
    assert "more time or memory" in entry.last_error.message
    assert (counted.status, counted.file_counts.completed, counted.file_counts.failed) == ("completed", 1, 1)
    assert [chunk.file_id for chunk, _ in index.vectors["keywords"].values()] == [kept.id]
