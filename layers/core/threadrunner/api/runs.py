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
from . import streams
from .dependencies import JobsDep, RunControlDep, RunStreamsDep, SettingsDep, StoresDep, ToolsDep
from .params import Cursor, Limit, Order, page
from .wire import ListObject

router = APIGatewayHttpRouter()


def with_poll_hint(run: Run, poll_after_ms: int) -> Response[Run]:
    """The run, with the ``openai-poll-after-ms`` header the hosted API gave pollers while a run was unfinished."""
    headers = {} if run.is_terminal else {"openai-poll-after-ms": str(poll_after_ms)}
    return Response(status_code=200, content_type="application/json", body=run, headers=headers)


@router.post("/v1/threads/<thread_id>/runs", summary="Create a run", responses=streams.run_or_events(Run))
def create_run(
    thread_id: str,
    body: Annotated[RunCreate, Body()],
    stores: StoresDep,
    control: RunControlDep,
    tools: ToolsDep,
    jobs: JobsDep,
    settings: SettingsDep,
    run_streams: RunStreamsDep,
) -> Response[Any]:
    run = runs.create_run(stores, control, tools, jobs, thread_id, body, settings.run_defaults)
    if body.stream:
        first = streams.run_created(run)
        return run_streams.answer(thread_id, run.id, first=first, with_contents=_with_contents())
    return with_poll_hint(run, settings.poll_after_ms)


@router.get("/v1/threads/<thread_id>/runs", summary="List runs")
def list_runs(
    thread_id: str,
    stores: StoresDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[Run]:
    return ListObject.of(stores.runs.list_runs(thread_id, page(limit, order, after, before)))


@router.get("/v1/threads/<thread_id>/runs/<run_id>", summary="Retrieve a run")
def retrieve_run(thread_id: str, run_id: str, stores: StoresDep, settings: SettingsDep) -> Response[Run]:
    return with_poll_hint(stores.runs.get_run(thread_id, run_id), settings.poll_after_ms)


@router.post("/v1/threads/<thread_id>/runs/<run_id>", summary="Modify a run")
def modify_run(
    thread_id: str, run_id: str, body: Annotated[RunUpdate, Body()], stores: StoresDep, settings: SettingsDep
) -> Response[Run]:
    return with_poll_hint(stores.runs.update_run(thread_id, run_id, body.metadata), settings.poll_after_ms)


@router.post("/v1/threads/<thread_id>/runs/<run_id>/cancel", summary="Cancel a run")
def cancel_run(
    thread_id: str, run_id: str, stores: StoresDep, control: RunControlDep, settings: SettingsDep
) -> Response[Run]:
    return with_poll_hint(runs.cancel_run(stores, control, thread_id, run_id), settings.poll_after_ms)


@router.post(
    "/v1/threads/<thread_id>/runs/<run_id>/submit_tool_outputs",
    summary="Submit tool outputs",
    responses=streams.run_or_events(Run),
)
def submit_tool_outputs(
    thread_id: str,
    run_id: str,
    body: Annotated[SubmitToolOutputsRequest, Body()],
    stores: StoresDep,
    control: RunControlDep,
    settings: SettingsDep,
    run_streams: RunStreamsDep,
) -> Response[Any]:
    # What the client saw before its outputs: the stream shows what follows them.
    snapshot = Snapshot.of(stores, thread_id, run_id) if body.stream else None
    run = runs.submit_tool_outputs(stores, control, thread_id, run_id, body, settings.max_tool_output_bytes)
    if snapshot is not None:
        return run_streams.answer(thread_id, run_id, snapshot=snapshot)
    return with_poll_hint(run, settings.poll_after_ms)


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
    thread_id: str,
    run_id: str,
    stores: StoresDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[RunStep]:
    listed = stores.steps.list_steps(thread_id, run_id, page(limit, order, after, before))
    return ListObject.of(listed.model_copy(update={"data": [_shown(step) for step in listed.data]}))


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps/<step_id>", summary="Retrieve a run step")
def retrieve_run_step(thread_id: str, run_id: str, step_id: str, stores: StoresDep) -> RunStep:
    return _shown(stores.steps.get_step(thread_id, run_id, step_id))
