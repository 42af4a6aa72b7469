"""Conversations (the Conversations API): created with items, changed, deleted with them; items added, read and
deleted. A thread's id names the thread read as a conversation (docs/compatibility.md, "Threads and
conversations")."""

from __future__ import annotations

from typing import Any

from ..domain.common import now
from ..domain.conversation import Conversation, Item, client_item
from ..domain.forwarding import check_items
from ..domain.ids import new_id
from ..ports import Stores
from .requests.conversations import ConversationCreate, ConversationUpdate, ItemsCreate


def _items(raw: list[Any]) -> list[Item]:
    """The items a client sends, checked (no object of the provider's account named) and given their ids."""
    check_items(raw, "items")
    return [client_item(item, f"items[{index}]") for index, item in enumerate(raw)]


def create_conversation(stores: Stores, body: ConversationCreate) -> Conversation:
    items = _items(body.items or [])
    conversation = Conversation(id=new_id("conv"), created_at=now(), metadata=body.metadata or {})
    stores.conversations.create_conversation(conversation, items)
    return conversation


def update_conversation(stores: Stores, conversation_id: str, body: ConversationUpdate) -> Conversation:
    if body.metadata is None:
        return stores.conversations.get_conversation(conversation_id)
    return stores.conversations.update_conversation(conversation_id, body.metadata)


def add_items(stores: Stores, conversation_id: str, body: ItemsCreate) -> list[Item]:
    """Append the items, in order, as one write; refused while a response or a run holds the conversation."""
    stores.conversations.get_conversation(conversation_id)  # an unknown conversation is 404 before a bad item is 400
    items = _items(body.items)
    stores.conversations.add_items(conversation_id, items)
    return items


def delete_item(stores: Stores, conversation_id: str, item_id: str) -> Conversation:
    """Delete an item; the answer is the conversation, as the spec has it."""
    stores.conversations.delete_item(conversation_id, item_id)
    return stores.conversations.get_conversation(conversation_id)
