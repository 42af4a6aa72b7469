"""``/v1/conversations`` and their items (the Conversations API); a thread's id reads the thread as a conversation.
Listing conversations is an extension, as listing threads is."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app import conversations
from ..app.requests.conversations import ConversationCreate, ConversationUpdate, ItemsCreate
from ..domain.conversation import Conversation, Item
from .dependencies import StoresDep
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


class ConversationItemList(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    """The items, each as its type shows it."""
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, items: list[Item], has_more: bool = False) -> ConversationItemList:
        ids = [item.id for item in items]
        return cls(
            data=[item.wire() for item in items],
            first_id=ids[0] if ids else None,
            last_id=ids[-1] if ids else None,
            has_more=has_more,
        )


@router.post("/v1/conversations", summary="Create a conversation")
def create_conversation(stores: StoresDep, body: Annotated[ConversationCreate | None, Body()] = None) -> Conversation:
    return conversations.create_conversation(stores, body or ConversationCreate())


@router.get("/v1/conversations", summary="List conversations (extension)")
def list_conversations(
    stores: StoresDep, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Conversation]:
    listed = stores.conversations.list_conversations(page(limit, order, after, before))
    return ListObject.of(listed)


@router.get("/v1/conversations/<conversation_id>", summary="Retrieve a conversation")
def retrieve_conversation(stores: StoresDep, conversation_id: str) -> Conversation:
    return stores.conversations.get_conversation(conversation_id)


@router.post("/v1/conversations/<conversation_id>", summary="Update a conversation")
def update_conversation(
    stores: StoresDep, conversation_id: str, body: Annotated[ConversationUpdate, Body()]
) -> Conversation:
    return conversations.update_conversation(stores, conversation_id, body)


@router.delete("/v1/conversations/<conversation_id>", summary="Delete a conversation and its items")
def delete_conversation(stores: StoresDep, conversation_id: str) -> Deleted:
    stores.conversations.delete_conversation(conversation_id)
    return Deleted(id=conversation_id, object="conversation.deleted")


@router.post("/v1/conversations/<conversation_id>/items", summary="Create items")
def create_items(stores: StoresDep, conversation_id: str, body: Annotated[ItemsCreate, Body()]) -> ConversationItemList:
    return ConversationItemList.of(conversations.add_items(stores, conversation_id, body))


@router.get("/v1/conversations/<conversation_id>/items", summary="List items")
def list_items(
    stores: StoresDep,
    conversation_id: str,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ConversationItemList:
    listed = stores.conversations.list_items(conversation_id, page(limit, order, after, before))
    return ConversationItemList.of(listed.data, listed.has_more)


@router.get("/v1/conversations/<conversation_id>/items/<item_id>", summary="Retrieve an item")
def retrieve_item(stores: StoresDep, conversation_id: str, item_id: str) -> dict[str, Any]:
    return stores.conversations.get_item(conversation_id, item_id).wire()


@router.delete("/v1/conversations/<conversation_id>/items/<item_id>", summary="Delete an item")
def delete_item(stores: StoresDep, conversation_id: str, item_id: str) -> Conversation:
    return conversations.delete_item(stores, conversation_id, item_id)
