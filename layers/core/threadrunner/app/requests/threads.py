"""Request bodies of ``/v1/threads``."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

from ...domain.common import Metadata
from .common import Request
from .messages import MessageCreate
from .tools import ToolResources


class ThreadCreate(Request):
    messages: Annotated[list[MessageCreate], Field(max_length=32)] | None = None
    """Messages to start the thread with."""
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None


class ThreadUpdate(Request):
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None
