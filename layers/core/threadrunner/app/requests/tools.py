"""The tools of an assistant or a run as requests declare them, the run's tool choice, and the hosted tools'
resources (``tool_resources``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from ...domain.common import (
    SERVER_TOOL_PREFIX,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionDefinition,
    FunctionTool,
    Metadata,
)
from .common import AS_JSON, ChunkingStrategyParam, FileIds, Request


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
