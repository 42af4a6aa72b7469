"""``/v1/assistants``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import assistants
from ..app.requests.assistants import AssistantCreate, AssistantUpdate
from ..domain.assistant import Assistant
from .dependencies import JobsDep, StoresDep, ToolsDep
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


@router.post("/v1/assistants", summary="Create an assistant")
def create_assistant(
    body: Annotated[AssistantCreate, Body()], stores: StoresDep, tools: ToolsDep, jobs: JobsDep
) -> Assistant:
    return assistants.create_assistant(stores, tools, jobs, body)


@router.get("/v1/assistants", summary="List assistants")
def list_assistants(
    stores: StoresDep, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[Assistant]:
    return ListObject.of(stores.assistants.list_assistants(page(limit, order, after, before)))


@router.get("/v1/assistants/<assistant_id>", summary="Retrieve an assistant")
def retrieve_assistant(assistant_id: str, stores: StoresDep) -> Assistant:
    return stores.assistants.get_assistant(assistant_id)


@router.post("/v1/assistants/<assistant_id>", summary="Modify an assistant")
def modify_assistant(
    assistant_id: str, body: Annotated[AssistantUpdate, Body()], stores: StoresDep, tools: ToolsDep, jobs: JobsDep
) -> Assistant:
    return assistants.update_assistant(stores, tools, jobs, assistant_id, body)


@router.delete("/v1/assistants/<assistant_id>", summary="Delete an assistant")
def delete_assistant(assistant_id: str, stores: StoresDep) -> Deleted:
    stores.assistants.delete_assistant(assistant_id)
    return Deleted(id=assistant_id, object="assistant.deleted")
