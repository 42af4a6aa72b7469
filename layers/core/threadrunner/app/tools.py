"""Server tools: the deployment's catalogue and a project's own Lambda tools, as a project sees them together;
and the tools a caller declares on an assistant or a run, checked against them."""

from __future__ import annotations

from collections.abc import Sequence

from ..domain import server_tools as declared
from ..domain.common import AssistantTool, FunctionDefinition, now
from ..domain.lambda_tools import TOOL_TAG, LambdaTool, LambdaToolCreate, may_serve
from ..errors import Conflict, InvalidRequest
from ..ports import Stores, ToolCatalogue, ToolInvoker


def server_tools(catalogue: ToolCatalogue, stores: Stores) -> dict[str, FunctionDefinition]:
    """Every server tool the project may declare, by name: its own Lambda tools over the deployment's."""
    return dict(catalogue.server_tools()) | {tool.name: tool.definition for tool in stores.tools.list_tools()}


def check_tools(catalogue: ToolCatalogue, stores: Stores, tools: Sequence[AssistantTool]) -> None:
    """Refuse unknown server tools and clashing function names; the catalogue is asked only when server tools
    are declared."""
    declared.check_tools(tools, server_tools(catalogue, stores) if declared.server_tool_names(tools) else {})


def register_tool(
    stores: Stores, catalogue: ToolCatalogue, functions: ToolInvoker, body: LambdaToolCreate
) -> LambdaTool:
    """Make a Lambda function one of the project's server tools.

    Raises
    ------
    InvalidRequest
        When the function is not tagged as a tool of this project (or of every project).
    Conflict
        When the project, or the deployment, has a tool of that name.
    """
    if body.name == "file_search" or body.name in catalogue.server_tools():
        raise Conflict(f"A server tool named '{body.name}' is the deployment's; choose another name.", param="name")
    if not may_serve(functions.tags_of(body.function_arn), stores.project):
        raise InvalidRequest(
            f"The function must be in this deployment's account and tagged '{TOOL_TAG}' with this project's id "
            "(or '*') to be one of its tools.",
            param="function_arn",
            code="function_not_a_tool",
        )
    tool = LambdaTool(**body.model_dump(), created_at=now())
    stores.tools.put_tool(tool)
    return tool
