"""Files and uploads: a file's record in the project's partition of files and in its purpose's, an upload with its
parts in one partition."""

from __future__ import annotations

from typing import Any

from ...domain.files import FileObject, Upload, UploadPart
from ...domain.pagination import Page, PageRequest
from ...errors import InvalidRequest, NotFound
from . import keys
from .codec import fields, from_attributes, reason_codes, to_attributes
from .table import Table


class DynamoDBFiles(Table):
    """:class:`threadrunner.ports.FileStore`."""

    def put_file(self, file: FileObject, content_key: str) -> None:
        self._client.transact_write_items(TransactItems=self._file_puts(file, content_key))

    def _file_puts(self, file: FileObject, content_key: str) -> list[dict[str, Any]]:
        values = {**file.model_dump(), "content_key": content_key}
        return [
            {"Put": self._put(self.keys.file(file.id), "file", values)},
            # Listed by purpose from a partition of its own: a page reads one page of items.
            {"Put": self._put(self.keys.file(file.id, file.purpose), "file", values)},
        ]

    def _file_item(self, file_id: str) -> dict[str, Any]:
        item = self._get(self.keys.file(file_id))
        if item is None:
            raise NotFound("file", file_id)
        return item

    def get_file(self, file_id: str) -> FileObject:
        return FileObject.model_validate(fields(self._file_item(file_id)))

    def content_key(self, file_id: str) -> str:
        return str(self._file_item(file_id)["content_key"])

    def list_files(self, page: PageRequest, purpose: str | None = None) -> Page[FileObject]:
        items, has_more = self._page(self.keys.files_pk(purpose), keys.FILES, page)
        return Page(data=[FileObject.model_validate(fields(item)) for item in items], has_more=has_more)

    def delete_file(self, file_id: str) -> None:
        file = self.get_file(file_id)
        self._client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": self.keys.file(file_id)}},
                {"Delete": {"TableName": self._table, "Key": self.keys.file(file_id, file.purpose)}},
            ]
        )

    def put_upload(self, upload: Upload) -> None:
        self._client.put_item(**self._put(self.keys.upload(upload.id), "upload", upload.model_dump()))

    def get_upload(self, upload_id: str) -> Upload:
        item = self._get(self.keys.upload(upload_id))
        if item is None:
            raise NotFound("upload", upload_id)
        return Upload.model_validate(fields(item))

    def add_part(self, upload_id: str, part: UploadPart, content_key: str, size: int) -> None:
        values = {**part.model_dump(), "content_key": content_key, "size": size}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": self.keys.upload(upload_id),
                            # A part joins only an upload that still takes them.
                            "ConditionExpression": "#status = :pending",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":pending": {"S": "pending"}},
                        }
                    },
                    {"Put": self._put(self.keys.upload_part(upload_id, part.id), "upload_part", values)},
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            status = self.get_upload(upload_id).status
            raise InvalidRequest(f"The upload is {status}: it takes no more parts.", param="upload_id") from exc

    def parts(self, upload_id: str) -> dict[str, tuple[str, int]]:
        prefix = keys.upload_parts_of(upload_id)
        items = self._query(self.keys.uploads_pk, prefix, prefix + keys.HIGHEST)
        return {item["id"]: (item["content_key"], item["size"]) for item in items}

    def _ending(self, upload_id: str, status: str, file: FileObject | None = None) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self.keys.upload(upload_id),
            "UpdateExpression": "SET #status = :status, #file = :file",
            # Once: a completed upload makes one file, a cancelled or expired one none.
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status", "#file": "file"},
            "ExpressionAttributeValues": to_attributes(
                {":status": status, ":file": file.model_dump() if file else None, ":pending": "pending"}
            ),
        }

    def _not_pending(self, upload_id: str, status: str) -> InvalidRequest:
        current = self.get_upload(upload_id).status
        return InvalidRequest(f"The upload is {current}; only a pending upload can be {status}.")

    def end_upload(self, upload_id: str, status: str) -> Upload:
        try:
            answer = self._client.update_item(**self._ending(upload_id, status), ReturnValues="ALL_NEW")
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise self._not_pending(upload_id, status) from exc
        return Upload.model_validate(fields(from_attributes(answer["Attributes"])))

    def complete_upload(self, upload_id: str, file: FileObject, content_key: str) -> Upload:
        # One write: an upload never names a file whose record is missing, whatever stops the function.
        writes = [{"Update": self._ending(upload_id, "completed", file)}, *self._file_puts(file, content_key)]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as exc:
            if reason_codes(exc)[0] != "ConditionalCheckFailed":
                raise
            raise self._not_pending(upload_id, "completed") from exc
        return self.get_upload(upload_id)
