"""``/v1/threads`` (and its listing, an extension), ``/v1/threads/runs`` and ``/v1/threads/{thread_id}/messages``."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import messages, threads
from ..app.requests.common import given_fields
from ..app.requests.messages import MessageCreate, MessageUpdate
from ..app.requests.runs import ThreadAndRunCreate
from ..app.requests.threads import ThreadCreate, ThreadUpdate
from ..domain.message import Message
from ..domain.run import Run
from ..domain.stream import StreamEvent
from ..domain.thread import Thread
from . import context, streams
from .params import Cursor, Limit, Order, page
from .runs import with_poll_hint
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


@router.post("/v1/threads", summary="Create a thread")
def create_thread(body: Annotated[ThreadCreate | None, Body()] = None) -> Thread:
    return threads.create_thread(context.stores(router), context.jobs(router), body or ThreadCreate())


@router.get("/v1/threads", summary="List threads (extension)")
def list_threads(
    limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Thread]:
    return ListObject.of(context.stores(router).threads.list_threads(page(limit, order, after, before)))


# Registered before /v1/threads/<thread_id>, which would take "runs" for an id.
@router.post("/v1/threads/runs", summary="Create a thread and run it", responses=streams.run_or_events(Run))
def create_thread_and_run(body: Annotated[ThreadAndRunCreate, Body()]) -> Response[Any]:
    stores, control, tools = context.stores(router), context.run_control(router), context.tools(router)
    jobs = context.jobs(router)
    thread, run = threads.create_thread_and_run(stores, control, tools, jobs, body, context.run_defaults(router))
    if body.stream:
        first = [StreamEvent("thread.created", thread), *streams.run_created(run)]
        return streams.answer(router, thread.id, run.id, first=first)
    return with_poll_hint(run, context.settings(router).poll_after_ms)


@router.get("/v1/threads/<thread_id>", summary="Retrieve a thread")
def retrieve_thread(thread_id: str) -> Thread:
    return context.stores(router).threads.get_thread(thread_id)


@router.post("/v1/threads/<thread_id>", summary="Modify a thread")
def modify_thread(thread_id: str, body: Annotated[ThreadUpdate, Body()]) -> Thread:
    return threads.update_thread(context.stores(router), context.jobs(router), thread_id, body)


@router.delete("/v1/threads/<thread_id>", summary="Delete a thread and everything in it")
def delete_thread(thread_id: str) -> Deleted:
    threads.delete_thread(context.stores(router), context.run_control(router), thread_id)
    return Deleted(id=thread_id, object="thread.deleted")


@router.post("/v1/threads/<thread_id>/messages", summary="Create a message")
def create_message(thread_id: str, body: Annotated[MessageCreate, Body()]) -> Message:
    return messages.add_message(context.stores(router), context.jobs(router), thread_id, body)


@router.get("/v1/threads/<thread_id>/messages", summary="List messages")
def list_messages(
    thread_id: str,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
    run_id: Annotated[str | None, Query(description="Only the messages of this run")] = None,
) -> ListObject[Message]:
    messages = context.stores(router).threads.list_messages(thread_id, page(limit, order, after, before), run_id=run_id)
    return ListObject.of(messages)


@router.get("/v1/threads/<thread_id>/messages/<message_id>", summary="Retrieve a message")
def retrieve_message(thread_id: str, message_id: str) -> Message:
    return context.stores(router).threads.get_message(thread_id, message_id)


@router.post("/v1/threads/<thread_id>/messages/<message_id>", summary="Modify a message")
def modify_message(thread_id: str, message_id: str, body: Annotated[MessageUpdate, Body()]) -> Message:
    return context.stores(router).threads.update_message(thread_id, message_id, given_fields(body))


@router.delete("/v1/threads/<thread_id>/messages/<message_id>", summary="Delete a message")
def delete_message(thread_id: str, message_id: str) -> Deleted:
    context.stores(router).threads.delete_message(thread_id, message_id)
    return Deleted(id=message_id, object="thread.message.deleted")
