"""The offline model's behaviour: a deterministic policy, not a language model.

Given a Responses API request and the conversation before it, it decides what a model would
plausibly do, the same way every time:

* When the last input carries function outputs, it answers with a message built from them
  (an ``{"error": ...}`` output is reported as such; ``file_search`` results by the sentences that answer the
  user's question, ``model_sources.py``). An output that carries a non-null
  ``next_cursor`` makes it call the same function again with ``cursor`` set, as a model
  paging through results would.
* Otherwise it calls every function tool whose name (or, failing that, description) shares a
  word with the user's last message, with arguments pulled from that message. A string
  parameter's name (or, failing that, its description) says which kind of value it takes:
  capitalised names, ids ("A-1001"), e-mail addresses, or quoted text (else the message itself)
  for query-like ones. Number parameters take the first number, enum parameters the value the
  text mentions. A parameter gets only a value of a type its schema allows (``type`` lists and
  ``anyOf`` / ``oneOf`` members read); an optional one the text offers nothing for is left out,
  a required one that takes ``null`` is ``null``. When the text offers several names, ids or
  addresses for one parameter, it makes one call per value, in parallel.
* Otherwise it answers with a short message that repeats what the user said.
* With a JSON ``text.format`` the answer is valid JSON (an instance of the schema for
  ``json_schema``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import model_schema, model_sources

_GENERIC_WORDS = {
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


@dataclass
class Decision:
    """What the model outputs: function calls or text."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""


@dataclass(frozen=True)
class _Found:
    """What a message offers as arguments to one tool, by kind of value, each in the order of the text."""

    text: str
    by_kind: dict[str, list[str]]
    """Names (``name``), ids (``id``) and e-mail addresses (``email``)."""
    quoted: str | None
    numbers: list[str]


def _words(text: str) -> set[str]:
    return {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text))}


def _lower_words(text: str) -> list[str]:
    """The words of a parameter's name or description in lower case: ``orderId`` and ``order_id`` give order, id."""
    return re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())


def _tool_words(tool: dict[str, Any]) -> set[str]:
    words = _words(tool["name"].replace("_", " ").replace("-", " "))
    specific = {w for w in words if w not in _GENERIC_WORDS and len(w) > 2}
    return specific or words


def _description_words(tool: dict[str, Any]) -> set[str]:
    return {w for w in _words(tool.get("description") or "") if len(w) > 3} - _GENERIC_WORDS


def entities(text: str, ignore: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Capitalised names in the text, in order: "San Francisco", "Tokyo".

    Words in ``ignore`` are no names; neither are ids ("A-1001") nor parts of e-mail addresses.
    """
    names = []
    for phrase in _NAME.findall(text):
        words = phrase.split()
        while words and (words[0] in _NOT_NAMES or _words(words[0]) & ignore):
            words = words[1:]
        name = " ".join(words).rstrip("'\u2019-")
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
        for values in (entities(text, _tool_words(tool)), _ids(text), _emails(text))
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


def _arguments(tool: dict[str, Any], text: str) -> list[dict[str, Any]]:
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


def _render(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_render(item)}" for key, item in value.items() if item not in (None, "", [], {}))
    if isinstance(value, list):
        return "; ".join(_render(item) for item in value[:5]) + (
            f" (and {len(value) - 5} more)" if len(value) > 5 else ""
        )
    return str(value)


def _from_outputs(outputs: list[tuple[str, dict[str, Any], str]], question: str) -> Decision:
    """Answer from function outputs (``file_search``'s sources: what answers ``question``, cited), or page on when
    an output asks for it."""
    parts, again = [], []
    for name, arguments, output in outputs:
        if name == "file_search":
            asked = arguments.get("query") if isinstance(arguments, dict) else None
            parts.append(model_sources.answer(output, f"{question} {asked or ''}"))
            continue
        try:
            value = json.loads(output)
        except ValueError:
            value = output
        if isinstance(value, dict) and value.get("next_cursor") is not None:
            again.append((name, {**arguments, "cursor": value["next_cursor"]}))
        if isinstance(value, dict) and "error" in value:
            parts.append(f"{name} failed: {value['error']}")
        else:
            parts.append(f"{name} returned {_render(value)}")
    if again:
        return Decision(calls=again)
    if [name for name, _, _ in outputs] == ["file_search"] * len(outputs):
        return Decision(text=" ".join(parts))
    return Decision(text="Here is what the tools returned. " + " ".join(part.rstrip(".") + "." for part in parts))


def _instance(schema: dict[str, Any], text: str) -> Any:
    """A value that matches a JSON schema, filled with the reply where a string goes."""
    kind = schema.get("type", "object")
    if model_schema.enum(schema):
        return model_schema.enum(schema)[0]
    if kind == "object":
        return {name: _instance(spec, text) for name, spec in model_schema.properties(schema).items()}
    if kind == "array":
        return [_instance(schema.get("items", {}), text)] if schema.get("minItems", 0) else []
    return {"string": text, "integer": 1, "number": 1.0, "boolean": True, "null": None}.get(kind, text)


def formatted(text: str, text_format: dict[str, Any] | None) -> str:
    """The reply in the requested format: plain, a JSON object, or an instance of a JSON schema."""
    kind = (text_format or {}).get("type", "text")
    if kind == "json_object":
        return json.dumps({"reply": text})
    if kind == "json_schema":
        return json.dumps(_instance(text_format.get("schema", {}) if text_format else {}, text))
    return text


def decide(
    tools: list[dict[str, Any]],
    user_text: str,
    outputs: list[tuple[str, dict[str, Any], str]],
    tool_choice: Any = "auto",
    parallel: bool = True,
) -> Decision:
    """The model's next move; ``outputs`` are (function, arguments, output) of calls just answered."""
    if outputs:
        decision = _from_outputs(outputs, user_text)
    else:
        decision = Decision()
        functions = [tool for tool in tools if tool.get("type") == "function"]
        searching = any(tool.get("name") == "file_search" for tool in functions)
        if searching and tool_choice != "none" and not isinstance(tool_choice, dict):
            # With files to search, the double looks in them first, for the user's words.
            return Decision(calls=[("file_search", {"query": user_text.strip()})])
        if tool_choice != "none" and functions:
            forced = tool_choice.get("name") if isinstance(tool_choice, dict) else None
            text_words = _words(user_text)
            chosen = (
                [t for t in functions if t["name"] == forced]
                if forced
                else [t for t in functions if _tool_words(t) & text_words]
            )
            if not chosen and not forced:
                chosen = [t for t in functions if len(_description_words(t) & text_words) >= 2]
            if not chosen and tool_choice == "required":
                chosen = functions[:1]
            decision.calls = [(t["name"], args) for t in chosen for args in _arguments(t, user_text)]
        if not decision.calls:
            decision.text = f'You said: "{user_text.strip()}". (This reply comes from the offline test model.)'
    if not parallel:
        decision.calls = decision.calls[:1]
    return decision
