"""Request bodies of ``/v1/assistants``."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

from ...domain.common import Metadata
from .common import ReasoningEffort, Request
from .response_format import ResponseFormat
from .tools import ToolResources, Tools


class AssistantCreate(Request):
    model: str = Field(min_length=1, max_length=256)
    """The model the assistant's runs use."""
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    tools: Tools | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = Field(None, exclude=True)
    """Accepted and not kept: it does not reach the model (docs/compatibility.md)."""


class AssistantUpdate(AssistantCreate):
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None  # type: ignore[assignment]
