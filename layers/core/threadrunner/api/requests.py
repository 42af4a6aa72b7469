"""Request bodies, as the Assistants API v2 accepts them.

Unknown fields are refused, as the hosted API refused them. Fields the spec marks nullable
take ``null`` as "not given", because SDKs send it that way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..domain.common import AssistantTool, Metadata
from ..domain.run import TruncationStrategy
from ..domain.user import UserId


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _v1_tool_names(tool: Any) -> Any:
    """The v1 ``retrieval`` tool is v2's ``file_search``."""
    if isinstance(tool, dict) and tool.get("type") == "retrieval":
        return {**tool, "type": "file_search"}
    return tool


ToolParam = Annotated[AssistantTool, BeforeValidator(_v1_tool_names)]
Tools = Annotated[list[ToolParam], Field(max_length=128)]


class TextPart(Request):
    type: Literal["text"]
    text: str


class ImageFilePart(Request):
    type: Literal["image_file"]
    image_file: dict[str, Any]


class ImageURLPart(Request):
    type: Literal["image_url"]
    image_url: dict[str, Any]


ContentPart = Annotated[TextPart | ImageFilePart | ImageURLPart, Field(discriminator="type")]


class AttachmentParam(Request):
    file_id: str | None = None
    tools: list[dict[str, Any]] | None = None


class AssistantCreate(Request):
    model: str = Field(min_length=1, max_length=256)
    """The model the assistant's runs use."""
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = None
    instructions: Annotated[str, Field(max_length=256_000)] | None = None
    tools: Tools | None = None
    tool_resources: dict[str, Any] | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    response_format: Any = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class AssistantUpdate(AssistantCreate):
    model: Annotated[str, Field(min_length=1, max_length=256)] | None = None  # type: ignore[assignment]


class MessageCreate(Request):
    role: Literal["user", "assistant"]
    """Who wrote the message."""
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    """The text, or an array of content parts."""
    attachments: list[AttachmentParam] | None = None
    metadata: Metadata | None = None


class MessageUpdate(Request):
    metadata: Metadata | None = None


class ThreadCreate(Request):
    messages: Annotated[list[MessageCreate], Field(max_length=32)] | None = None
    """Messages to start the thread with."""
    metadata: Metadata | None = None
    tool_resources: dict[str, Any] | None = None


class ThreadUpdate(Request):
    metadata: Metadata | None = None
    tool_resources: dict[str, Any] | None = None


class RunSettings(Request):
    """What a run may override of its assistant, in ``runs.create`` and ``threads.create_and_run``."""

    assistant_id: str
    """The assistant that runs."""
    model: str | None = None
    instructions: str | None = None
    tools: Tools | None = None
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stream: bool | None = None
    max_prompt_tokens: Annotated[int, Field(ge=256)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=256)] | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: Any = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class RunCreate(RunSettings):
    additional_instructions: str | None = None
    additional_messages: Annotated[list[MessageCreate], Field(max_length=32)] | None = None


class ThreadAndRunCreate(RunSettings):
    thread: ThreadCreate | None = None
    """The thread to create; an empty one if not given."""
    tool_resources: dict[str, Any] | None = None
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
    stream: bool | None = None


class UserMessageCreate(Request):
    """``POST /v1/users/{user_id}/messages``: a user's message, answered on the user's own thread."""

    assistant_id: str
    """The assistant that answers."""
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    """The text, or an array of content parts."""
    metadata: Metadata | None = None
    if_busy: Literal["queue", "reject"] = "queue"
    """While a run is active: ``queue`` the message for the next run, or ``reject`` it with 409."""

    def as_message(self) -> MessageCreate:
        return MessageCreate(role="user", content=self.content, metadata=self.metadata)


class UserMessageRequested(UserMessageCreate):
    """The same request arriving as an EventBridge event's ``detail`` or an SQS message's body."""

    user_id: UserId
    """The user who wrote."""
    project: str = Field("default", min_length=1, max_length=64)
    """The project the user belongs to."""
