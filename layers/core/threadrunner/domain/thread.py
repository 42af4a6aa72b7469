"""The thread object."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Metadata, ToolResources, WireModel


class Thread(WireModel):
    id: str
    """The identifier, ``thread_...``."""
    object: Literal["thread"] = "thread"
    created_at: int
    """Unix seconds when the thread was created."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""
    tool_resources: ToolResources = Field(default_factory=dict)
    """Resources for the hosted tools (accepted and stored)."""
