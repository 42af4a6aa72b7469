"""Request bodies of a thread's runs: creating one (alone or with its thread), updating it, and its tool outputs."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    StrictBool,
)

from ...domain.common import Metadata
from ...domain.run import TruncationStrategy
from .common import ReasoningEffort, Request
from .messages import MessageCreate
from .response_format import ResponseFormat
from .threads import ThreadCreate
from .tools import ToolChoice, ToolResources, Tools


class RunSettings(Request):
    """What a run may override of its assistant, in ``runs.create`` and ``threads.create_and_run``."""

    assistant_id: str
    """The assistant that runs."""
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    tools: Tools | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stream: StrictBool | None = None
    max_prompt_tokens: Annotated[int, Field(ge=256)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=256)] | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: ReasoningEffort | None = None


class RunCreate(RunSettings):
    additional_instructions: Annotated[str, Field(max_length=256_000)] | None = None
    additional_messages: Annotated[list[MessageCreate], Field(max_length=32)] | None = None


class ThreadAndRunCreate(RunSettings):
    thread: ThreadCreate | None = None
    """The thread to create; an empty one if not given."""
    tool_resources: ToolResources | None = None
    """Resources for the hosted tools, set on the new thread."""


class RunUpdate(Request):
    metadata: Metadata | None = None


class ToolOutputParam(Request):
    tool_call_id: str
    """The call the output answers."""
    output: str
    """The function's output, as the model will read it."""


class SubmitToolOutputsRequest(Request):
    tool_outputs: list[ToolOutputParam]
    """One output for every call the run waits for."""
    stream: StrictBool | None = None
