"""How the offline model reads a JSON schema of a function's parameters: each parameter's types and enum values,
from ``type`` (a name or a list), the members of ``anyOf`` / ``oneOf``, and local references (``$ref``, as pydantic
writes them)."""

from __future__ import annotations

from typing import Any


def members(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas a value of ``spec`` may match: the members of its ``anyOf`` / ``oneOf`` (and theirs), or itself."""
    lists = [spec.get(key) for key in ("anyOf", "oneOf")]
    inner = [each for listed in lists if isinstance(listed, list) for each in listed if isinstance(each, dict)]
    return [found for each in inner for found in members(each)] if inner else [spec]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def enum(spec: dict[str, Any]) -> list[Any]:
    """The values of an enum parameter (of any member's ``enum`` or ``const``); none for anything else."""
    values: list[Any] = []
    for each in members(spec):
        values += _listed(each["enum"]) if "enum" in each else [each["const"]] if "const" in each else []
    return [value for value in values if value is not None]


def types(spec: dict[str, Any]) -> set[str]:
    """The JSON types a parameter takes: its members' ``type`` (a name or a list of names), ``string`` if none says;
    ``null`` too where an enum lists it."""
    taken: set[str] = set()
    for each in members(spec):
        taken |= {kind for kind in _listed(each.get("type")) if isinstance(kind, str)}
        if None in (_listed(each["enum"]) if "enum" in each else []) or each.get("const", 0) is None:
            taken.add("null")
    return taken or {"string"}


def member_of(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    """The member of a parameter's schema that takes values of ``kind``."""
    return next((m for m in members(spec) if kind == m.get("type") or kind in (m.get("type") or [])), spec)


def _resolved(spec: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """``spec`` with its local references (``#/$defs/...``, as pydantic writes them) and one-member ``allOf`` taken
    in, however deep; what cannot be resolved (a remote reference, a cycle past a few levels) is left as it is."""
    if isinstance(spec, list):
        return [_resolved(item, root, depth) for item in spec]
    if not isinstance(spec, dict) or depth > 8:
        return spec
    reference, one = spec.get("$ref"), spec.get("allOf")
    target: Any = None
    if isinstance(reference, str) and reference.startswith("#/"):
        target = root
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
    elif isinstance(one, list) and len(one) == 1:
        target = one[0]
    if isinstance(target, dict):
        rest = {key: value for key, value in spec.items() if key not in ("$ref", "allOf")}
        return _resolved({**target, **rest}, root, depth + 1)
    return {key: _resolved(value, root, depth) for key, value in spec.items()}


def properties(schema: Any) -> dict[str, dict[str, Any]]:
    """The parameters of a schema that are schemas themselves, references resolved; a client may send anything as
    ``parameters``."""
    given = schema.get("properties") if isinstance(schema, dict) else None
    return (
        {name: _resolved(spec, schema) for name, spec in given.items() if isinstance(spec, dict)}
        if isinstance(given, dict)
        else {}
    )
