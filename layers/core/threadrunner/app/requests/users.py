"""Request bodies of per-user messages (``/v1/users``), over HTTP and as events (docs/users-and-events.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
)

from ...domain.common import Metadata
from ...domain.user import UserId
from .common import Request
from .messages import ContentPart, MessageCreate


class UserMessageCreate(Request):
    """``POST /v1/users/{user_id}/messages``: a user's message, answered on the user's own thread."""

    assistant_id: str
    """The assistant that answers."""
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    """The text, or an array of content parts."""
    metadata: Metadata | None = None
    if_busy: Literal["queue", "reject"] = "queue"
    """While a run is active: ``queue`` the message for the next run, or ``reject`` it with 409."""

    def as_message(self) -> MessageCreate:
        return MessageCreate(role="user", content=self.content, metadata=self.metadata)


class UserMessageRequested(UserMessageCreate):
    """The same request arriving as an EventBridge event's ``detail`` or an SQS message's body."""

    user_id: UserId
    """The user who wrote."""
    project: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The project the user belongs to; it must be the one the producer is bound to (which it defaults to)."""
