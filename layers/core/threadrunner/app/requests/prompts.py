"""Request bodies of ``/v1/prompts`` (an extension): a prompt's first version, and each next one."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from ...domain.common import Metadata
from ...domain.prompts import MAX_INSTRUCTIONS, MAX_TOOLS
from .common import Request


class PromptCreate(Request):
    name: Annotated[str, Field(max_length=256)] | None = None
    instructions: Annotated[str, Field(max_length=MAX_INSTRUCTIONS)] = ""
    """The instructions' template: ``{{name}}`` is filled from the response's ``prompt.variables``."""
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    tools: Annotated[list[dict[str, Any]], Field(max_length=MAX_TOOLS)] | None = None
    """Tools as the Responses API writes them (``{"type": "function", "name": ...}``)."""
    metadata: Metadata | None = None

    @field_validator("tools")
    @classmethod
    def _typed(cls, tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for tool in tools or []:
            if not isinstance(tool.get("type"), str):
                raise ValueError("each tool needs a 'type'")
            if tool["type"] == "function" and not isinstance(tool.get("name"), str):
                raise ValueError("a function tool needs a 'name' (the Responses API's tools name it at the top)")
        return tools
