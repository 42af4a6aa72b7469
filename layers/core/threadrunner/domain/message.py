"""The message object and its content parts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .common import Metadata, WireModel

MessageRole = Literal["user", "assistant"]
MessageStatus = Literal["in_progress", "incomplete", "completed"]


class Text(WireModel):
    value: str
    """The text."""
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    """File citations and paths; always empty here."""


class TextContentBlock(WireModel):
    type: Literal["text"] = "text"
    text: Text


ImageDetail = Annotated[Literal["auto", "low", "high"], BeforeValidator(lambda value: value or "auto")]
"""How closely the model looks at an image; ``auto`` unless the caller says."""


class ImageFile(WireModel):
    file_id: str
    """The image's file."""
    detail: ImageDetail = "auto"


class ImageURL(WireModel):
    url: str
    """Where the image is."""
    detail: ImageDetail = "auto"


class ImageFileContentBlock(WireModel):
    type: Literal["image_file"] = "image_file"
    image_file: ImageFile


class ImageURLContentBlock(WireModel):
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


MessageContent = Annotated[TextContentBlock | ImageFileContentBlock | ImageURLContentBlock, Field(discriminator="type")]
"""One part of a message's content."""


class Attachment(WireModel):
    file_id: str
    """The attached file."""
    tools: Annotated[list[dict[str, Any]], BeforeValidator(lambda value: [] if value is None else value)] = Field(
        default_factory=list
    )
    """The tools the file was added to."""


MAX_MESSAGE_FILES = 20
"""The most files one message may name (its attachments and its ``image_file`` parts): each is looked up."""


def _named_files(value: Any) -> Any:
    """Attachments as stored: ones that named no file (which earlier versions let through) are none."""
    return [a for a in value or [] if not isinstance(a, dict) or a.get("file_id")]


class IncompleteDetails(WireModel):
    reason: str
    """Why the message is incomplete."""


class Message(WireModel):
    id: str
    """The identifier, ``msg_...``."""
    object: Literal["thread.message"] = "thread.message"
    created_at: int
    """Unix seconds when the message was created."""
    thread_id: str
    """The thread the message belongs to."""
    status: MessageStatus = "completed"
    """``in_progress``, ``incomplete`` or ``completed``."""
    incomplete_details: IncompleteDetails | None = None
    """Why the message is incomplete, when it is."""
    completed_at: int | None = None
    """Unix seconds when the message was completed."""
    incomplete_at: int | None = None
    """Unix seconds when the message was marked incomplete."""
    role: MessageRole
    """``user`` or ``assistant``."""
    content: list[MessageContent]
    """The content parts."""
    assistant_id: str | None = None
    """The assistant that wrote the message, for assistant messages."""
    run_id: str | None = None
    """The run that wrote the message, for assistant messages."""
    attachments: Annotated[list[Attachment], BeforeValidator(_named_files)] = Field(default_factory=list)
    """Files attached to the message; ``[]`` when there are none."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""

    @property
    def text(self) -> str:
        """The text parts joined by blank lines; what the model reads of this message."""
        return "\n\n".join(part.text.value for part in self.content if isinstance(part, TextContentBlock))


def text_content(value: str, annotations: list[dict[str, Any]] | None = None) -> list[MessageContent]:
    """Content made of one text part (with its citations, if any)."""
    return [TextContentBlock(text=Text(value=value, annotations=annotations or []))]
