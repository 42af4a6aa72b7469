"""What a user's message offers a function tool's parameters, as the offline model reads it: a deterministic rule.

A string parameter's name (or, failing that, its description) says which kind of value it takes: capitalised names,
ids ("A-1001"), e-mail addresses, or quoted text (else the message itself) for query-like ones. Number parameters take
the first number, enum parameters the value the text mentions. A parameter gets only a value of a type its schema
allows (``type`` lists and ``anyOf`` / ``oneOf`` members read, :mod:`threadrunner_local.model_schema`); an optional
one the text offers nothing for is left out, a required one that takes ``null`` is ``null``. When the text offers
several names, ids or addresses for one parameter, it makes one call per value, in parallel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import model_schema

GENERIC_WORDS = {
    "get",
    "set",
    "list",
    "find",
    "fetch",
    "search",
    "lookup",
    "query",
    "run",
    "make",
    "create",
    "update",
    "delete",
    "call",
    "tool",
    "function",
    "the",
    "for",
    "and",
    "with",
    "from",
}
"""Words of a tool's name or description that say nothing of what it does."""
_NOT_NAMES = {
    "What",
    "What's",
    "Whats",
    "How",
    "Please",
    "Tell",
    "Is",
    "Are",
    "Can",
    "Could",
    "Would",
    "The",
    "In",
    "And",
    "I",
    "I'm",
    "Give",
    "Show",
    "Find",
    "Search",
    "Get",
    "Check",
    "Do",
    "Does",
    "Hi",
    "Hello",
    "Hey",
    "Thanks",
    "Thank",
    "Then",
    "Also",
    "Now",
    "Which",
    "Where",
    "When",
    "Why",
    "Who",
    "Look",
    "Use",
    "Call",
    "Let",
    "Let's",
    "It",
    "It's",
    "My",
    "Our",
    "A",
    "An",
    "Compare",
}
_KIND_NAME_WORDS = {
    "email": {"email", "mail", "recipient", "cc", "bcc"},
    "id": {"id", "identifier", "number", "no", "num", "reference", "ref", "sku", "code", "uuid", "guid"},
    "name": {"city", "cities", "location", "place", "country", "countries", "region", "name", "person", "people"}
    | {"company", "companies", "entity", "entities", "destination", "town"},
    "text": {"query", "queries", "q", "text", "topic", "question", "search", "keyword", "prompt", "term", "input"}
    | {"message", "subject", "body", "bodies", "content", "title", "note"},
}
"""Words of a string parameter's name that say what it asks for; a plural in ``s`` counts as its singular."""
_KIND_DESCRIPTION_WORDS = {
    "email": {"email", "mail"},
    "id": {"id", "identifier", "number", "reference", "code"},
}
"""Words of a description that say what a parameter asks for, when its name does not; the first kind wins."""

# A name word touches no digit (A-1001 is an id) and no part of an e-mail address.
_NAME_WORD = r"(?<![\w@.-])[A-Z](?:[^\W\d_]|['\u2019-])*(?![\w'\u2019@-]|\.\w)"
_NAME = re.compile(rf"{_NAME_WORD}(?:\s+{_NAME_WORD})*")
_TOKEN = re.compile(r"(?<![\w@.-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w@-]|\.\w)")
_EMAIL = re.compile(r"[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# An apostrophe inside a word ("What's") opens or closes no quote.
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|\u2018(.+?)\u2019(?!\w)|(?<!\w)'(.+?)'(?!\w)")


@dataclass(frozen=True)
class _Found:
    """What a message offers as arguments to one tool, by kind of value, each in the order of the text."""

    text: str
    by_kind: dict[str, list[str]]
    """Names (``name``), ids (``id``) and e-mail addresses (``email``)."""
    quoted: str | None
    numbers: list[str]


def words(text: str) -> set[str]:
    """The words of a text (split at case changes too), in lower case and without a plural ``s``."""
    return {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text))}


def _lower_words(text: str) -> list[str]:
    """The words of a parameter's name or description in lower case: ``orderId`` and ``order_id`` give order, id."""
    return re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())


def tool_words(tool: dict[str, Any]) -> set[str]:
    """The words of a tool's name that say what it does: its generic words (``get``, ``search``) only if it has no
    other."""
    named = words(tool["name"].replace("_", " ").replace("-", " "))
    specific = {w for w in named if w not in GENERIC_WORDS and len(w) > 2}
    return specific or named


