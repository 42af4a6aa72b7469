"""Request bodies of ``/v1/conversations`` and its items.

Items are checked where threadrunner reads them (``domain.conversation.client_item``), which names the item that is
wrong (``items[2].role``); here they are any JSON, at most 20 a request as the spec allows.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ...domain.common import Metadata
from ...domain.conversation import MAX_ITEMS_PER_REQUEST
from .common import Request

Items = Annotated[list[Any], Field(max_length=MAX_ITEMS_PER_REQUEST)]


class ConversationCreate(Request):
    items: Items | None = None
    """Items to start the conversation with, up to 20."""
    metadata: Metadata | None = None


class ConversationUpdate(Request):
    metadata: Metadata | None
    """The conversation's metadata, replaced (``null``: left as it is, as the spec lets it be)."""


class ItemsCreate(Request):
    items: Annotated[list[Any], Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)]
    """Items to append, in order, up to 20."""
