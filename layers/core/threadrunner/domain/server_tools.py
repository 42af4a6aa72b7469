"""Which tools of an assistant or a run are the server's: a threadrunner extension of the ``function`` tool.

Every ``function`` tool is the client's, whatever its name, as in the hosted API: the run stops
in ``requires_action`` for it. A server tool is chosen explicitly, by a ``function`` tool whose
name is ``threadrunner:<name>`` and that carries nothing else::

    {"type": "function", "function": {"name": "threadrunner:get_weather"}}

The hosted API refused such names (function names are letters, digits, ``_`` and ``-``), so no
client function can be mistaken for one, and the declaration is an ordinary function tool that
every SDK and LangChain pass through unchanged. Its description and JSON schema come from the
server's registry; the model sees the tool under its registry name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidRequest
from .common import (
    SERVER_TOOL_PREFIX,
    AssistantTool,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionDefinition,
    FunctionTool,
)


def server_tool_name(tool: AssistantTool) -> str | None:
    """The registry name of the server tool ``tool`` declares, or ``None`` for any other tool."""
    if isinstance(tool, FunctionTool) and tool.function.name.startswith(SERVER_TOOL_PREFIX):
        return tool.function.name.removeprefix(SERVER_TOOL_PREFIX)
    return None


def server_tool_names(tools: Sequence[AssistantTool]) -> list[str]:
    """The registry names of the server tools among ``tools``, in order."""
    return [name for tool in tools if (name := server_tool_name(tool)) is not None]


def client_functions(tools: Sequence[AssistantTool]) -> list[FunctionDefinition]:
    """The function tools the client answers: every function tool that is not a server tool."""
    return [tool.function for tool in tools if isinstance(tool, FunctionTool) and server_tool_name(tool) is None]


def declaration(name: str) -> dict[str, object]:
    """How a client declares the server tool ``name`` on an assistant or a run."""
    return {"type": "function", "function": {"name": SERVER_TOOL_PREFIX + name}}


def check_tools(tools: Sequence[AssistantTool], catalogue: Mapping[str, FunctionDefinition]) -> None:
    """Refuse server tools the registry does not have, and two functions the model would see under one name.

    Raises
    ------
    InvalidRequest
        With the parameter path of the first offending tool.
    """
    for index, tool in enumerate(tools):
        name = server_tool_name(tool)
        if name is not None and name not in catalogue:
            raise InvalidRequest(
                f"No server tool named '{name}'; GET /v1/server_tools lists the server tools.",
                param=f"tools[{index}].function.name",
                code="unknown_server_tool",
            )
    seen = [tool.function.name.removeprefix(SERVER_TOOL_PREFIX) for tool in tools if isinstance(tool, FunctionTool)]
    if any(isinstance(tool, FileSearchTool) for tool in tools):
        seen.append("file_search")  # what the model calls to search
    if any(isinstance(tool, CodeInterpreterTool) for tool in tools):
        seen.append("code_interpreter")  # what the model calls to run code
    repeated = sorted(name for name, count in Counter(seen).items() if count > 1)
    if repeated:
        raise InvalidRequest(
            f"Tools must have unique names: {', '.join(repeated)} is declared more than once "
            "(a client function and a server tool cannot share a name).",
            param="tools",
        )


def check_tool_choice(tools: Sequence[AssistantTool], choice: Any) -> None:
    """Refuse a ``tool_choice`` that names a function the run does not declare: the model could never call it."""
    name = _chosen_function(choice)
    if name is not None and name not in {tool.function.name for tool in tools if isinstance(tool, FunctionTool)}:
        raise InvalidRequest(
            f"The tool_choice names the function '{name}', which is not one of the run's tools.",
            param="tool_choice",
            code="invalid_tool_choice",
        )


def model_tool_choice(choice: Any) -> Any:
    """A run's ``tool_choice`` as the model sees it: a server tool under its registry name."""
    name = _chosen_function(choice)
    if name is None or not name.startswith(SERVER_TOOL_PREFIX):
        return choice
    return {"type": "function", "function": {"name": name.removeprefix(SERVER_TOOL_PREFIX)}}


def _chosen_function(choice: Any) -> str | None:
    if hasattr(choice, "model_dump"):
        choice = choice.model_dump()
    if isinstance(choice, dict) and choice.get("type") == "function":
        return str((choice.get("function") or {}).get("name") or "")
    return None
