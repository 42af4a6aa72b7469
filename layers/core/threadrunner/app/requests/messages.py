"""Request bodies of a thread's messages: their content parts and attachments."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
)

from ...domain.common import Metadata
from .common import AS_JSON, Request


class TextPart(Request):
    type: Literal["text"]
    text: str


ImageDetail = Literal["auto", "low", "high"]


class ImageFile(Request):
    file_id: str
    detail: ImageDetail | None = None


def _image_url(url: str) -> str:
    """A URL the model can fetch an image from (``http``, ``https``), or the image itself (a ``data:image/`` URL)."""
    parts = urlsplit(url)
    fetched = parts.scheme in ("http", "https") and bool(parts.hostname)
    if not (fetched or url.startswith("data:image/")) or any(char.isspace() for char in url):
        raise ValueError("expected the URL of an image (http or https), or a data:image/ URL")
    return url


class ImageURL(Request):
    url: Annotated[str, AfterValidator(_image_url)]
    detail: ImageDetail | None = None


class ImageFilePart(Request):
    type: Literal["image_file"]
    image_file: Annotated[ImageFile, AS_JSON]


class ImageURLPart(Request):
    type: Literal["image_url"]
    image_url: Annotated[ImageURL, AS_JSON]


ContentPart = Annotated[TextPart | ImageFilePart | ImageURLPart, Field(discriminator="type")]


class AttachmentTool(Request):
    type: Literal["code_interpreter", "file_search"]


class AttachmentParam(Request):
    file_id: Annotated[str, Field(min_length=1, max_length=64)]
    """The project's file to attach."""
    tools: list[Annotated[AttachmentTool, AS_JSON]]
    """The tools to add the file to."""


class MessageCreate(Request):
    role: Literal["user", "assistant"]
    """Who wrote the message."""
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    """The text, or an array of content parts."""
    attachments: list[AttachmentParam] | None = None
    metadata: Metadata | None = None


class MessageUpdate(Request):
    metadata: Metadata | None = None
