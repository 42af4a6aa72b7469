"""Files: stored whole (``POST /v1/files``) or in parts (uploads), read back, deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.common import now
from ..domain.file_chunks import chunks_key
from ..domain.files import (
    FILE_PURPOSES,
    MAX_REQUEST_FILE_BYTES,
    MAX_UPLOAD_BYTES,
    OUTPUT_PURPOSE,
    UPLOAD_SECONDS,
    FileObject,
    Upload,
    UploadPart,
    content_key,
    has_control_characters,
)
from ..domain.ids import new_id
from ..domain.vector_stores import IndexJob
from ..errors import InvalidRequest, TooLarge
from ..ports import FileContents, IndexJobs, Stores

if TYPE_CHECKING:
    from .requests.files import UploadComplete, UploadCreate

LINK_SECONDS = 300
"""How long the link to a large file's bytes works."""


def check_purpose(purpose: str, listed: bool = False) -> str:
    """A purpose a file may be uploaded for; ``listed``: one files may be listed by, which includes the purpose of
    what a run's code wrote."""
    purposes = (*FILE_PURPOSES, OUTPUT_PURPOSE) if listed else FILE_PURPOSES
    if purpose not in purposes:
        raise InvalidRequest(
            f"Invalid value for 'purpose': '{purpose[:64]}'; one of {', '.join(purposes)}.",
            param="purpose",
            code="invalid_value",
        )
    return purpose


def _check_filename(filename: str, param: str) -> None:
    """Refuse a name with control characters: a name is shown and sent back in headers, where they break things."""
    if has_control_characters(filename):
        raise InvalidRequest(
            "The file name holds control characters (line breaks, tabs, NUL, ...); name the file without them.",
            param=param,
            code="invalid_value",
        )


def _check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise TooLarge(
            f"The {what} has {size} bytes, more than the {limit} a request may carry; larger files go through "
            "the Uploads API (/v1/uploads), in parts.",
            code="file_too_large",
        )


def create_file(stores: Stores, contents: FileContents, filename: str, purpose: str, data: bytes) -> FileObject:
    """A file a client uploads whole."""
    check_purpose(purpose)
    _check_filename(filename, "file")
    _check_size(len(data), MAX_REQUEST_FILE_BYTES, "file")
    if not data:
        raise InvalidRequest("The file is empty.", param="file")
    return stored_file(stores, contents, filename, purpose, data)


def stored_file(stores: Stores, contents: FileContents, filename: str, purpose: str, data: bytes) -> FileObject:
    """A new file of the project: its bytes, then its record (a record never names missing bytes)."""
    file = FileObject(id=new_id("file", "-"), bytes=len(data), created_at=now(), filename=filename, purpose=purpose)
    key = content_key(stores.project, file.id)
    contents.put(key, data)
    stores.files.put_file(file, key)
    return file


def content(stores: Stores, contents: FileContents, file_id: str) -> tuple[FileObject, bytes | str]:
    """A file and its bytes, or for a file larger than an answer can carry, a link to them."""
    file = stores.files.get_file(file_id)
    key = stores.files.content_key(file_id)
    if file.bytes > MAX_REQUEST_FILE_BYTES:
        return file, contents.link(key, file.filename, LINK_SECONDS)
    return file, contents.read(key)


def delete_file(stores: Stores, contents: FileContents, jobs: IndexJobs, file_id: str) -> None:
    """The file, its bytes and its kept chunks go at once (the record first: an indexing that keeps the chunks
    after this looks for it, and deletes them); the IndexFunction takes it out of the vector stores it is in."""
    key = stores.files.content_key(file_id)
    stores.files.delete_file(file_id)
    contents.delete([key, chunks_key(key)])
    if stores.vector_stores.stores_of_file(file_id):
        jobs.submit(IndexJob(kind="forget_file", project=stores.project, file_id=file_id))