def entities(text: str, ignore: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Capitalised names in the text, in order: "San Francisco", "Tokyo".

    Words in ``ignore`` are no names; neither are ids ("A-1001") nor parts of e-mail addresses.
    """
    names = []
    for phrase in _NAME.findall(text):
        parts = phrase.split()
        while parts and (parts[0] in _NOT_NAMES or words(parts[0]) & ignore):
            parts = parts[1:]
        name = " ".join(parts).rstrip("'\u2019-")
        if name and name not in names:
            names.append(name)
    return names


def _is_id(token: str) -> bool:
    """Whether a token of letters, digits and dashes is an id: it has a digit and is no plain number."""
    return any(char.isdigit() for char in token) and not token.isdigit()


def _ids(text: str) -> list[str]:
    """Id-like values in order: "A-1001", "abc123"."""
    return list(dict.fromkeys(token for token in _TOKEN.findall(text) if _is_id(token)))


def _emails(text: str) -> list[str]:
    """E-mail addresses in order."""
    return list(dict.fromkeys(_EMAIL.findall(text)))


def _quoted(text: str) -> str | None:
    """The first non-blank quoted text: "...", curly double or single quotes, or '...'."""
    for match in _QUOTED.finditer(text):
        value = next(group for group in match.groups() if group is not None).strip()
        if value:
            return value
    return None


def _numbers(text: str) -> list[str]:
    """Numbers in order, except the digits of ids and e-mail addresses."""
    rest = _TOKEN.sub(lambda token: " " if _is_id(token[0]) else token[0], _EMAIL.sub(" ", text))
    return _NUMBER.findall(rest)


def _mentioned(values: list[Any], text: str) -> list[Any]:
    """The enum value the text mentions first (a whole word, in any case), or nothing."""
    first: tuple[int, Any] | None = None
    for value in values:
        match = re.search(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", text, re.IGNORECASE)
        if match and str(value) and (first is None or match.start() < first[0]):
            first = (match.start(), value)
    return [] if first is None else [first[1]]


def _asks_for(name: str, spec: dict[str, Any]) -> str | None:
    """The kind of value a string parameter asks for: the last telling word of its name, else its description."""
    for word in reversed(_lower_words(name)):
        for kind, words in _KIND_NAME_WORDS.items():
            if {word, word.removesuffix("s")} & words:
                return kind
    description = {
        form for word in _lower_words(spec.get("description") or "") for form in (word, word.removesuffix("s"))
    }
    return next((kind for kind, words in _KIND_DESCRIPTION_WORDS.items() if description & words), None)


def _find(tool: dict[str, Any], text: str) -> _Found:
    """The values ``text`` offers to ``tool``; a value of one of its enums is no name, id or e-mail address."""
    properties = model_schema.properties(tool.get("parameters"))
    enum_values = {str(value).lower() for spec in properties.values() for value in model_schema.enum(spec)}
    names, id_values, addresses = (
        [value for value in values if value.lower() not in enum_values]
        for values in (entities(text, tool_words(tool)), _ids(text), _emails(text))
    )
    return _Found(text, {"name": names, "id": id_values, "email": addresses}, _quoted(text), _numbers(text))


def _values(name: str, spec: dict[str, Any], found: _Found) -> list[Any]:
    """What the text offers one parameter, in order: one value, or several names, ids or e-mail addresses; only
    values of a type the parameter takes."""
    types = model_schema.types(spec)
    if model_schema.enum(spec):
        return _mentioned(model_schema.enum(spec), found.text)
    numbers = [int(float(n)) if "integer" in types else float(n) for n in found.numbers[:1]]
    if types & {"integer", "number"} and numbers:
        return numbers
    asks_for = _asks_for(name, spec)
    if "string" in types:
        return [found.quoted or found.text.strip()] if asks_for == "text" else found.by_kind.get(asks_for or "", [])
    items = model_schema.member_of(spec, "array").get("items")
    strings = "string" in model_schema.types(items if isinstance(items, dict) else {})
    if "array" in types and asks_for != "text" and strings:
        listed = found.by_kind.get(asks_for or "", [])
        return [listed] if listed else []  # all of them, in one list
    return []


def _fallback(spec: dict[str, Any], found: _Found) -> Any:
    """A required parameter's value when the text offers none: ``null`` where the parameter takes it."""
    types = model_schema.types(spec)
    if model_schema.enum(spec):
        return spec.get("default", model_schema.enum(spec)[0])
    if "null" in types:
        return None
    if "default" in spec:
        return spec["default"]
    if types & {"integer", "number"}:
        return model_schema.member_of(spec, "integer" if "integer" in types else "number").get("minimum", 1)
    if "string" in types:
        names = found.by_kind["name"]
        return names[0] if names else (found.quoted or found.text.strip())
    if "boolean" in types:
        return False
    return {} if "object" in types else []


def argument_sets(tool: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """One argument set per call: one call per value of the first parameter the text offers several values for."""
    schema = tool.get("parameters")
    required = schema.get("required") if isinstance(schema, dict) else None
    required = set(required) if isinstance(required, list) else set()
    found = _find(tool, text)
    arguments: dict[str, Any] = {}
    fan_out: tuple[str, list[Any]] | None = None
    for name, spec in model_schema.properties(schema).items():
        values = _values(name, spec, found)
        if values:
            arguments[name] = values[0]
            if len(values) > 1 and fan_out is None:
                fan_out = (name, values)
        elif name in required:
            arguments[name] = _fallback(spec, found)
    if fan_out is None:
        return [arguments]
    name, values = fan_out
    return [{**arguments, name: value} for value in values]
