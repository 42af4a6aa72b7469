"""``/v1/threads/{thread_id}/runs`` and their steps."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import runs
from ..app.requests.runs import RunCreate, RunUpdate, SubmitToolOutputsRequest
from ..app.run_stream import Snapshot
from ..domain.run import Run
from ..domain.run_step import RunStep, without_contents
from . import context, streams
from .params import Cursor, Limit, Order, page
from .wire import ListObject

router = APIGatewayHttpRouter()


def with_poll_hint(run: Run, poll_after_ms: int) -> Response[Run]:
    """The run, with the ``openai-poll-after-ms`` header the hosted API gave pollers while a run was unfinished."""
    headers = {} if run.is_terminal else {"openai-poll-after-ms": str(poll_after_ms)}
    return Response(status_code=200, content_type="application/json", body=run, headers=headers)


def _answer(run: Run) -> Response[Run]:
    return with_poll_hint(run, context.settings(router).poll_after_ms)


@router.post("/v1/threads/<thread_id>/runs", summary="Create a run", responses=streams.run_or_events(Run))
def create_run(thread_id: str, body: Annotated[RunCreate, Body()]) -> Response[Any]:
    stores, defaults = context.stores(router), context.run_defaults(router)
    control, tools, jobs = context.run_control(router), context.tools(router), context.jobs(router)
    run = runs.create_run(stores, control, tools, jobs, thread_id, body, defaults)
    if body.stream:
        first = streams.run_created(run)
        return streams.answer(router, thread_id, run.id, first=first, with_contents=_with_contents())
    return _answer(run)


@router.get("/v1/threads/<thread_id>/runs", summary="List runs")
def list_runs(
    thread_id: str, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Run]:
    return ListObject.of(context.stores(router).runs.list_runs(thread_id, page(limit, order, after, before)))


@router.get("/v1/threads/<thread_id>/runs/<run_id>", summary="Retrieve a run")
def retrieve_run(thread_id: str, run_id: str) -> Response[Run]:
    return _answer(context.stores(router).runs.get_run(thread_id, run_id))


@router.post("/v1/threads/<thread_id>/runs/<run_id>", summary="Modify a run")
def modify_run(thread_id: str, run_id: str, body: Annotated[RunUpdate, Body()]) -> Response[Run]:
    return _answer(context.stores(router).runs.update_run(thread_id, run_id, body.metadata))


@router.post("/v1/threads/<thread_id>/runs/<run_id>/cancel", summary="Cancel a run")
def cancel_run(thread_id: str, run_id: str) -> Response[Run]:
    return _answer(runs.cancel_run(context.stores(router), context.run_control(router), thread_id, run_id))


@router.post(
    "/v1/threads/<thread_id>/runs/<run_id>/submit_tool_outputs",
    summary="Submit tool outputs",
    responses=streams.run_or_events(Run),
)
def submit_tool_outputs(
    thread_id: str, run_id: str, body: Annotated[SubmitToolOutputsRequest, Body()]
) -> Response[Any]:
    stores = context.stores(router)
    limit = context.settings(router).max_tool_output_bytes
    # What the client saw before its outputs: the stream shows what follows them.
    snapshot = Snapshot.of(stores, thread_id, run_id) if body.stream else None
    run = runs.submit_tool_outputs(stores, context.run_control(router), thread_id, run_id, body, limit)
    if snapshot is not None:
        return streams.answer(router, thread_id, run_id, snapshot=snapshot)
    return _answer(run)


INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
"""The ``include[]`` that asks for the passages ``file_search`` found, as the hosted API named it."""


def _with_contents() -> bool:
    """Whether ``include[]`` asks for the passages of file_search steps."""
    return INCLUDE_CONTENT in (router.current_event.get_query_string_value("include[]") or "").split(",")


def _shown(step: RunStep) -> RunStep:
    """The step, with file_search passages only when ``include[]`` asks for them."""
    return step if _with_contents() else without_contents(step)


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps", summary="List run steps")
def list_run_steps(
    thread_id: str, run_id: str, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[RunStep]:
    listed = context.stores(router).steps.list_steps(thread_id, run_id, page(limit, order, after, before))
    return ListObject.of(listed.model_copy(update={"data": [_shown(step) for step in listed.data]}))


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps/<step_id>", summary="Retrieve a run step")
def retrieve_run_step(thread_id: str, run_id: str, step_id: str) -> RunStep:
    return _shown(context.stores(router).steps.get_step(thread_id, run_id, step_id))
