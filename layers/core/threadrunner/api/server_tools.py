"""``/v1/server_tools``: the server tools an assistant or a run may declare, and a project's own Lambda tools
(extension)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app import tools
from ..domain.common import SERVER_TOOL_PREFIX, FunctionDefinition
from ..domain.lambda_tools import TOOL_NAME, LambdaTool, LambdaToolCreate
from ..domain.pagination import Page
from ..domain.tools import RetryPolicy
from ..errors import InvalidRequest, NotFound
from .dependencies import FunctionsDep, SettingsDep, StoresDep, ToolsDep
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


class ServerTool(BaseModel):
    id: str
    """What a ``function`` tool of an assistant or a run names to declare it: ``threadrunner:<name>``."""
    object: Literal["server_tool"] = "server_tool"
    name: str
    """The name the model calls it by, and run steps show."""
    description: str | None
    """What it does, for the model."""
    parameters: dict[str, Any] | None
    """The JSON schema of its arguments."""
    scope: Literal["deployment", "project"]
    """The deployment's (every project has it), or this project's own Lambda tool."""
    function_arn: str | None = None
    """A project's Lambda tool: its function."""
    timeout_seconds: int | None = None
    retry: RetryPolicy | None = None
    output_schema: dict[str, Any] | None = None
    created_at: int | None = None

    @classmethod
    def of(cls, name: str, definition: FunctionDefinition, own: LambdaTool | None) -> ServerTool:
        details = {"function_arn", "timeout_seconds", "retry", "output_schema", "created_at"}
        return cls(
            id=SERVER_TOOL_PREFIX + name,
            name=name,
            description=definition.description,
            parameters=definition.parameters,
            scope="project" if own else "deployment",
            **(own.model_dump(include=details) if own else {}),
        )


@router.get("/v1/server_tools", summary="List the server tools (extension)")
def list_server_tools(stores: StoresDep, catalogue: ToolsDep) -> ListObject[ServerTool]:
    own = {tool.name: tool for tool in stores.tools.list_tools()}
    every = tools.server_tools(catalogue, stores)
    listed = [ServerTool.of(name, every[name], own.get(name)) for name in sorted(every)]
    return ListObject.of(Page(data=listed, has_more=False))


@router.post("/v1/server_tools", summary="Register a Lambda function as a server tool (extension)")
def register_server_tool(
    body: Annotated[LambdaToolCreate, Body()],
    stores: StoresDep,
    catalogue: ToolsDep,
    functions: FunctionsDep,
    settings: SettingsDep,
) -> ServerTool:
    tool = tools.register_tool(stores, catalogue, functions, body, settings.functions_arn)
    return ServerTool.of(tool.name, tool.definition, tool)


@router.get("/v1/server_tools/<name>", summary="Retrieve a server tool (extension)")
def retrieve_server_tool(name: str, stores: StoresDep, catalogue: ToolsDep) -> ServerTool:
    if not re.fullmatch(TOOL_NAME, name):
        raise NotFound("server tool", name)
    try:
        own = stores.tools.get_tool(name)
    except NotFound:
        deployment = catalogue.server_tools()
        if name not in deployment:
            raise
        return ServerTool.of(name, deployment[name], None)
    return ServerTool.of(name, own.definition, own)


@router.delete("/v1/server_tools/<name>", summary="Deregister a project's Lambda tool (extension)")
def delete_server_tool(name: str, stores: StoresDep, catalogue: ToolsDep) -> Deleted:
    if not re.fullmatch(TOOL_NAME, name):
        raise NotFound("server tool", name)
    try:
        stores.tools.delete_tool(name)
    except NotFound:
        if name in catalogue.server_tools():
            raise InvalidRequest(
                f"The server tool '{name}' is the deployment's: it is removed with the deployment, not here.",
                param="name",
            ) from None
        raise
    return Deleted(id=SERVER_TOOL_PREFIX + name, object="server_tool.deleted")
