"""Request bodies of files that come in parts (``/v1/uploads``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
)

from ...domain.files import UploadPurpose, media_type
from .common import Request


class UploadCreate(Request):
    """``POST /v1/uploads``: a file to come in parts."""

    bytes: Annotated[int, Field(ge=1, strict=True)]
    """The size the file will have (``true`` is not 1)."""
    filename: Annotated[str, Field(min_length=1, max_length=512)]
    mime_type: Annotated[str, Field(min_length=1, max_length=255), AfterValidator(media_type)]
    purpose: UploadPurpose


class UploadComplete(Request):
    """``POST /v1/uploads/{id}/complete``: the parts, in the order they make the file."""

    part_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=1000)]
    md5: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    """The MD5 of the whole file, checked when given."""
