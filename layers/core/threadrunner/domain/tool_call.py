"""A function call the model made during a run, and what became of it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ToolSide = Literal["server", "client"]
"""``server``: the ToolFunction's registry knows the name and runs it. ``client``: the caller answers it."""

ToolCallStatus = Literal["pending", "running", "completed"]


class ToolCall(BaseModel):
    """One function call of a run step, stored beside the step so outputs can be large."""

    call_id: str
    run_id: str
    step_id: str
    name: str
    arguments: str
    side: ToolSide
    status: ToolCallStatus = "pending"
    output: str | None = None
    is_error: bool = False
    """Whether the output is an ``{"error": ...}`` the registry made from a failure."""
    duration_ms: int | None = None
