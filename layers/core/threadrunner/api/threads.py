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
from . import streams
from .dependencies import JobsDep, RunControlDep, RunStreamsDep, SettingsDep, StoresDep, ToolsDep
from .params import Cursor, Limit, Order, page
from .runs import with_poll_hint
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


@router.post("/v1/threads", summary="Create a thread")
def create_thread(stores: StoresDep, jobs: JobsDep, body: Annotated[ThreadCreate | None, Body()] = None) -> Thread:
    return threads.create_thread(stores, jobs, body or ThreadCreate())


@router.get("/v1/threads", summary="List threads (extension)")
def list_threads(
    stores: StoresDep, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Thread]:
    return ListObject.of(stores.threads.list_threads(page(limit, order, after, before)))


# Registered before /v1/threads/<thread_id>, which would take "runs" for an id.
@router.post("/v1/threads/runs", summary="Create a thread and run it", responses=streams.run_or_events(Run))
def create_thread_and_run(
    body: Annotated[ThreadAndRunCreate, Body()],
    stores: StoresDep,
    control: RunControlDep,
    tools: ToolsDep,
    jobs: JobsDep,
    settings: SettingsDep,
    run_streams: RunStreamsDep,
) -> Response[Any]:
    thread, run = threads.create_thread_and_run(stores, control, tools, jobs, body, settings.run_defaults)
    if body.stream:
        first = [StreamEvent("thread.created", thread), *streams.run_created(run)]
        return run_streams.answer(thread.id, run.id, first=first)
    return with_poll_hint(run, settings.poll_after_ms)


@router.get("/v1/threads/<thread_id>", summary="Retrieve a thread")
def retrieve_thread(thread_id: str, stores: StoresDep) -> Thread:
    return stores.threads.get_thread(thread_id)


@router.post("/v1/threads/<thread_id>", summary="Modify a thread")
def modify_thread(thread_id: str, body: Annotated[ThreadUpdate, Body()], stores: StoresDep, jobs: JobsDep) -> Thread:
    return threads.update_thread(stores, jobs, thread_id, body)


@router.delete("/v1/threads/<thread_id>", summary="Delete a thread and everything in it")
def delete_thread(thread_id: str, stores: StoresDep, control: RunControlDep) -> Deleted:
    threads.delete_thread(stores, control, thread_id)
    return Deleted(id=thread_id, object="thread.deleted")


@router.post("/v1/threads/<thread_id>/messages", summary="Create a message")
def create_message(thread_id: str, body: Annotated[MessageCreate, Body()], stores: StoresDep, jobs: JobsDep) -> Message:
    return messages.add_message(stores, jobs, thread_id, body)


@router.get("/v1/threads/<thread_id>/messages", summary="List messages")
def list_messages(
    thread_id: str,
    stores: StoresDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
    run_id: Annotated[str | None, Query(description="Only the messages of this run")] = None,
) -> ListObject[Message]:
    return ListObject.of(stores.threads.list_messages(thread_id, page(limit, order, after, before), run_id=run_id))


@router.get("/v1/threads/<thread_id>/messages/<message_id>", summary="Retrieve a message")
def retrieve_message(thread_id: str, message_id: str, stores: StoresDep) -> Message:
    return stores.threads.get_message(thread_id, message_id)


@router.post("/v1/threads/<thread_id>/messages/<message_id>", summary="Modify a message")
def modify_message(
    thread_id: str, message_id: str, body: Annotated[MessageUpdate, Body()], stores: StoresDep
) -> Message:
    return stores.threads.update_message(thread_id, message_id, given_fields(body))


@router.delete("/v1/threads/<thread_id>/messages/<message_id>", summary="Delete a message")
def delete_message(thread_id: str, message_id: str, stores: StoresDep) -> Deleted:
    stores.threads.delete_message(thread_id, message_id)
    return Deleted(id=message_id, object="thread.message.deleted")
