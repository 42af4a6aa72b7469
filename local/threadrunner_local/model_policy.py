"""The offline model's behaviour: a deterministic policy, not a language model.

Given what a request asks (a :class:`Turn`, read from a Responses API request or a chat completion alike), it decides
what a model would plausibly do, the same way every time, by the first of these rules that applies:

* When the last input carries function outputs, it answers with a message built from them
  (an ``{"error": ...}`` output is reported as such; ``file_search`` results by the sentences that answer the
  user's question, ``model_sources.py``; ``code_interpreter``'s output by what the code printed, its error and
  the files it wrote, ``model_code.py``). An output that carries a non-null
  ``next_cursor`` makes it call the same function again with ``cursor`` set, as a model
  paging through results would.
* With the ``code_interpreter`` function among its tools, each fenced Python block of the user's last message is
  run: one call each, with the block's code exactly (``model_code.py``).
* With a ``file_search`` function among its tools (and ``tool_choice`` neither ``none`` nor a named function), it
  searches the files for the user's words.
* Otherwise it calls every function tool whose name (or, failing that, description) shares a
  word with the user's last message, with arguments pulled from that message (``model_arguments.py``).
* Otherwise it answers with a short message that repeats what the user said.

The answer is then written in the requested format (with a JSON ``text.format`` valid JSON, an instance of the schema
for ``json_schema``) and cut at the request's limit of output tokens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import model_code, model_schema, model_sources
from .model_arguments import GENERIC_WORDS, argument_sets, tool_words, words
from .model_recall import recall

Call = tuple[str, dict[str, Any]]
"""A function call: the function's name and its arguments."""
Output = tuple[str, dict[str, Any], str]
"""A call just answered: the function's name, the arguments it was called with, and its output."""


@dataclass
class Decision:
    """What the model outputs: function calls or text."""

    calls: list[Call] = field(default_factory=list)
    text: str = ""


@dataclass(frozen=True)
class Turn:
    """What a request asks of the model, read from its wire shape (a Responses API create or a chat completion)."""

    tools: list[dict[str, Any]]
    """Its tools, as the Responses API writes them (``{"type": "function", "name", "description", "parameters"}``)."""
    user_text: str
    """The user's last message."""
    outputs: list[Output]
    """The calls the request answers."""
    tool_choice: Any
    """``auto``, ``none``, ``required`` or ``{"type": "function", "name": ...}``."""
    parallel: bool
    """Whether several calls may be made at once."""
    text_format: dict[str, Any] | None
    """The format of a reply, as the Responses API's ``text.format`` writes it."""
    max_tokens: int | None
    """The output tokens a reply may take; ``None`` for no limit."""
    earlier: tuple[str, ...] = ()
    """The user's messages before the last (a whole conversation sent as input holds them)."""


@dataclass(frozen=True)
class Answer:
    """What the model answers a turn: function calls, or a reply in the requested format."""

    calls: list[Call]
    reply: str
    """The reply's text; empty when the turn makes calls."""
    cut: bool
    """Whether the reply was cut at the turn's limit of output tokens."""

    @property
    def output_tokens(self) -> int:
        """The tokens of the reply and of the calls' arguments."""
        return tokens(self.reply + "".join(json.dumps(arguments) for _, arguments in self.calls))


