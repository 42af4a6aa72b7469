"""The IndexFunction's work, one job at a time: a file's text read, cut into chunks, embedded and put in the vector
index; a deleted file or store forgotten, chunks and all.

Jobs come from a queue (at least once, in any order), so each is safe to repeat: a file is indexed only while it
is ``in_progress`` in its store, and a file removed or cancelled meanwhile has what was written taken back. Every
way a job ends ends its file: ``completed``, or ``failed`` with why (a file that cannot be read at once, a fault at
the last delivery, a job the queue gave up on from its dead-letter queue).
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.deployment import RunDefaults
from ..domain.documents import Unreadable, text_of
from ..domain.file_chunks import FileChunks, chunks_key
from ..domain.vector_stores import (
    MAX_CHUNKS_PER_FILE,
    Chunk,
    ChunkingStrategy,
    FileError,
    IndexJob,
    chunk_key,
    chunks,
    keyword_vector,
    store_key,
)
from ..errors import BudgetExceeded, NotFound
from ..observability import log_keys, logger
from ..ports import Embeddings, FileContents, Stores, VectorIndex
from .embeddings import metered
from .vector_stores import forget_chunks

MAX_ATTEMPTS = 3
"""Deliveries of one job: after the last, a file that still cannot be indexed ends ``failed``."""
BATCH = 64
"""Chunks embedded, and written to the index, at once: the vectors in memory are a batch's, whatever the file."""


class Indexing:
    """Jobs as the queue delivers them: each run on its project's stores; one from the queue's dead-letter queue
    (``dead_letter_queue_arn``: every delivery of it ended the function) given up."""

    def __init__(self, indexer: Indexer, stores_for: Callable[[str], Stores], dead_letter_queue_arn: str) -> None:
        self._indexer, self._stores_for, self._dead_letters = indexer, stores_for, dead_letter_queue_arn

    def take(self, body: str, queue_arn: str, delivery: int) -> None:
        """The job of a message's ``body``, from the queue ``queue_arn``, delivered for the ``delivery``-th time."""
        job = IndexJob.model_validate_json(body)
        log_keys(project=job.project, vector_store_id=job.vector_store_id, file_id=job.file_id)
        stores = self._stores_for(job.project)
        if queue_arn == self._dead_letters:
            self._indexer.give_up(stores, job)  # every delivery ended the function (memory, time): the file ends failed
        else:
            self._indexer.run(stores, job, delivery)


class Indexer:
    """Index and forget, on the ports: the index's kinds are ``keywords`` and, with ``embeddings``, ``embeddings``.
    What is embedded counts in the project's ledger (:mod:`.embeddings`)."""

    def __init__(
        self,
        contents: FileContents,
        index: VectorIndex,
        embeddings: Embeddings | None,
        defaults: RunDefaults | None = None,
    ) -> None:
        self._contents, self._index, self._embeddings = contents, index, embeddings
        self._defaults = defaults or RunDefaults()

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

    def give_up(self, stores: Stores, job: IndexJob) -> None:
        """A job every delivery of which ended the IndexFunction (out of memory, out of time), from the queue's
        dead-letter queue: its file ends ``failed``, and whatever an attempt wrote is taken back. A forget is tried
        once more."""
        if job.kind != "index":
            self.run(stores, job)
            return
        assert job.vector_store_id and job.file_id
        logger.error("file indexing gave up", extra={"file_id": job.file_id})
        error = FileError(
            code="server_error",
            message="Indexing the file took more time or memory than an indexing has; split it, or add it again.",
        )
        if stores.vector_stores.finish_file(job.vector_store_id, job.file_id, "failed", last_error=error):
            self._forget(store_key(stores.project, job.vector_store_id), job.file_id, MAX_CHUNKS_PER_FILE)

    def index(self, stores: Stores, vector_store_id: str, file_id: str, last_attempt: bool = False) -> None:
        try:
            entry = stores.vector_stores.get_file(vector_store_id, file_id)
        except NotFound:
            return  # removed, or its store deleted, before its turn
        if entry.status != "in_progress":
            return  # cancelled, or indexed by an earlier delivery
        store = store_key(stores.project, vector_store_id)
        written = 0
        try:
            made = self._chunks(stores, file_id, entry.chunking_strategy)
            for start in range(0, len(made.texts), BATCH):
                stop = min(start + BATCH, len(made.texts))
                pieces = [
                    Chunk(key=chunk_key(store, file_id, number), store=store, file_id=file_id, number=number, text=text)
                    for number, text in zip(range(start, stop), made.texts[start:stop], strict=True)
                ]
                written = stop
                self._index.put("keywords", pieces, [keyword_vector(piece.text) for piece in pieces])
                if self._embeddings is not None:
                    self._index.put("embeddings", pieces, made.vectors(start, stop))
        except Unreadable as unreadable:
            logger.info("file not indexed", extra={"file_id": file_id, "code": unreadable.code})
            self._fail(
                stores, vector_store_id, file_id, written, FileError(code=unreadable.code, message=unreadable.message)
            )
            return
        except BudgetExceeded as exceeded:  # not retried: the budget renews tomorrow, the client adds it again
            self._fail(stores, vector_store_id, file_id, written, FileError(code="server_error", message=str(exceeded)))
            return
        except Exception:
            if not last_attempt:
                raise  # the queue delivers the job again
            logger.exception("file could not be indexed", extra={"file_id": file_id})
            error = FileError(code="server_error", message="The file could not be indexed; add it again.")
            self._fail(stores, vector_store_id, file_id, written, error)
            return
        usage = sum(len(text.encode("utf-8")) for text in made.texts)
        if not stores.vector_stores.finish_file(vector_store_id, file_id, "completed", usage, len(made.texts)):
            self._forget(store, file_id, len(made.texts))  # removed or cancelled while it was indexed

    def _fail(self, stores: Stores, vector_store_id: str, file_id: str, written: int, error: FileError) -> None:
        self._forget(store_key(stores.project, vector_store_id), file_id, written)
        stores.vector_stores.finish_file(vector_store_id, file_id, "failed", last_error=error)

    def _chunks(self, stores: Stores, file_id: str, strategy: ChunkingStrategy) -> FileChunks:
        """The file's chunks and their embeddings: as an earlier indexing made them with this strategy and model,
        else made (and embedded, counted in the project's ledger) and kept for the next."""
        try:
            key = chunks_key(stores.files.content_key(file_id))
        except NotFound as exc:
            raise Unreadable("invalid_file", "The file was deleted.") from exc
        model = self._embeddings.name if self._embeddings is not None else ""
        try:
            kept = FileChunks.decode(self._contents.read(key))
        except NotFound:
            kept = None
        if kept is not None and kept.serves(strategy, model):
            return kept
        made = FileChunks(strategy, model, chunks(self._text(stores, file_id), strategy))
        embeddings = metered(self._embeddings, stores, self._defaults)
        if embeddings is not None:
            for start in range(0, len(made.texts), BATCH):
                made.add_embeddings(embeddings.embed(made.texts[start : start + BATCH]).vectors)
        self._contents.put(key, made.encode())
        try:  # a file deleted meanwhile had its bytes and chunks deleted before this put: no copy of it stays
            stores.files.get_file(file_id)
        except NotFound as exc:
            self._contents.delete([key])
            raise Unreadable("invalid_file", "The file was deleted.") from exc
        return made

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
