"""Files and uploads: what a project stores for its assistants (documents to search, images to look at)."""

from __future__ import annotations

import base64
import re
import string
import unicodedata
from typing import Literal

from pydantic import Field

from .common import WireModel

UploadPurpose = Literal["assistants", "vision", "batch", "fine-tune", "user_data", "evals"]
"""What an uploaded file is for; ``assistants`` (documents to search, files for code) and ``vision`` (images) are
what runs use."""

FILE_PURPOSES: tuple[str, ...] = ("assistants", "vision", "batch", "fine-tune", "user_data", "evals")
"""The purposes a client may upload a file for."""

OUTPUT_PURPOSE = "assistants_output"
"""The purpose of the files a run's code wrote (``code_interpreter``), as the hosted API named them."""

FilePurpose = UploadPurpose | Literal["assistants_output"]
"""What a file is for: an upload's purpose, or ``assistants_output`` for what a run's code wrote."""

MAX_REQUEST_FILE_BYTES = 4 * 1024 * 1024
"""The most a single request carries (a file, an upload's part): a Lambda request holds 6 MB, base64 included."""
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""The most an upload of parts makes: its parts are joined into the file when it completes, within a request."""
UPLOAD_SECONDS = 3600
"""How long an upload takes parts, as on the hosted API."""


class FileObject(WireModel):
    id: str
    """The identifier, ``file-...``."""
    object: Literal["file"] = "file"
    bytes: int
    """The size of the file."""
    created_at: int
    """Unix seconds when the file was created."""
    filename: str
    """The name the file was uploaded with."""
    purpose: FilePurpose
    """What the file is for."""
    status: Literal["uploaded", "processed", "error"] = "processed"
    """Deprecated by the hosted API; always ``processed`` here."""
    status_details: str | None = None
    expires_at: int | None = Field(default=None, exclude_if=lambda value: value is None)
    """Unix seconds when the file expires; left out while it is kept until deleted (the spec's ``expires_at`` is an
    integer that may be absent, never ``null``)."""


class Upload(WireModel):
    id: str
    """The identifier, ``upload_...``."""
    object: Literal["upload"] = "upload"
    bytes: int
    """The size the file will have."""
    created_at: int
    filename: str
    purpose: FilePurpose
    status: Literal["pending", "completed", "cancelled", "expired"] = "pending"
    expires_at: int
    """Unix seconds after which the upload takes no more parts."""
    file: FileObject | None = None
    """The file made when the upload completed."""


class UploadPart(WireModel):
    id: str
    """The identifier, ``part_...``."""
    object: Literal["upload.part"] = "upload.part"
    created_at: int
    upload_id: str


def content_key(project: str, object_id: str) -> str:
    """Where the bytes of a project's file (or upload part) are kept: under the project, so none reads another's."""
    return f"{project}/{object_id}"


_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][\w!#$&^.+-]{0,126}/[A-Za-z0-9][\w!#$&^.+-]{0,126}(\s*;\s*[\w.+-]+=[\w.+-]+)*", re.ASCII
)
"""``type/subtype`` (RFC 6838's names), with parameters such as ``; charset=utf-8``."""


def media_type(value: str) -> str:
    """The MIME type an upload announces, if it is one; threadrunner reads a file by its name and bytes, so any
    well-formed type is taken, whatever the purpose."""
    if not _MEDIA_TYPE.fullmatch(value):
        raise ValueError("expected a MIME type such as text/plain or application/pdf")
    return value


def has_control_characters(filename: str) -> bool:
    """Whether a name holds a control character (C0, DEL, C1: line breaks, NUL, tabs) or a lone surrogate: nothing
    a file's name needs, and what would break the header that names it on download."""
    return any(unicodedata.category(character) in ("Cc", "Cs") for character in filename)


_ATTR_CHARS = frozenset(string.ascii_letters + string.digits + "!#$&+-.^_`|~")
"""What RFC 5987 writes as it is in an extended parameter's value; every other byte is percent-encoded."""


def content_disposition(filename: str) -> str:
    """The ``Content-Disposition`` of a download: the name in ASCII (other characters as ``_``) for old clients,
    and whole in RFC 5987's ``filename*``, percent-encoded UTF-8: nothing of the name reaches the header raw."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    encoded = "".join(chr(b) if chr(b) in _ATTR_CHARS else f"%{b:02X}" for b in filename.encode("utf-8", "replace"))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
"""The kinds of image the models read."""


def image_data_url(filename: str, data: bytes) -> str:
    """An image file as a ``data:`` URL, its type from its name (PNG when the name does not say)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return f"data:{IMAGE_TYPES.get(extension, 'image/png')};base64,{base64.b64encode(data).decode()}"