def tokens(text: str) -> int:
    """The tokens the double counts for a text: one per four characters, at least one."""
    return max(1, len(text) // 4)


def answer(turn: Turn, not_json: bool = False) -> Answer:
    """The model's answer to ``turn``: its decision, the reply formatted, then cut to the turn's limit.

    ``not_json`` (an injected ``bad_json`` fault) makes the reply one that is not JSON, whatever the format.
    """
    decision = decide(turn.tools, turn.user_text, turn.outputs, turn.tool_choice, turn.parallel, turn.earlier)
    if decision.calls:
        return Answer(decision.calls, "", cut=False)
    reply = formatted(decision.text, turn.text_format)
    if not_json:
        reply = "{this is not JSON"
    reply, cut = _within(reply, turn.max_tokens)
    return Answer([], reply, cut)


def _within(reply: str, max_tokens: int | None) -> tuple[str, bool]:
    """The reply cut to ``max_tokens`` (four characters a token) when it is longer, and whether it was."""
    if reply and max_tokens is not None and tokens(reply) > max_tokens:
        return reply[: max_tokens * 4], True
    return reply, False


def decide(
    tools: list[dict[str, Any]],
    user_text: str,
    outputs: list[Output],
    tool_choice: Any = "auto",
    parallel: bool = True,
    earlier: Sequence[str] = (),
) -> Decision:
    """The model's next move, by the first rule of this module's list that applies; ``outputs`` are the calls just
    answered, ``earlier`` the user's messages before ``user_text``."""
    if outputs:
        decision = _from_outputs(outputs, user_text)
    elif code := model_code.code_calls(tools, user_text, tool_choice):
        decision = Decision(calls=code)
    elif _searches_first(tools, tool_choice):
        decision = Decision(calls=[("file_search", {"query": user_text.strip()})])
    else:
        chosen = _chosen(tools, user_text, tool_choice)
        calls = [(tool["name"], arguments) for tool in chosen for arguments in argument_sets(tool, user_text)]
        reply = recall([*earlier, user_text]) or _echo(user_text)
        decision = Decision(calls=calls) if calls else Decision(text=reply)
    if not parallel:
        decision.calls = decision.calls[:1]
    return decision


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [tool for tool in tools if tool.get("type") == "function"]


def _searches_first(tools: list[dict[str, Any]], tool_choice: Any) -> bool:
    """Whether the model looks in the files first, for the user's words: it has ``file_search`` and may choose."""
    searching = any(tool.get("name") == "file_search" for tool in _functions(tools))
    return searching and tool_choice != "none" and not isinstance(tool_choice, dict)


def _chosen(tools: list[dict[str, Any]], user_text: str, tool_choice: Any) -> list[dict[str, Any]]:
    """The function tools the model calls: the one ``tool_choice`` names, else those whose name shares a word with
    the text, else those whose description shares two, else the first when a call is ``required``."""
    functions = _functions(tools)
    if tool_choice == "none" or not functions:
        return []
    forced = tool_choice.get("name") if isinstance(tool_choice, dict) else None
    if forced:
        return [tool for tool in functions if tool["name"] == forced]
    text_words = words(user_text)
    chosen = [tool for tool in functions if tool_words(tool) & text_words] or [
        tool for tool in functions if len(_description_words(tool) & text_words) >= 2
    ]
    if not chosen and tool_choice == "required":
        return functions[:1]
    return chosen


def _description_words(tool: dict[str, Any]) -> set[str]:
    """The telling words of a tool's description: of four letters or more, not generic."""
    return {w for w in words(tool.get("description") or "") if len(w) > 3} - GENERIC_WORDS


def _echo(user_text: str) -> str:
    """The reply when no tool is called: what the user said, named as the test model's."""
    return f'You said: "{user_text.strip()}". (This reply comes from the offline test model.)'


def _from_outputs(outputs: list[Output], question: str) -> Decision:
    """Answer from function outputs (``file_search``'s sources: what answers ``question``, cited), or page on when
    an output asks for it."""
    again = _paged_on(outputs)
    if again:
        return Decision(calls=again)
    parts = [_reported(name, arguments, output, question) for name, arguments, output in outputs]
    names = {name for name, _, _ in outputs}
    if names in ({"file_search"}, {model_code.CODE_INTERPRETER}):  # the answer is theirs, not a tool's report
        return Decision(text=" ".join(parts))
    return Decision(text="Here is what the tools returned. " + " ".join(part.rstrip(".") + "." for part in parts))


def _value(output: str) -> Any:
    """A function's output as JSON, or as the text it is when it is not JSON."""
    try:
        return json.loads(output)
    except ValueError:
        return output


def _paged_on(outputs: list[Output]) -> list[Call]:
    """The calls made again for the next page: each output (but ``file_search``'s) with a non-null ``next_cursor``
    asks for its function with ``cursor`` set to it."""
    again = []
    for name, arguments, output in outputs:
        value = None if name == "file_search" else _value(output)
        if isinstance(value, dict) and value.get("next_cursor") is not None:
            again.append((name, {**arguments, "cursor": value["next_cursor"]}))
    return again


def _reported(name: str, arguments: dict[str, Any], output: str, question: str) -> str:
    """What one output says: ``file_search``'s sentences that answer the question, a failure, or the value."""
    if name == "file_search":
        asked = arguments.get("query") if isinstance(arguments, dict) else None
        return model_sources.answer(output, f"{question} {asked or ''}")
    if name == model_code.CODE_INTERPRETER:
        return model_code.reported(output)
    value = _value(output)
    if isinstance(value, dict) and "error" in value:
        return f"{name} failed: {value['error']}"
    return f"{name} returned {_render(value)}"


def _render(value: Any) -> str:
    """A value in a few words: an object's filled fields as ``key: value``, a list's first five items."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_render(item)}" for key, item in value.items() if item not in (None, "", [], {}))
    if isinstance(value, list):
        return "; ".join(_render(item) for item in value[:5]) + (
            f" (and {len(value) - 5} more)" if len(value) > 5 else ""
        )
    return str(value)


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
