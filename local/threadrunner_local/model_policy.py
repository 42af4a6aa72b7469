"""The offline model's behaviour: a deterministic policy, not a language model.

Given a Responses API request and the conversation before it, it decides what a model would
plausibly do, the same way every time:

* When the last input carries function outputs, it answers with a message built from them
  (an ``{"error": ...}`` output is reported as such). An output that carries a non-null
  ``next_cursor`` makes it call the same function again with ``cursor`` set, as a model
  paging through results would.
* Otherwise it calls every function tool whose name (or, failing that, description) shares a
  word with the user's last message, with arguments pulled from that message: capitalised
  names for place/name-like parameters (one call per name, in parallel, when several are
  named), quoted text or the message itself for query-like ones, numbers, enum values.
* Otherwise it answers with a short message that repeats what the user said.
* With a JSON ``text.format`` the answer is valid JSON (an instance of the schema for
  ``json_schema``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

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
_ENTITY_PARAMS = re.compile(r"city|location|place|country|region|name|person|company|entity|destination|town")
_QUERY_PARAMS = re.compile(r"query|q|text|topic|question|search|keywords?|prompt|term|input|message")


@dataclass
class Decision:
    """What the model outputs: function calls or text."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""


def _words(text: str) -> set[str]:
    return {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text))}


def _tool_words(tool: dict[str, Any]) -> set[str]:
    words = _words(tool["name"].replace("_", " ").replace("-", " "))
    specific = {w for w in words if w not in _GENERIC_WORDS and len(w) > 2}
    return specific or words


def _description_words(tool: dict[str, Any]) -> set[str]:
    return {w for w in _words(tool.get("description") or "") if len(w) > 3} - _GENERIC_WORDS


def entities(text: str, ignore: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Capitalised names in the text, in order: "San Francisco", "Tokyo". Words in ``ignore`` are no names."""
    found = re.findall(r"\b[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*)*", text)
    names = []
    for phrase in found:
        words = phrase.split()
        while words and (words[0].rstrip("?!.,") in _NOT_NAMES or _words(words[0]) & ignore):
            words = words[1:]
        name = " ".join(words).rstrip("?!.,;:")
        if name and name not in names:
            names.append(name)
    return names


def _quoted(text: str) -> str | None:
    match = re.search(r"[\"“']([^\"”']{2,})[\"”']", text)
    return match.group(1) if match else None


def _arguments(tool: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """One argument set per call: several when the tool takes a name and the text names several."""
    schema = tool.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    base: dict[str, Any] = {}
    entity_param = None
    lowered = text.lower()
    names = entities(text, _tool_words(tool))
    for name, spec in properties.items():
        kind = spec.get("type", "string")
        if "enum" in spec:
            mentioned = [value for value in spec["enum"] if str(value).lower() in lowered]
            if mentioned:
                base[name] = mentioned[0]
            elif name in required:
                base[name] = spec.get("default", spec["enum"][0])
        elif kind in ("integer", "number"):
            numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
            if numbers:
                base[name] = int(float(numbers[0])) if kind == "integer" else float(numbers[0])
            elif name in required:
                base[name] = spec.get("default", spec.get("minimum", 1))
        elif kind == "boolean":
            if name in required:
                base[name] = spec.get("default", False)
        elif kind == "string":
            if _ENTITY_PARAMS.search(name) and names:
                entity_param = name
            elif _QUERY_PARAMS.search(name):
                base[name] = _quoted(text) or text.strip()
            elif name in required:
                base[name] = names[0] if names else (_quoted(text) or text.strip())
        elif name in required:
            base[name] = {} if kind == "object" else []
    if entity_param is None:
        return [base]
    return [{**base, entity_param: name} for name in names]


def _render(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_render(item)}" for key, item in value.items() if item not in (None, "", [], {}))
    if isinstance(value, list):
        return "; ".join(_render(item) for item in value[:5]) + (
            f" (and {len(value) - 5} more)" if len(value) > 5 else ""
        )
    return str(value)


def _from_outputs(outputs: list[tuple[str, dict[str, Any], str]]) -> Decision:
    """Answer from function outputs, or page on when an output asks for it."""
    parts, again = [], []
    for name, arguments, output in outputs:
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
    return Decision(text="Here is what the tools returned. " + " ".join(part.rstrip(".") + "." for part in parts))


def _instance(schema: dict[str, Any], text: str) -> Any:
    """A value that matches a JSON schema, filled with the reply where a string goes."""
    kind = schema.get("type", "object")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: _instance(spec, text) for name, spec in schema.get("properties", {}).items()}
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
        decision = _from_outputs(outputs)
    else:
        decision = Decision()
        functions = [tool for tool in tools if tool.get("type") == "function"]
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
