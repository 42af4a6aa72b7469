"""A tenant's JSON schema (``response_format.json_schema.schema``), checked when it arrives and applied safely.

The schema is untrusted input, and validating against it runs its instructions:

* ``$ref`` may point anywhere; a validator follows remote references with urllib (``http``,
  ``https``, ``file``, ...), which would fetch on a tenant's behalf from inside the account. Only
  references into the schema itself (``#/...``) are taken, and ``$id`` may not move the base.
* ``pattern`` and ``patternProperties`` are regular expressions; Python's backtracking engine
  takes exponential time on some (``(x+x+)+y``). They run on RE2, whose time is linear in the
  text; a pattern RE2 cannot run (back-references, lookarounds) is refused when it arrives.
* ``format`` keywords run on RE2 too, and only on strings of at most
  :data:`~threadrunner.domain.json_formats.MAX_FORMAT_CHARS` characters (json_formats.py).
* Size and nesting are bounded, so compiling a schema is bounded work.
* A ``$ref`` may lead back to where it is (a tree's children are trees), but only through a property or an
  item: each round then checks a smaller part of the value. A reference that comes back to itself without one
  would check the same value forever, and is refused when it arrives.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import fastjsonschema
import re2

from .json_formats import FORMATS, MAX_FORMAT_CHARS

MAX_SCHEMA_BYTES = 65536
"""The largest schema taken, as compact JSON."""
MAX_SCHEMA_DEPTH = 32
"""The deepest nesting of objects and arrays in a schema."""
MAX_REFERENCE_CHAIN = 64
"""The most references a check follows in a row without going into a part of the value: each is a call."""

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
    endless = _endless_references(schema)
    if endless is not None:
        raise ValueError(endless)


def problem(schema: Any, value: Any) -> str | None:
    """Why ``value`` does not match a schema :func:`check` accepted, or ``None`` if it does."""
    try:
        _validator(json.dumps(schema, separators=(",", ":")))(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        if exc.rule == "format" and isinstance(exc.value, str) and len(exc.value) > MAX_FORMAT_CHARS:
            return f"{exc.name} is longer than {MAX_FORMAT_CHARS} characters, the most checked against a format"
        return str(exc.message)
    except RecursionError:
        # Each reference followed is a call, so a recursive schema follows the value down a few frames a level:
        # a value nested deeper than the stack allows (hundreds of levels) does not match.
        return "the value is nested too deeply to be checked against its schema"
    return None


@functools.lru_cache(maxsize=64)
def _validator(text: str) -> Callable[[Any], Any]:
    schema = json.loads(text)
    validate = fastjsonschema.compile(schema, handlers=_NO_FETCHING, formats=FORMATS, use_default=False)
    # The generated code keeps its compiled patterns in REGEX_PATTERNS, keyed by the schema's pattern;
    # the schema's own patterns run on RE2 instead (and formats on FORMATS, which it calls).
    compiled = inspect.unwrap(validate).__globals__["REGEX_PATTERNS"]
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


def _keywords(schema: Any) -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of every object in the schema, refusing nesting beyond the bound."""
    return ((path, key, value) for node, path in _objects(schema) for key, value in node.items())


