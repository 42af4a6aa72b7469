"""Prompts: versioned templates of a response's instructions, model and tools, which ``prompt: {"id", "version",
"variables"}`` in ``POST /v1/responses`` names (an extension under ``/v1/prompts``; docs/forwarding.md, "Prompts").

OpenAI kept such prompts in its dashboard until 2026-11-30; threadrunner keeps them in the project. An assistant's
id names its assistant as a prompt: its instructions, model and tools.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from ..errors import InvalidRequest
from .assistant import Assistant
from .common import CodeInterpreterTool, FunctionTool, Metadata, WireModel
from .server_tools import server_tool_name

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}")
"""A variable in a template: ``{{name}}``, spaces inside the braces allowed."""
MAX_TOOLS = 128
MAX_INSTRUCTIONS = 256_000
MAX_VERSIONS = 10_000
"""Versions one prompt may have: the sort key holds the number in five digits."""


class Prompt(WireModel):
    """One version of a prompt (an extension: the hosted prompts had no API)."""

    id: str
    """The identifier, ``pmpt_...``, the same for every version."""
    object: Literal["prompt"] = "prompt"
    version: str
    """The version: ``"1"``, ``"2"``, ... in the order they were made."""
    created_at: int
    """Unix seconds when this version was made."""
    name: str | None = None
    """A name for people, up to 256 characters."""
    instructions: str = ""
    """The instructions' template: ``{{name}}`` takes the response's ``prompt.variables[name]``."""
    model: str | None = None
    """The model a response uses unless it names one."""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """The tools a response offers unless it names its own, as the Responses API writes them."""
    variables: list[str] = Field(default_factory=list)
    """The variables the instructions name, in order."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""


def variables_of(template: str) -> list[str]:
    """The variables a template names, each once, in order."""
    return list(dict.fromkeys(VARIABLE.findall(template)))


def filled(template: str, values: Any, names: list[str]) -> str:
    """The template with each ``{{name}}`` replaced by its value: a string or an ``input_text`` part.

    Raises
    ------
    InvalidRequest
        ``param: "prompt.variables"`` when a variable has no value, a value is neither text nor a text part, or a
        value names no variable of the template.
    """
    given = values if isinstance(values, dict) else {}
    if values is not None and not isinstance(values, dict):
        raise InvalidRequest("'prompt.variables' must be an object: names and values.", param="prompt.variables")
    missing = [name for name in names if name not in given]
    if missing:
        raise InvalidRequest(f"Missing prompt variables: {', '.join(missing)}.", param="prompt.variables")
    unknown = [name for name in given if name not in names]
    if unknown:
        raise InvalidRequest(
            f"Unknown prompt variables: {', '.join(str(name)[:64] for name in unknown[:5])}.",
            param="prompt.variables",
        )
    texts = {}
    for name in names:
        value = given[name]
        if isinstance(value, dict) and value.get("type") == "input_text" and isinstance(value.get("text"), str):
            value = value["text"]
        if not isinstance(value, str):
            raise InvalidRequest(
                f"The prompt variable '{name}' must be text (a string or an input_text part): the instructions "
                "are text.",
                param=f"prompt.variables.{name}",
            )
        texts[name] = value
    # One pass, so a value that holds {{another}} is text, never filled again.
    return VARIABLE.sub(lambda match: texts.get(match.group(1), match.group(0)), template)


def applied(prompt: Prompt, variables: Any, body: dict[str, Any]) -> dict[str, Any]:
    """A response's request with its prompt applied: the filled instructions, the model and the tools, each where
    the request does not give its own."""
    instructions = filled(prompt.instructions, variables, prompt.variables)
    applied_body = {key: value for key, value in body.items() if key != "prompt"}
    if body.get("instructions") is None and instructions:
        applied_body["instructions"] = instructions
    if body.get("model") is None and prompt.model:
        applied_body["model"] = prompt.model
    if body.get("tools") is None and prompt.tools:
        applied_body["tools"] = prompt.tools
    return applied_body


def assistant_prompt(assistant: Assistant) -> Prompt:
    """An assistant read as a prompt: its instructions, model and tools in the Responses API's words.

    Raises
    ------
    InvalidRequest
        When the assistant uses a tool only runs serve (``file_search`` over its vector stores, a server tool):
        a response cannot run it.
    """
    tools: list[dict[str, Any]] = []
    for tool in assistant.tools:
        if isinstance(tool, FunctionTool) and server_tool_name(tool) is None:
            tools.append({"type": "function", **tool.function.model_dump(exclude_none=True)})
        elif isinstance(tool, CodeInterpreterTool):
            tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
        else:
            used = "file_search" if not isinstance(tool, FunctionTool) else tool.function.name
            raise InvalidRequest(
                f"The assistant '{assistant.id}' uses {used}, which threadrunner runs in runs only: a response "
                "cannot use it. Run the assistant on a thread, or name a prompt without it.",
                param="prompt.id",
            )
    return Prompt(
        id=assistant.id,
        version="1",
        created_at=assistant.created_at,
        name=assistant.name,
        instructions=assistant.instructions or "",
        model=assistant.model,
        tools=tools,
        variables=[],  # written for runs, which fill nothing: braces in them are text
    )


def reference(prompt: dict[str, Any], version: str | None) -> dict[str, Any]:
    """The ``prompt`` a response answers with: the id, the version used and the variables given."""
    return {"id": prompt.get("id"), "version": version, "variables": prompt.get("variables")}
