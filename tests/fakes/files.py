"""Files' records and uploads, and files' bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from threadrunner.domain.files import FileObject, Upload, UploadPart
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.errors import InvalidRequest, NotFound

from .world import World


class FakeFiles:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_file(self, file: FileObject, content_key: str) -> None:
        self.world.files[file.id] = (file, content_key)

    def get_file(self, file_id: str) -> FileObject:
        if file_id not in self.world.files:
            raise NotFound("file", file_id)
        return self.world.files[file_id][0]

    def content_key(self, file_id: str) -> str:
        self.get_file(file_id)
        return self.world.files[file_id][1]

    def list_files(self, page: PageRequest, purpose: str | None = None) -> Page[FileObject]:
        listed = sorted((f for f, _ in self.world.files.values() if purpose in (None, f.purpose)), key=lambda f: f.id)
        return paginate(listed, page)

    def delete_file(self, file_id: str) -> None:
        self.get_file(file_id)
        del self.world.files[file_id]

    def put_upload(self, upload: Upload) -> None:
        self.world.uploads[upload.id] = upload

    def get_upload(self, upload_id: str) -> Upload:
        if upload_id not in self.world.uploads:
            raise NotFound("upload", upload_id)
        return self.world.uploads[upload_id]

    def add_part(self, upload_id: str, part: UploadPart, content_key: str, size: int) -> None:
        status = self.get_upload(upload_id).status
        if status != "pending":
            raise InvalidRequest(f"The upload is {status}: it takes no more parts.", param="upload_id")
        self.world.parts.setdefault(upload_id, {})[part.id] = (content_key, size)

    def parts(self, upload_id: str) -> dict[str, tuple[str, int]]:
        return dict(self.world.parts.get(upload_id, {}))

    def end_upload(self, upload_id: str, status: str) -> Upload:
        return self._end(upload_id, status)

    def _end(self, upload_id: str, status: str, file: FileObject | None = None) -> Upload:
        upload = self.get_upload(upload_id)
        if upload.status != "pending":
            raise InvalidRequest(f"The upload is {upload.status}; only a pending upload can be {status}.")
        self.world.uploads[upload_id] = upload.model_copy(update={"status": status, "file": file})
        return self.world.uploads[upload_id]

    def complete_upload(self, upload_id: str, file: FileObject, content_key: str) -> Upload:
        completed = self._end(upload_id, "completed", file)
        self.put_file(file, content_key)
        return completed


@dataclass
class FakeContents:
    """Files' bytes, by key."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes, part: bool = False) -> None:
        self.blobs[key] = data

    def read(self, key: str) -> bytes:
        if key not in self.blobs:
            raise NotFound("file", key)
        return self.blobs[key]

    def join(self, keys: Sequence[str], into: str) -> str:
        self.blobs[into] = b"".join(self.read(key) for key in keys)
        return hashlib.md5(self.blobs[into], usedforsecurity=False).hexdigest()

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.blobs.pop(key, None)

    def link(self, key: str, filename: str, seconds: int) -> str:
        return f"https://files.example/{key}?for={seconds}"
