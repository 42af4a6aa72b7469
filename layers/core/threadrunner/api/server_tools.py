"""``/v1/server_tools``: the catalogue of server tools an assistant or a run may declare (extension)."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..domain.common import SERVER_TOOL_PREFIX
from ..domain.pagination import Page
from . import context
from .wire import ListObject

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


@router.get("/v1/server_tools", summary="List the server tools (extension)")
def list_server_tools() -> ListObject[ServerTool]:
    tools = context.tools(router).server_tools()
    listed = [
        ServerTool(id=SERVER_TOOL_PREFIX + name, name=name, description=tool.description, parameters=tool.parameters)
        for name, tool in sorted(tools.items())
    ]
    return ListObject.of(Page(data=listed, has_more=False))
