"""Request bodies, as the Assistants API v2 accepts them.

Unknown fields are refused, as the hosted API refused them. Fields the spec marks nullable
take ``null`` as "not given", because SDKs send it that way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
    model_validator,
)
from pydantic_core import core_schema

from ..domain import json_schema
from ..domain.common import (
    SERVER_TOOL_PREFIX,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionDefinition,
    FunctionTool,
    Metadata,
)
from ..domain.files import FilePurpose, media_type
from ..domain.run import TruncationStrategy
from ..domain.user import UserId


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def given_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a request sets: ``null`` counts as not given, as SDKs send it."""
    return body.model_dump(exclude_unset=True, exclude_none=True)


def _as_json(value: Any) -> Any:
    return value.model_dump(exclude_none=True, by_alias=True) if isinstance(value, BaseModel) else value


class _AsJson:
    """Validate with the annotated type, keep the plain JSON: what the run and the model adapter read."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _as_json, handler(source), serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v)
        )


AS_JSON = _AsJson()


def _v1_tool_names(tool: Any) -> Any:
    """The v1 ``retrieval`` tool is v2's ``file_search``."""
    if isinstance(tool, dict) and tool.get("type") == "retrieval":
        return {**tool, "type": "file_search"}
    return tool


class FunctionParam(FunctionDefinition):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _server_tools_by_name_only(self) -> FunctionParam:
        if self.name.startswith(SERVER_TOOL_PREFIX) and (self.description, self.parameters, self.strict) != (
            None,
            None,
            None,
        ):
            raise ValueError(
                f"{self.name} is a server tool: its description and parameters come from the server's registry "
                "(GET /v1/server_tools), so declare it by name only"
            )
        return self


class FunctionToolParam(FunctionTool):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    function: FunctionParam


class CodeInterpreterToolParam(CodeInterpreterTool):
    model_config = ConfigDict(extra="forbid")
    type: Literal["code_interpreter"]


class RankingOptions(Request):
    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: Annotated[float, Field(ge=0, le=1)]


class FileSearchOptions(Request):
    max_num_results: Annotated[int, Field(ge=1, le=50)] | None = None
    ranking_options: RankingOptions | None = None


class FileSearchToolParam(FileSearchTool):
    model_config = ConfigDict(extra="forbid")
    type: Literal["file_search"]
    file_search: Annotated[FileSearchOptions, AS_JSON] | None = None  # type: ignore[assignment]


ToolParam = Annotated[
    FunctionToolParam | CodeInterpreterToolParam | FileSearchToolParam,
    Field(discriminator="type"),
    BeforeValidator(_v1_tool_names),
]
Tools = Annotated[list[ToolParam], Field(max_length=128)]


def _safe_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Checked when the request arrives: nothing fetched, patterns RE2 can run, bounded size (domain/json_schema.py)."""
    if schema is not None:
        json_schema.check(schema)
    return schema


class TextFormat(Request):
    type: Literal["text"]


class JsonObjectFormat(Request):
    type: Literal["json_object"]


class JsonSchema(Request):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
    description: str | None = None
    schema_: Annotated[dict[str, Any] | None, Field(alias="schema"), AfterValidator(_safe_schema)] = None
    strict: StrictBool | None = None


class JsonSchemaFormat(Request):
    type: Literal["json_schema"]
    json_schema: JsonSchema


ResponseFormat = Annotated[
    Literal["auto"] | Annotated[TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")],
    AS_JSON,
]
"""``auto``, or the format of the run's final message."""


class FunctionName(Request):
    name: str


class FunctionChoice(Request):
    type: Literal["function"]
    function: FunctionName


class HostedToolChoice(Request):
    type: Literal["file_search", "code_interpreter"]


ToolChoice = Annotated[
    Literal["none", "auto", "required"] | Annotated[FunctionChoice | HostedToolChoice, Field(discriminator="type")],
    AS_JSON,
]
"""Whether and which tool the model must call."""


