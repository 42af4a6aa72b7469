"""Server tools: the deployment's catalogue and a project's own Lambda tools, as a project sees them together;
and the tools a caller declares on an assistant or a run, checked against them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..domain import server_tools as declared
from ..domain.common import AssistantTool, FunctionDefinition, now
from ..domain.lambda_tools import MAX_PROJECT_TOOLS, TOOL_TAG, LambdaTool, LambdaToolCreate, may_serve, outside
from ..errors import Conflict, InvalidRequest, NotFound
from ..ports import Stores, ToolCatalogue, ToolInvoker


def server_tools(
    catalogue: ToolCatalogue, stores: Stores, names: Iterable[str] | None = None
) -> dict[str, FunctionDefinition]:
    """The server tools the project may declare, by name (every one, or those of ``names`` it has): its own
    Lambda tools over the deployment's."""
    deployment = catalogue.server_tools()
    if names is None:
        return dict(deployment) | {tool.name: tool.definition for tool in stores.tools.list_tools()}
    found = {}
    for name in set(names):
        try:
            found[name] = stores.tools.get_tool(name).definition
        except NotFound:
            if name in deployment:
                found[name] = deployment[name]
    return found


def check_tools(catalogue: ToolCatalogue, stores: Stores, tools: Sequence[AssistantTool]) -> None:
    """Refuse unknown server tools and clashing function names; the catalogue is asked only when server tools
    are declared."""
    names = declared.server_tool_names(tools)
    declared.check_tools(tools, server_tools(catalogue, stores, names) if names else {})


def register_tool(
    stores: Stores, catalogue: ToolCatalogue, functions: ToolInvoker, body: LambdaToolCreate, functions_arn: str
) -> LambdaTool:
    """Make a Lambda function one of the project's server tools; ``functions_arn`` matches the deployment's
    functions (``arn:<partition>:lambda:<region>:<account>:function:*``).

    Raises
    ------
    InvalidRequest
        When the function is not one of the deployment's, or not tagged as a tool of this project (or of every
        project).
    Conflict
        When the project, or the deployment, has a tool of that name.
    """
    if body.name in ("file_search", "code_interpreter") or body.name in catalogue.server_tools():
        raise Conflict(f"A server tool named '{body.name}' is the deployment's; choose another name.", param="name")
    if len(stores.tools.list_tools()) >= MAX_PROJECT_TOOLS:
        raise InvalidRequest(
            f"A project may register at most {MAX_PROJECT_TOOLS} server tools; delete one first.",
            code="too_many_server_tools",
        )
    part = outside(body.function_arn, functions_arn)
    if part is not None:
        raise InvalidRequest(
            f"The function must be one of this deployment's: {body.function_arn} is in another AWS {part}.",
            param="function_arn",
            code="function_outside_deployment",
        )
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
