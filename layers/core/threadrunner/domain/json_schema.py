"""A tenant's JSON schema (``response_format.json_schema.schema``), checked when it arrives and applied safely.

The schema is untrusted input, and validating against it runs its instructions:

* ``$ref`` may point anywhere; a validator follows remote references with urllib (``http``,
  ``https``, ``file``, ...), which would fetch on a tenant's behalf from inside the account. Only
  references into the schema itself (``#/...``) are taken, and ``$id`` may not move the base.
* ``pattern`` and ``patternProperties`` are regular expressions; Python's backtracking engine
  takes exponential time on some (``(x+x+)+y``). They run on RE2, whose time is linear in the
  text; a pattern RE2 cannot run (back-references, lookarounds) is refused when it arrives.
* Size and nesting are bounded, so compiling a schema is bounded work.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import fastjsonschema
import re2

MAX_SCHEMA_BYTES = 65536
"""The largest schema taken, as compact JSON."""
MAX_SCHEMA_DEPTH = 32
"""The deepest nesting of objects and arrays in a schema."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the tenant's error, not a line in the logs


def _refuse_remote(uri: str) -> Any:
    raise fastjsonschema.JsonSchemaDefinitionException(f"remote reference {uri!r} refused")


# Belt and braces: check() already refuses every reference that is not local.
_NO_FETCHING = {scheme: _refuse_remote for scheme in ("http", "https", "file", "ftp", "data", "urn", "")}


def check(schema: Any) -> None:
    """Refuse a schema that is too big, fetches anything, has a pattern RE2 cannot run, or does not compile.

    Raises
    ------
    ValueError
        Saying what is wrong, and where (``$.properties.code.pattern``).
    """
    text = json.dumps(schema, separators=(",", ":"))
    if len(text.encode()) > MAX_SCHEMA_BYTES:
        raise ValueError(f"the schema is larger than {MAX_SCHEMA_BYTES} bytes")
    for path, key, value in _keywords(schema):
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            raise ValueError(f"only references into the schema itself ('#/...') are allowed, not {path}.$ref")
        if key == "$id" and not (isinstance(value, str) and value.startswith("#")):
            raise ValueError(f"{path}.$id may not set a base URI")
        for pattern in _patterns(key, value):
            try:
                re2.compile(pattern, options=_RE2_OPTIONS)
            except re2.error as exc:
                raise ValueError(
                    f"the pattern {pattern!r} at {path} is not supported (no back-references or lookarounds)"
                ) from exc
    try:
        _validator(text)
    except fastjsonschema.JsonSchemaDefinitionException as exc:
        raise ValueError(f"the schema is not valid: {exc}") from exc


def problem(schema: Any, value: Any) -> str | None:
    """Why ``value`` does not match a schema :func:`check` accepted, or ``None`` if it does."""
    try:
        _validator(json.dumps(schema, separators=(",", ":")))(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        return str(exc.message)
    return None


@functools.lru_cache(maxsize=64)
def _validator(text: str) -> Callable[[Any], Any]:
    schema = json.loads(text)
    validate = fastjsonschema.compile(schema, handlers=_NO_FETCHING, use_default=False)
    # The generated code keeps its compiled patterns in REGEX_PATTERNS, keyed by the schema's pattern;
    # the schema's own patterns run on RE2 instead (formats keep their built-in expressions).
    compiled = validate.__globals__["REGEX_PATTERNS"]
    for _, key, value in _keywords(schema):
        for pattern in _patterns(key, value):
            compiled[pattern] = re2.compile(pattern, options=_RE2_OPTIONS)
    return validate


def _patterns(key: str, value: Any) -> list[str]:
    if key == "pattern" and isinstance(value, str):
        return [value]
    if key == "patternProperties" and isinstance(value, dict):
        return list(value)
    return []


def _keywords(node: Any, path: str = "$", depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of every object in the schema, refusing nesting beyond the bound."""
    if depth > MAX_SCHEMA_DEPTH:
        raise ValueError(f"the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _keywords(value, f"{path}.{key}", depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keywords(value, f"{path}[{index}]", depth + 1)
