"""Vector stores with their counts, the files in them (one partition per store), batches, and each file's stores."""

from __future__ import annotations

from typing import Any

from ...domain.pagination import Page, PageRequest, paginate
from ...domain.vector_stores import (
    FileCounts,
    FileError,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    batch_status,
)
from ...errors import NotFound
from . import keys
from .codec import fields, to_attributes
from .table import Table

_COUNTS = ("in_progress", "completed", "failed", "cancelled", "total")
STORE_BOOKKEEPING = tuple(f"files_{name}" for name in _COUNTS)
FILE_BOOKKEEPING = ("chunks", "batch_id")


class DynamoDBVectorStores(Table):
    """:class:`threadrunner.ports.VectorStoreStore`."""

    def put_store(self, store: VectorStore) -> None:
        values = {**store.model_dump(exclude={"file_counts"}), **{name: 0 for name in STORE_BOOKKEEPING}}
        self._client.put_item(**self._put(self.keys.store(store.id), "vector_store", values))

    @staticmethod
    def _store(item: dict[str, Any]) -> VectorStore:
        counts = FileCounts(**{name: item.get(f"files_{name}", 0) for name in _COUNTS})
        return VectorStore.model_validate({**fields(item, *STORE_BOOKKEEPING), "file_counts": counts})

    def get_store(self, vector_store_id: str) -> VectorStore:
        item = self._get(self.keys.store(vector_store_id))
        if item is None:
            raise NotFound("vector store", vector_store_id)
        return self._store(item)

    def list_stores(self, page: PageRequest) -> Page[VectorStore]:
        items, has_more = self._page(self.keys.stores_pk, keys.STORES, page)
        return Page(data=[self._store(item) for item in items], has_more=has_more)

    def update_store(self, vector_store_id: str, changes: dict[str, Any]) -> VectorStore:
        return self._store(self._update(self.keys.store(vector_store_id), "vector store", vector_store_id, changes))

    def delete_store(self, vector_store_id: str) -> None:
        self._delete(self.keys.store(vector_store_id), "vector store", vector_store_id)

    def add_file(self, entry: VectorStoreFile, batch_id: str | None = None) -> bool:
        store_id = entry.vector_store_id
        values = {**entry.model_dump(), "chunks": 0, "batch_id": batch_id}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": self._put(
                            self.keys.store_file(store_id, entry.id),
                            "vector_store_file",
                            values,
                            "attribute_not_exists(PK)",
                        )
                    },
                    {"Update": self._count(store_id, {"in_progress": 1, "total": 1})},
                    {
                        "Put": self._put(
                            keys.key(self.keys.file_stores_pk(entry.id), f"VS#{store_id}"),
                            "file_store",
                            {"id": store_id},
                        )
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException:
            if self._get(self.keys.store(store_id)) is None:
                raise NotFound("vector store", store_id) from None
            return False  # in the store already
        return True

    def _count(self, vector_store_id: str, changes: dict[str, int], usage_bytes: int = 0) -> dict[str, Any]:
        """The update of a store's counts (and bytes), on a store that is there."""
        names = {f"#{name}": f"files_{name}" for name in changes}
        values = {f":{name}": value for name, value in changes.items()} | {":usage": usage_bytes}
        additions = [f"#{name} :{name}" for name in changes] + ["usage_bytes :usage"]
        return {
            "TableName": self._table,
            "Key": self.keys.store(vector_store_id),
            "UpdateExpression": "ADD " + ", ".join(additions),
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_attributes(values),
        }

    def _file_item(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        item = self._get(self.keys.store_file(vector_store_id, file_id))
        if item is None:
            raise NotFound("file", file_id)
        return item

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile:
        return VectorStoreFile.model_validate(fields(self._file_item(vector_store_id, file_id), *FILE_BOOKKEEPING))

    def update_file(self, vector_store_id: str, file_id: str, changes: dict[str, Any]) -> VectorStoreFile:
        item = self._update(self.keys.store_file(vector_store_id, file_id), "file", file_id, changes)
        return VectorStoreFile.model_validate(fields(item, *FILE_BOOKKEEPING))

    def list_files(self, vector_store_id: str, page: PageRequest, status: str | None = None) -> Page[VectorStoreFile]:
        self.get_store(vector_store_id)
        pk = self.keys.store_pk(vector_store_id)
        if status is None:
            items, has_more = self._page(pk, keys.FILES, page)
            return Page(
                data=[VectorStoreFile.model_validate(fields(i, *FILE_BOOKKEEPING)) for i in items], has_more=has_more
            )
        entries = [
            VectorStoreFile.model_validate(fields(item, *FILE_BOOKKEEPING))
            for item in self._query(pk, keys.FILES, keys.FILES + keys.HIGHEST)
            if item["status"] == status
        ]
        return paginate(entries, page)

    def finish_file(
        self,
        vector_store_id: str,
        file_id: str,
        status: str,
        usage_bytes: int = 0,
        chunks: int = 0,
        last_error: FileError | None = None,
    ) -> bool:
        finished = {
            "Update": {
                "TableName": self._table,
                "Key": self.keys.store_file(vector_store_id, file_id),
                "UpdateExpression": (
                    "SET #status = :status, usage_bytes = :usage, chunks = :chunks, last_error = :error"
                ),
                # Once: a file removed meanwhile, or ended by another attempt, is not counted again.
                "ConditionExpression": "#status = :in_progress",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_attributes(
                    {
                        ":status": status,
                        ":usage": usage_bytes,
                        ":chunks": chunks,
                        ":error": last_error.model_dump() if last_error else None,
                        ":in_progress": "in_progress",
                    }
                ),
            }
        }
        counted = {"Update": self._count(vector_store_id, {"in_progress": -1, status: 1}, usage_bytes)}
        try:
            self._client.transact_write_items(TransactItems=[finished, counted])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def remove_file(self, vector_store_id: str, file_id: str) -> int:
        item = self._file_item(vector_store_id, file_id)
        status, usage = item["status"], item.get("usage_bytes", 0)
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": self.keys.store_file(vector_store_id, file_id),
                    # As it was read: a file that ended meanwhile is counted under its new status.
                    "ConditionExpression": "#status = :status",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":status": {"S": status}},
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": keys.key(self.keys.file_stores_pk(file_id), f"VS#{vector_store_id}"),
                }
            },
        ]
        if self._get(self.keys.store(vector_store_id)) is not None:
            writes.append({"Update": self._count(vector_store_id, {status: -1, "total": -1}, -usage)})
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return self.remove_file(vector_store_id, file_id)  # it moved on: remove it as it is now
        return int(item.get("chunks", 0))

    def stores_of_file(self, file_id: str) -> list[str]:
        return [item["id"] for item in self._query(self.keys.file_stores_pk(file_id))]

    def file_ids(self, vector_store_id: str) -> list[str]:
        pk = self.keys.store_pk(vector_store_id)
        return [item["id"] for item in self._query(pk, keys.FILES, keys.FILES + keys.HIGHEST)]

    def purge(self, vector_store_id: str) -> None:
        for item in self._query(self.keys.store_pk(vector_store_id)):
            key = keys.key(self.keys.store_pk(vector_store_id), item["SK"])
            self._client.delete_item(TableName=self._table, Key=key)

    def put_batch(self, batch: VectorStoreFileBatch, file_ids: list[str]) -> None:
        values = {**batch.model_dump(exclude={"file_counts", "status"}), "file_ids": file_ids, "cancelled": False}
        self._client.put_item(**self._put(self.keys.batch(batch.vector_store_id, batch.id), "file_batch", values))

    def get_batch(self, vector_store_id: str, batch_id: str) -> tuple[VectorStoreFileBatch, list[str]]:
        item = self._get(self.keys.batch(vector_store_id, batch_id))
        if item is None:
            raise NotFound("file batch", batch_id)
        counts = FileCounts()
        for file_id in item["file_ids"]:
            entry = self._get(self.keys.store_file(vector_store_id, file_id))
            if entry is not None:
                setattr(counts, entry["status"], getattr(counts, entry["status"]) + 1)
                counts.total += 1
        batch = VectorStoreFileBatch.model_validate(
            {
                **fields(item, "file_ids", "cancelled"),
                "file_counts": counts,
                "status": batch_status(counts, item["cancelled"]),
            }
        )
        return batch, list(item["file_ids"])

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> None:
        self._update(self.keys.batch(vector_store_id, batch_id), "file batch", batch_id, {"cancelled": True})
