"""``response_format``: the shape an assistant's or a run's final message must have."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
)

from ...domain import json_schema
from .common import AS_JSON, Request


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
