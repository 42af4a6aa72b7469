"""``/v1/threads`` and ``/v1/threads/{thread_id}/messages``."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from .. import service
from ..domain.message import Message
from ..domain.pagination import PageRequest
from ..domain.thread import Thread
from . import context
from .requests import MessageCreate, ThreadCreate
from .wire import ListObject

router = APIGatewayHttpRouter()

Limit = Annotated[int, Query(ge=1, le=100, description="How many objects, 1 to 100")]
Order = Annotated[Literal["asc", "desc"], Query(description="Sort by creation time")]
Cursor = Annotated[str | None, Query(description="An object id to page from")]


@router.post("/v1/threads", summary="Create a thread")
def create_thread(body: Annotated[ThreadCreate | None, Body()] = None) -> Thread:
    return service.create_thread(context.store(router), body or ThreadCreate())


@router.get("/v1/threads/<thread_id>", summary="Retrieve a thread")
def retrieve_thread(thread_id: str) -> Thread:
    return context.store(router).get_thread(thread_id)


@router.post("/v1/threads/<thread_id>/messages", summary="Create a message")
def create_message(thread_id: str, body: Annotated[MessageCreate, Body()]) -> Message:
    return service.add_message(context.store(router), thread_id, body)


@router.get("/v1/threads/<thread_id>/messages", summary="List messages")
def list_messages(
    thread_id: str,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
    run_id: Annotated[str | None, Query(description="Only the messages of this run")] = None,
) -> ListObject[Message]:
    page = PageRequest(limit=limit, order=order, after=after, before=before)
    return ListObject.of(context.store(router).list_messages(thread_id, page, run_id=run_id))
