"""Files' bytes in one S3 bucket, under keys that start with the project (``domain.files.content_key``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from ..domain.files import content_disposition
from ..errors import NotFound

UPLOAD_PART_TAG = ("threadrunner", "upload-part")
"""The tag of an upload's parts, by which the bucket's lifecycle rule (template.yaml) deletes them after a day."""

_PART_BYTES = 8 * 1024 * 1024
"""The parts a join writes: S3 takes multipart parts of 5 MiB and more (the last one excepted)."""


class S3FileContents:
    """:class:`threadrunner.ports.FileContents` on a bucket."""

    def __init__(self, bucket: str, client: Any) -> None:
        self._bucket = bucket
        self._client = client

    def put(self, key: str, data: bytes, part: bool = False) -> None:
        tagging = {"Tagging": urlencode([UPLOAD_PART_TAG])} if part else {}
        self._client.put_object(Bucket=self._bucket, Key=key, Body=data, **tagging)

    def read(self, key: str) -> bytes:
        try:
            return bytes(self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read())
        except self._client.exceptions.NoSuchKey as exc:
            raise NotFound("file", key.rsplit("/", 1)[-1]) from exc

    def join(self, keys: Sequence[str], into: str) -> str:
        """Write the bytes of ``keys``, in order, as the object ``into``; the MD5 (hex) of what was written."""
        digest = hashlib.md5(usedforsecurity=False)
        pending = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for key in keys:
                data = self.read(key)
                digest.update(data)
                pending += data
                if len(pending) >= _PART_BYTES:
                    upload_id = upload_id or self._start(into)
                    parts.append(self._part(into, upload_id, len(parts) + 1, bytes(pending)))
                    pending.clear()
            if upload_id is None:  # small enough for one put
                self.put(into, bytes(pending))
                return digest.hexdigest()
            if pending:
                parts.append(self._part(into, upload_id, len(parts) + 1, bytes(pending)))
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=into, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            if upload_id is not None:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=into, UploadId=upload_id)
            raise
        return digest.hexdigest()

    def _start(self, key: str) -> str:
        return str(self._client.create_multipart_upload(Bucket=self._bucket, Key=key)["UploadId"])

    def _part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        answer = self._client.upload_part(
            Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):  # the most one request deletes
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})

    def link(self, key: str, filename: str, seconds: int) -> str:
        return str(
            self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": content_disposition(filename),
                },
                ExpiresIn=seconds,
            )
        )
