"""The stores of files and vector stores, each of one project (part of :class:`~threadrunner.ports.Stores`)."""

from __future__ import annotations

from typing import Any, Protocol

from ..domain.files import FileObject, Upload, UploadPart
from ..domain.pagination import Page, PageRequest
from ..domain.vector_stores import FileError, VectorStore, VectorStoreFile, VectorStoreFileBatch


class FileStore(Protocol):
    """Files' records (their bytes are in :class:`FileContents`), and uploads that take parts."""

    def put_file(self, file: FileObject, content_key: str) -> None: ...

    def get_file(self, file_id: str) -> FileObject: ...

    def content_key(self, file_id: str) -> str:
        """Where the file's bytes are (:class:`FileContents`)."""
        ...

    def list_files(self, page: PageRequest, purpose: str | None = None) -> Page[FileObject]: ...

    def delete_file(self, file_id: str) -> None: ...

    def put_upload(self, upload: Upload) -> None: ...

    def get_upload(self, upload_id: str) -> Upload: ...

    def add_part(self, upload_id: str, part: UploadPart, content_key: str, size: int) -> None:
        """Record a part of a ``pending`` upload; InvalidRequest when it is not pending."""
        ...

    def parts(self, upload_id: str) -> dict[str, tuple[str, int]]:
        """Each part of the upload: where its bytes are, and how many."""
        ...

    def end_upload(self, upload_id: str, status: str) -> Upload:
        """Move a ``pending`` upload to ``cancelled`` or ``expired``, once; InvalidRequest when it is not pending."""
        ...

    def complete_upload(self, upload_id: str, file: FileObject, content_key: str) -> Upload:
        """Move a ``pending`` upload to ``completed`` and store its file (:meth:`put_file`), in one write, once;
        InvalidRequest, and nothing written, when it is not pending."""
        ...


class VectorStoreStore(Protocol):
    """Vector stores (with their counts of files), the files in them, batches, and the stores each file is in."""

    def put_store(self, store: VectorStore) -> None: ...

    def get_store(self, vector_store_id: str) -> VectorStore:
        """The store with its counts of files and bytes, as stored (``domain.vector_stores.store_status`` reads
        its status)."""
        ...

    def list_stores(self, page: PageRequest) -> Page[VectorStore]: ...

    def update_store(self, vector_store_id: str, changes: dict[str, Any]) -> VectorStore: ...

    def delete_store(self, vector_store_id: str) -> None:
        """The store's record (its files are forgotten by the indexer: ``forget_store``)."""
        ...

    def add_file(self, entry: VectorStoreFile, batch_id: str | None = None) -> bool:
        """A file joins a store, ``in_progress``, counted; False if it is in the store already."""
        ...

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile: ...

    def update_file(self, vector_store_id: str, file_id: str, changes: dict[str, Any]) -> VectorStoreFile:
        """A file of the store with ``changes`` (its ``attributes``) set; NotFound if it is not in the store."""
        ...

    def list_files(
        self, vector_store_id: str, page: PageRequest, status: str | None = None
    ) -> Page[VectorStoreFile]: ...

    def finish_file(
        self,
        vector_store_id: str,
        file_id: str,
        status: str,
        usage_bytes: int = 0,
        chunks: int = 0,
        last_error: FileError | None = None,
    ) -> bool:
        """An ``in_progress`` file ends (``completed`` with its chunks, ``failed``, ``cancelled``), the counts
        with it; False if it was not in progress (removed, or ended already)."""
        ...

    def remove_file(self, vector_store_id: str, file_id: str) -> int:
        """The file leaves the store, the counts with it; how many chunks it had in the index."""
        ...

    def stores_of_file(self, file_id: str) -> list[str]:
        """The stores a file is in (to forget it everywhere when it is deleted)."""
        ...

    def file_ids(self, vector_store_id: str) -> list[str]:
        """Every file recorded in a store, deleted or not (to forget them when it is deleted)."""
        ...

    def purge(self, vector_store_id: str) -> None:
        """Whatever is left of a deleted store (its batches)."""
        ...

    def put_batch(self, batch: VectorStoreFileBatch, file_ids: list[str]) -> None: ...

    def get_batch(self, vector_store_id: str, batch_id: str) -> tuple[VectorStoreFileBatch, list[str]]:
        """The batch (its counts and status read from its files) and its files' ids."""
        ...

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> None: ...