def create_upload(stores: Stores, body: UploadCreate) -> Upload:
    _check_filename(body.filename, "filename")
    if body.bytes > MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"An upload makes a file of at most {MAX_UPLOAD_BYTES} bytes; this one announces {body.bytes}.",
            code="file_too_large",
        )
    at = now()
    upload = Upload(
        id=new_id("upload"),
        bytes=body.bytes,
        created_at=at,
        filename=body.filename,
        purpose=body.purpose,
        expires_at=at + UPLOAD_SECONDS,
    )
    stores.files.put_upload(upload)
    return upload


def add_part(stores: Stores, contents: FileContents, upload_id: str, data: bytes) -> UploadPart:
    upload = _pending(stores, contents, upload_id)
    _check_size(len(data), MAX_REQUEST_FILE_BYTES, "part")
    if sum(size for _, size in stores.files.parts(upload_id).values()) + len(data) > upload.bytes:
        raise InvalidRequest(f"The parts would hold more than the {upload.bytes} bytes the upload announced.")
    part = UploadPart(id=new_id("part"), created_at=now(), upload_id=upload_id)
    key = content_key(stores.project, f"{upload_id}/{part.id}")
    contents.put(key, data, part=True)
    stores.files.add_part(upload_id, part, key, len(data))
    return part


def complete_upload(stores: Stores, contents: FileContents, upload_id: str, body: UploadComplete) -> Upload:
    """Join the parts, in the order given, into the upload's file; the parts' bytes go."""
    upload = _pending(stores, contents, upload_id)
    parts = stores.files.parts(upload_id)
    unknown = [part_id for part_id in body.part_ids if part_id not in parts]
    if unknown or len(set(body.part_ids)) != len(body.part_ids):
        problem = f"the parts {', '.join(unknown)} are not this upload's" if unknown else "a part is named twice"
        raise InvalidRequest(f"The upload cannot complete: {problem}.", param="part_ids")
    size = sum(parts[part_id][1] for part_id in body.part_ids)
    if size != upload.bytes:
        raise InvalidRequest(f"The parts hold {size} bytes; the upload announced {upload.bytes}.", param="part_ids")
    file = FileObject(
        id=new_id("file", "-"), bytes=size, created_at=now(), filename=upload.filename, purpose=upload.purpose
    )
    key = content_key(stores.project, file.id)
    md5 = contents.join([parts[part_id][0] for part_id in body.part_ids], key)
    if body.md5 is not None and md5 != body.md5.lower():
        contents.delete([key])
        raise InvalidRequest("The MD5 of the joined parts is not the one given.", param="md5")
    try:
        # The bytes first, then the file's records and the upload's end in one write: once, whoever else
        # completes it, and never naming a file that is missing.
        completed = stores.files.complete_upload(upload_id, file, key)
    except InvalidRequest:
        contents.delete([key])
        raise
    _delete_parts(stores, contents, upload_id)
    return completed


def cancel_upload(stores: Stores, contents: FileContents, upload_id: str) -> Upload:
    _pending(stores, contents, upload_id)
    cancelled = stores.files.end_upload(upload_id, "cancelled")
    _delete_parts(stores, contents, upload_id)
    return cancelled


def _delete_parts(stores: Stores, contents: FileContents, upload_id: str) -> None:
    """The bytes of an ended upload's parts (what a cut-off request leaves, the bucket's lifecycle rule deletes)."""
    contents.delete([location for location, _ in stores.files.parts(upload_id).values()])


def _pending(stores: Stores, contents: FileContents, upload_id: str) -> Upload:
    """The upload, if it still takes parts; one past its hour is expired, and its parts' bytes go then."""
    upload = stores.files.get_upload(upload_id)
    if upload.status == "pending" and now() > upload.expires_at:
        try:
            stores.files.end_upload(upload_id, "expired")
        except InvalidRequest:
            pass  # another request ended it just now
        _delete_parts(stores, contents, upload_id)
        raise InvalidRequest("The upload expired: an upload takes parts for an hour.", param="upload_id")
    if upload.status != "pending":
        raise InvalidRequest(f"The upload is {upload.status}.", param="upload_id")
    return upload
