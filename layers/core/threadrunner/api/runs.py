"""``/v1/threads/{thread_id}/runs`` and their steps."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from .. import service
from ..domain.run import Run
from ..domain.run_step import RunStep
from . import context
from .params import Cursor, Limit, Order, page
from .requests import RunCreate, RunUpdate, SubmitToolOutputsRequest
from .wire import ListObject

router = APIGatewayHttpRouter()


def with_poll_hint(run: Run, poll_after_ms: int) -> Response[Run]:
    """The run, with the ``openai-poll-after-ms`` header the hosted API gave pollers while a run was unfinished."""
    headers = {} if run.is_terminal else {"openai-poll-after-ms": str(poll_after_ms)}
    return Response(status_code=200, content_type="application/json", body=run, headers=headers)


def _answer(run: Run) -> Response[Run]:
    return with_poll_hint(run, context.settings(router).poll_after_ms)


@router.post("/v1/threads/<thread_id>/runs", summary="Create a run")
def create_run(thread_id: str, body: Annotated[RunCreate, Body()]) -> Response[Run]:
    store, defaults = context.store(router), context.run_defaults(router)
    return _answer(service.create_run(store, context.loop(router), context.tools(router), thread_id, body, defaults))


@router.get("/v1/threads/<thread_id>/runs", summary="List runs")
def list_runs(
    thread_id: str, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Run]:
    return ListObject.of(context.store(router).list_runs(thread_id, page(limit, order, after, before)))


@router.get("/v1/threads/<thread_id>/runs/<run_id>", summary="Retrieve a run")
def retrieve_run(thread_id: str, run_id: str) -> Response[Run]:
    return _answer(context.store(router).get_run(thread_id, run_id))


@router.post("/v1/threads/<thread_id>/runs/<run_id>", summary="Modify a run")
def modify_run(thread_id: str, run_id: str, body: Annotated[RunUpdate, Body()]) -> Response[Run]:
    return _answer(context.store(router).update_run(thread_id, run_id, service.given_fields(body)))


@router.post("/v1/threads/<thread_id>/runs/<run_id>/cancel", summary="Cancel a run")
def cancel_run(thread_id: str, run_id: str) -> Response[Run]:
    return _answer(service.cancel_run(context.store(router), context.loop(router), thread_id, run_id))


@router.post("/v1/threads/<thread_id>/runs/<run_id>/submit_tool_outputs", summary="Submit tool outputs")
def submit_tool_outputs(
    thread_id: str, run_id: str, body: Annotated[SubmitToolOutputsRequest, Body()]
) -> Response[Run]:
    store = context.store(router)
    limit = context.settings(router).max_tool_output_bytes
    return _answer(service.submit_tool_outputs(store, context.loop(router), thread_id, run_id, body, limit))


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps", summary="List run steps")
def list_run_steps(
    thread_id: str, run_id: str, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[RunStep]:
    return ListObject.of(context.store(router).list_steps(thread_id, run_id, page(limit, order, after, before)))


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps/<step_id>", summary="Retrieve a run step")
def retrieve_run_step(thread_id: str, run_id: str, step_id: str) -> RunStep:
    return context.store(router).get_step(thread_id, run_id, step_id)
