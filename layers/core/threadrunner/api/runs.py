"""``/v1/threads/{thread_id}/runs`` and their steps."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from .. import service
from ..domain.pagination import PageRequest
from ..domain.run import Run
from ..domain.run_step import RunStep
from . import context
from .requests import RunCreate
from .threads import Cursor, Limit, Order
from .wire import ListObject

router = APIGatewayHttpRouter()


def _with_poll_hint(run: Run) -> Response[Run]:
    # The hosted API told pollers when to ask again; the openai SDK's poll helpers follow it.
    headers = {} if run.is_terminal else {"openai-poll-after-ms": str(context.settings(router).poll_after_ms)}
    return Response(status_code=200, content_type="application/json", body=run, headers=headers)


@router.post("/v1/threads/<thread_id>/runs", summary="Create a run")
def create_run(thread_id: str, body: Annotated[RunCreate, Body()]) -> Response[Run]:
    run = service.create_run(
        context.store(router), context.launcher(router), thread_id, body, context.settings(router).model_override
    )
    return _with_poll_hint(run)


@router.get("/v1/threads/<thread_id>/runs/<run_id>", summary="Retrieve a run")
def retrieve_run(thread_id: str, run_id: str) -> Response[Run]:
    return _with_poll_hint(context.store(router).get_run(thread_id, run_id))


@router.get("/v1/threads/<thread_id>/runs/<run_id>/steps", summary="List run steps")
def list_run_steps(
    thread_id: str, run_id: str, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[RunStep]:
    page = PageRequest(limit=limit, order=order, after=after, before=before)
    return ListObject.of(context.store(router).list_steps(thread_id, run_id, page))