class CodeInterpreterResources(Request):
    file_ids: Annotated[list[str], Field(max_length=20)] | None = None


class StaticChunkingParam(Request):
    max_chunk_size_tokens: Annotated[int, Field(ge=100, le=4096)] = 800
    chunk_overlap_tokens: Annotated[int, Field(ge=0)] = 400


class StaticChunkingStrategy(Request):
    type: Literal["static"]
    static: StaticChunkingParam


class AutoChunkingStrategy(Request):
    type: Literal["auto"]


ChunkingStrategyParam = Annotated[
    Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")], AS_JSON
]
"""How files are cut into chunks: ``auto`` (800 tokens, 400 of overlap) or ``static`` sizes."""

FileIds = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=500)]

Attributes = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)] | bool | float],
    Field(max_length=16),
]
"""Up to 16 attributes of a file in a vector store: keys up to 64 characters, values strings up to 512, booleans or
numbers."""


class InlineVectorStore(Request):
    """A vector store made with the assistant or thread that names it (``tool_resources``)."""

    file_ids: FileIds | None = None
    chunking_strategy: ChunkingStrategyParam | None = None
    metadata: Metadata | None = None


class FileSearchResources(Request):
    vector_store_ids: Annotated[list[str], Field(max_length=1)] | None = None
    vector_stores: Annotated[list[InlineVectorStore], Field(max_length=1)] | None = None


class ToolResourcesParam(Request):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


ToolResources = Annotated[ToolResourcesParam, AS_JSON]
"""Files and vector stores of the hosted tools."""


class TextPart(Request):
    type: Literal["text"]
    text: str


ImageDetail = Literal["auto", "low", "high"]


class ImageFile(Request):
    file_id: str
    detail: ImageDetail | None = None


def _image_url(url: str) -> str:
    """A URL the model can fetch an image from (``http``, ``https``), or the image itself (a ``data:image/`` URL)."""
    parts = urlsplit(url)
    fetched = parts.scheme in ("http", "https") and bool(parts.hostname)
    if not (fetched or url.startswith("data:image/")) or any(char.isspace() for char in url):
        raise ValueError("expected the URL of an image (http or https), or a data:image/ URL")
    return url


class ImageURL(Request):
    url: Annotated[str, AfterValidator(_image_url)]
    detail: ImageDetail | None = None


class ImageFilePart(Request):
    type: Literal["image_file"]
    image_file: Annotated[ImageFile, AS_JSON]


class ImageURLPart(Request):
    type: Literal["image_url"]
    image_url: Annotated[ImageURL, AS_JSON]


ContentPart = Annotated[TextPart | ImageFilePart | ImageURLPart, Field(discriminator="type")]


class AttachmentTool(Request):
    type: Literal["code_interpreter", "file_search"]


class AttachmentParam(Request):
    file_id: Annotated[str, Field(min_length=1, max_length=64)]
    """The project's file to attach."""
    tools: list[Annotated[AttachmentTool, AS_JSON]]
    """The tools to add the file to."""


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


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
"""How much a reasoning model reasons: the values of the spec's ``ReasoningEffort``."""


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
    tool_resources: ToolResources | None = None


class ThreadUpdate(Request):
    metadata: Metadata | None = None
    tool_resources: ToolResources | None = None


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
    project: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """The project the user belongs to; it must be the one the producer is bound to (which it defaults to)."""


class UploadCreate(Request):
    """``POST /v1/uploads``: a file to come in parts."""

    bytes: Annotated[int, Field(ge=1, strict=True)]
    """The size the file will have (``true`` is not 1)."""
    filename: Annotated[str, Field(min_length=1, max_length=512)]
    mime_type: Annotated[str, Field(min_length=1, max_length=255), AfterValidator(media_type)]
    purpose: FilePurpose


class UploadComplete(Request):
    """``POST /v1/uploads/{id}/complete``: the parts, in the order they make the file."""

    part_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=1000)]
    md5: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    """The MD5 of the whole file, checked when given."""