def _objects(node: Any, path: str = "$", depth: int = 0) -> Iterator[tuple[dict[str, Any], str]]:
    """Every object in the schema with its path, refusing nesting beyond the bound."""
    if depth > MAX_SCHEMA_DEPTH:
        raise ValueError(f"the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(node, dict):
        yield node, path
        for key, value in node.items():
            yield from _objects(value, f"{path}.{key}", depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}[{index}]", depth + 1)


_SAME_VALUE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependencies", "dependentSchemas")
"""Keywords whose schemas check the very value their own schema checks, not a part of it."""
_PARTS = {"properties", "patternProperties", "additionalProperties", "propertyNames", "items", "additionalItems"}
_PARTS |= {"prefixItems", "contains", "definitions", "$defs"}
"""Keywords whose schemas check a part of the value (or, for definitions, are reached through a ``$ref``)."""
_MAPS = ("properties", "patternProperties", "dependencies", "dependentSchemas", "definitions", "$defs")
"""Keywords whose value maps names to schemas."""


def _endless_references(schema: Any) -> str | None:
    """What is wrong with the references that a check follows without going into a part of the value: one that
    leads back to itself, or a chain of more than :data:`MAX_REFERENCE_CHAIN`; ``None`` if nothing.

    Iterative: a schema of 64 KiB can chain thousands of references, more than Python's stack would follow.
    """
    paths = {id(node): path for node, path in _objects(schema)}
    anchors = {_anchor(node): node for node, _ in _objects(schema) if isinstance(_anchor(node), str)}
    edges: dict[int, list[int]] = {}  # each schema the value reaches: the schemas that check the same value
    nodes: dict[int, dict[str, Any]] = {}
    waiting = [schema]
    while waiting:
        node = waiting.pop()
        if not isinstance(node, dict) or id(node) in nodes:
            continue
        nodes[id(node)] = node
        applied = list(_applied(schema, anchors, node))
        edges[id(node)] = [id(child) for child, same in applied if same and isinstance(child, dict)]
        waiting += [child for child, _ in applied]
    finished: set[int] = set()
    chain: dict[int, int] = {}  # the most references a check follows from a schema before it checks a part
    for start in edges:
        if start in finished:
            continue
        # Depth first along the edges: a schema met again while its own edges are being followed is a loop.
        trail, on_trail, stack = [start], {start}, [iter(edges[start])]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                done = trail.pop()
                on_trail.discard(done)
                finished.add(done)
                stack.pop()
                is_reference = isinstance(nodes[done].get("$ref"), str)
                chain[done] = max((chain[next_id] for next_id in edges[done]), default=0) + is_reference
                if chain[done] > MAX_REFERENCE_CHAIN:
                    return f"{paths[done]} starts a chain of more than {MAX_REFERENCE_CHAIN} references in a row"
            elif following in on_trail:
                loop = trail[trail.index(following) :]
                path = next(paths[node_id] for node_id in loop if isinstance(nodes[node_id].get("$ref"), str))
                return (
                    f"{path}.$ref leads back to itself without going into a property or an item, so checking a "
                    "value against it would never end (a recursive schema must nest, as a tree's children do)"
                )
            elif following not in finished:
                trail.append(following)
                on_trail.add(following)
                stack.append(iter(edges[following]))
    return None


def _applied(root: Any, anchors: dict[str, Any], node: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
    """The schemas ``node`` applies (its reference's target, else its keywords' schemas), each with whether it
    checks the same value as ``node``. fastjsonschema ignores the keywords beside a ``$ref``, and so does this."""
    reference = node.get("$ref")
    if isinstance(reference, str):
        fragment = reference.partition("#")[2]
        target = anchors.get("#" + fragment) if fragment and not fragment.startswith("/") else _pointed(root, fragment)
        if target is not None:
            yield target, True
        return
    for key, value in node.items():
        same = key in _SAME_VALUE
        if not same and key not in _PARTS:
            continue
        if isinstance(value, list):
            yield from ((item, same) for item in value)
        elif key in _MAPS and isinstance(value, dict):
            yield from ((item, same) for item in value.values())
        elif key not in _MAPS:
            yield value, same


def _anchor(node: dict[str, Any]) -> Any:
    return node.get("$id", node.get("id"))  # draft 4 names it ``id``


def _pointed(root: Any, pointer: str) -> Any:
    """What a JSON pointer names in the schema, read as fastjsonschema reads it; ``None`` if nothing."""
    node, pointer = root, pointer.lstrip("/")
    for part in _unquoted(pointer).split("/") if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _unquoted(text: str) -> str:
    """Percent-decoded, as ``urllib.parse.unquote`` decodes (the domain imports nothing of HTTP)."""
    escaped = re.sub(rb"%([0-9A-Fa-f]{2})", lambda found: bytes([int(found.group(1), 16)]), text.encode())
    return escaped.decode("utf-8", "replace")
