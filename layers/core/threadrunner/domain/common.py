"""Small shared pieces of the wire objects."""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_PAIRS:
        raise ValueError(f"at most {MAX_METADATA_PAIRS} pairs are allowed, got {len(value)}")
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise ValueError(f"key {key[:20]!r}... is longer than {MAX_METADATA_KEY} characters")
        if len(item) > MAX_METADATA_VALUE:
            raise ValueError(f"the value of {key!r} is longer than {MAX_METADATA_VALUE} characters")
    return value


Metadata = Annotated[dict[str, str], AfterValidator(_check_metadata)]
"""Up to 16 key-value pairs attached to an object; keys up to 64 characters, values up to 512."""


ToolResources = Annotated[dict[str, Any], BeforeValidator(lambda value: {} if value is None else value)]
"""Files and vector stores of the hosted tools; ``{}`` when there are none, as the hosted API answered."""


def problems(error: ValidationError, root: str) -> str:
    """Every problem of a failed validation on one line: ``city: Field required; days: ...``."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or root}: {e['msg']}" for e in error.errors())


def now() -> int:
    """Unix time in seconds, the unit of every ``*_at`` field."""
    return int(time.time())


def now_ms() -> int:
    """Unix time in milliseconds, the unit of the ``timing`` extension (seconds are too coarse for a fast run)."""
    return int(time.time() * 1000)


class WireModel(BaseModel):
    """Base of the objects the API returns: unknown fields are kept out, fields stay in declaration order."""

    model_config = ConfigDict(extra="ignore")


class LastError(WireModel):
    code: str
    """``server_error``, ``rate_limit_exceeded``, ``invalid_prompt``, or a threadrunner code documented in docs/."""
    message: str
    """A human-readable description of the error."""


class Usage(WireModel):
    prompt_tokens: int = 0
    """Tokens in the prompts of every model call of the run."""
    completion_tokens: int = 0
    """Tokens the model generated over the run."""
    total_tokens: int = 0
    """The sum of the two."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


SERVER_TOOL_PREFIX = "threadrunner:"
"""What a function tool's name starts with when it declares a server tool (``domain/server_tools.py``)."""


class FunctionDefinition(WireModel):
    name: Annotated[str, Field(pattern=rf"^({re.escape(SERVER_TOOL_PREFIX)})?[a-zA-Z0-9_-]{{1,64}}$")]
    """The function's name: letters, digits, underscores and dashes, at most 64 characters; ``threadrunner:``
    before it declares a server tool."""
    description: str | None = None
    """What the function does, for the model."""
    parameters: dict | None = None
    """The JSON Schema object of the arguments."""
    strict: bool | None = None
    """Whether the model must follow the schema exactly."""


class FunctionTool(WireModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition
    """The function the model may call."""


class CodeInterpreterTool(WireModel):
    type: Literal["code_interpreter"] = "code_interpreter"


class RankingOptions(WireModel):
    ranker: Literal["auto", "default_2024_08_21"] = "default_2024_08_21"
    """The ranker; the hosted API answered its choice for ``auto`` and for none given."""
    score_threshold: float = 0.0
    """Results scoring below it are left out."""


class FileSearchTool(WireModel):
    type: Literal["file_search"] = "file_search"
    file_search: dict | None = None
    """Overrides for the file search tool: the caller's, with ``ranking_options`` filled with their defaults."""

    @model_validator(mode="after")
    def _with_defaults(self) -> FileSearchTool:
        # The hosted API answered an object with the ranking options filled, also for {"type": "file_search"}.
        options = dict(self.file_search or {})
        ranking = RankingOptions.model_validate(options.get("ranking_options") or {})
        self.file_search = {**options, "ranking_options": ranking.model_dump()}
        return self


AssistantTool = Annotated[FunctionTool | CodeInterpreterTool | FileSearchTool, Field(discriminator="type")]
"""A tool an assistant or a run may use."""
