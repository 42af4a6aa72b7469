"""The IndexFunction's work, one job at a time: a file's text read, cut into chunks, embedded and put in the vector
index; a deleted file or store forgotten, chunks and all.

Jobs come from a queue (at least once, in any order), so each is safe to repeat: a file is indexed only while it
is ``in_progress`` in its store, and a file removed or cancelled meanwhile has what was written taken back.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..domain.documents import Unreadable, text_of
from ..domain.vector_stores import Chunk, FileError, IndexJob, chunk_key, chunks, keyword_vector, store_key
from ..errors import NotFound
from ..observability import logger
from ..ports import Embeddings, FileContents, Stores, VectorIndex
from .vector_stores import forget_chunks

MAX_ATTEMPTS = 3
"""Deliveries of one job: after the last, a file that still cannot be indexed ends ``failed``."""


class Indexer:
    """Index and forget, on the ports: the index's kinds are ``keywords`` and, with ``embeddings``, ``embeddings``."""

    def __init__(self, contents: FileContents, index: VectorIndex, embeddings: Embeddings | None) -> None:
        self._contents, self._index, self._embeddings = contents, index, embeddings

    @property
    def kinds(self) -> list[str]:
        return ["keywords", "embeddings"] if self._embeddings is not None else ["keywords"]

    def run(self, stores: Stores, job: IndexJob, attempt: int = 1) -> None:
        if job.kind == "index":
            assert job.vector_store_id and job.file_id
            self.index(stores, job.vector_store_id, job.file_id, last_attempt=attempt >= MAX_ATTEMPTS)
        elif job.kind == "forget_file":
            assert job.file_id
            self.forget_file(stores, job.file_id)
        else:
            assert job.vector_store_id
            self.forget_store(stores, job.vector_store_id)

    def index(self, stores: Stores, vector_store_id: str, file_id: str, last_attempt: bool = False) -> None:
        try:
            entry = stores.vector_stores.get_file(vector_store_id, file_id)
        except NotFound:
            return  # removed, or its store deleted, before its turn
        if entry.status != "in_progress":
            return  # cancelled, or indexed by an earlier delivery
        try:
            text = self._text(stores, file_id)
        except Unreadable as unreadable:
            logger.info("file not indexed", extra={"file_id": file_id, "code": unreadable.code})
            error = FileError(code=unreadable.code, message=unreadable.message)
            stores.vector_stores.finish_file(vector_store_id, file_id, "failed", last_error=error)
            return
        store = store_key(stores.project, vector_store_id)
        pieces = [
            Chunk(key=chunk_key(store, file_id, number), store=store, file_id=file_id, number=number, text=piece)
            for number, piece in enumerate(chunks(text, entry.chunking_strategy))
        ]
        try:
            self._put(pieces)
        except Exception:
            if not last_attempt:
                raise  # the queue delivers the job again
            logger.exception("file could not be indexed", extra={"file_id": file_id})
            self._forget(store, file_id, len(pieces))
            error = FileError(code="server_error", message="The file could not be indexed; add it again.")
            stores.vector_stores.finish_file(vector_store_id, file_id, "failed", last_error=error)
            return
        usage = sum(len(piece.text.encode("utf-8")) for piece in pieces)
        if not stores.vector_stores.finish_file(vector_store_id, file_id, "completed", usage, len(pieces)):
            self._forget(store, file_id, len(pieces))  # removed or cancelled while it was indexed

    def _text(self, stores: Stores, file_id: str) -> str:
        try:
            file = stores.files.get_file(file_id)
            data = self._contents.read(stores.files.content_key(file_id))
        except NotFound as exc:
            raise Unreadable("invalid_file", "The file was deleted.") from exc
        text = text_of(file.filename, data)
        if not text.strip():
            raise Unreadable("unsupported_file", "The file has no text.")
        return text

    def _put(self, pieces: Sequence[Chunk]) -> None:
        self._index.put("keywords", pieces, [keyword_vector(piece.text) for piece in pieces])
        if self._embeddings is not None:
            self._index.put("embeddings", pieces, self._embeddings.embed([piece.text for piece in pieces]))

    def _forget(self, store: str, file_id: str, count: int) -> None:
        forget_chunks(self._index, self.kinds, store, file_id, count)

    def forget_file(self, stores: Stores, file_id: str) -> None:
        """A deleted file leaves every store it was in, with its chunks."""
        for vector_store_id in stores.vector_stores.stores_of_file(file_id):
            self._remove(stores, vector_store_id, file_id)

    def forget_store(self, stores: Stores, vector_store_id: str) -> None:
        """A deleted store's files leave it, with their chunks."""
        for file_id in stores.vector_stores.file_ids(vector_store_id):
            self._remove(stores, vector_store_id, file_id)
        stores.vector_stores.purge(vector_store_id)

    def _remove(self, stores: Stores, vector_store_id: str, file_id: str) -> None:
        try:
            count = stores.vector_stores.remove_file(vector_store_id, file_id)
        except NotFound:
            return  # removed by an earlier delivery
        self._forget(store_key(stores.project, vector_store_id), file_id, count)
