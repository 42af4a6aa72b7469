"""The assistant object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import AssistantTool, Metadata, ToolResources, WireModel


class Assistant(WireModel):
    id: str
    """The identifier, ``asst_...``."""
    object: Literal["assistant"] = "assistant"
    created_at: int
    """Unix seconds when the assistant was created."""
    name: str | None = None
    """The assistant's name, up to 256 characters."""
    description: str | None = None
    """The assistant's description, up to 512 characters."""
    model: str
    """The model the assistant's runs use unless a run names another."""
    instructions: str | None = None
    """The system instructions, up to 256,000 characters."""
    tools: list[AssistantTool] = Field(default_factory=list)
    """The tools the assistant's runs may use, up to 128."""
    tool_resources: ToolResources = Field(default_factory=dict)
    """Resources for the hosted tools (accepted and stored)."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""
    temperature: float | None = None
    """Sampling temperature between 0 and 2."""
    top_p: float | None = None
    """Nucleus sampling mass between 0 and 1."""
    response_format: Any = "auto"
    """``"auto"``, ``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type": "json_schema", ...}``."""
