"""The base of every request body, and the field types several resources share.

Unknown fields are refused, as the hosted API refused them. Fields the spec marks nullable
take ``null`` as "not given", because SDKs send it that way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
)
from pydantic_core import core_schema


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


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
"""How much a reasoning model reasons: the values of the spec's ``ReasoningEffort``."""
