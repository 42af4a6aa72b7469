"""Users (``/v1/users``, a threadrunner extension): one persistent thread per end user."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from .common import Usage, WireModel
from .message import Message

USER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}")
"""1 to 128 characters: letters, digits and ``. _ : @ + = -``, starting with a letter or digit (emails, UUIDs,
phone numbers, ``tenant:123`` fit)."""


def check_user_id(user_id: str) -> str:
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise ValueError(
            "a user_id is 1 to 128 characters: letters, digits and . _ : @ + = -, starting with a letter or digit"
        )
    return user_id


UserId = Annotated[str, AfterValidator(check_user_id)]


def user_ref(user_id: str) -> str:
    """How logs name a user: a hash, because user ids are often e-mail addresses or phone numbers."""
    return "user_" + hashlib.sha256(user_id.encode()).hexdigest()[:16]


class UserRecord(BaseModel):
    """The stored mapping of a user to the user's thread."""

    user_id: str
    thread_id: str
    created_at: int
    usage: Usage = Field(default_factory=Usage)
    """Tokens of the user's finished runs."""


class User(WireModel):
    id: str
    """The caller's id of the user."""
    object: Literal["user"] = "user"
    thread_id: str
    """The user's thread."""
    created_at: int
    """Unix seconds of the user's first message."""
    usage: Usage
    """Tokens of all the user's finished runs."""


class QueuedMessage(BaseModel):
    """A user's message that waits for the thread's active run to end; the next run answers it."""

    message: Message
    assistant_id: str
    """The assistant the user asked; the follow-up run uses the one of its last queued message."""


class QueuedUserMessage(WireModel):
    """The answer to a user's message that arrived while the thread was busy."""

    id: str
    """The queue entry's id; the message gets its thread message id when it joins the thread."""
    object: Literal["user.message.queued"] = "user.message.queued"
    thread_id: str
    """The user's thread, where the message lands when its run starts."""
    position: int
    """1 for the next message to be answered, 2 for the one after, ..."""
    message: Message
    """The message as it will be added (with a new id)."""
