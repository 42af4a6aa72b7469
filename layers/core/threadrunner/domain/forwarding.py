"""The rest of ``/v1``: what threadrunner forwards to the provider, what a forwarded call reserves against the
budgets, what it used, and what of the provider's answer reaches the client.

A forwarded call's body and answer pass through unchanged, with these exceptions, each for a reason:

* ``MODEL_OVERRIDE`` replaces the model of calls that generate (chat completions, responses), as it does for runs;
* a streamed chat completion asks the provider for its usage (``stream_options.include_usage``), which the budgets
  need; the chunk that carries it is kept from a client that did not ask for it;
* the provider's refusals of its own key and account (401, 403, 429) are answered in threadrunner's words, and
  organization and project ids are cut from the provider's messages: they are the operator's, not the tenant's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidRequest
from .budget import estimate_tokens
from .common import Usage

Kind = Literal["chat.completions", "embeddings", "moderations", "models", "responses", "responses.input_tokens"]

GENERATING: frozenset[Kind] = frozenset({"chat.completions", "responses"})
"""Calls that name a model that writes: the project's allowed models and the deployment's override apply."""
METERED: frozenset[Kind] = frozenset({"chat.completions", "embeddings", "responses"})
"""Calls that use tokens: they reserve before they are forwarded and count what they used."""
BUDGETED: frozenset[Kind] = METERED | {"moderations"}
"""Calls refused (429) while the project's budget is used up."""
RESPONSE_BODIES: frozenset[Kind] = frozenset({"responses", "responses.input_tokens"})
"""Calls whose body is a response's: what it may name is checked the same way."""

RUNNING = frozenset({"queued", "in_progress"})
"""A response that has not ended: its usage is not known yet."""
RESPONSE_ENDINGS = frozenset({"response.completed", "response.incomplete", "response.failed", "response.cancelled"})
"""The stream events of a response that carry it ended, with its usage."""

MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A model's id as ``GET /v1/models/{model}`` takes it (fine-tuned ones have colons)."""

_ACCOUNT_IDS = re.compile(r"\b(org-[A-Za-z0-9]+|proj_[A-Za-z0-9]+)")


@dataclass(frozen=True)
class ProviderAnswer:
    """What the provider answered a forwarded call."""

    status: int
    content_type: str
    body: bytes = b""
    chunks: Iterator[str] | None = None
    """A stream's text as it comes (``body`` is then empty)."""


@dataclass(frozen=True)
class Reserve:
    prompt_tokens: int
    completion_tokens: int


def reservation_of(kind: Kind, body: dict[str, Any], output_reserve: int) -> Reserve:
    """What a call sets aside before it is forwarded: its estimated input, and the most its answer may take (the
    limit it sets, else ``output_reserve``)."""
    if kind == "chat.completions":
        prompt = estimate_tokens(json.dumps(body.get("messages", ""))) + estimate_tokens(
            json.dumps(body.get("tools", ""))
        )
        most = _positive(body.get("max_completion_tokens")) or _positive(body.get("max_tokens")) or output_reserve
        return Reserve(prompt, most * (_positive(body.get("n")) or 1))
    if kind == "responses":
        text = json.dumps([body.get("input", ""), body.get("instructions"), body.get("tools")])
        return Reserve(estimate_tokens(text), _positive(body.get("max_output_tokens")) or output_reserve)
    return Reserve(estimate_tokens(json.dumps(body.get("input", ""))), 0)


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def usage_of(kind: Kind, answer: Any) -> Usage | None:
    """The tokens an answer (a completion, a response, embeddings, a streamed chunk) says it used."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if not isinstance(usage, dict):
        return None
    if kind == "responses":
        prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
    else:
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def prepared(kind: Kind, body: dict[str, Any], model_override: str) -> tuple[dict[str, Any], bool]:
    """The body to forward, and whether the chunk with the stream's usage is the client's (it asked for it)."""
    if kind in GENERATING and model_override:
        body = body | {"model": model_override}
    if kind == "chat.completions" and body.get("stream") is True:
        given = body.get("stream_options")
        options: dict[str, Any] = given if isinstance(given, dict) else {}
        asked = options.get("include_usage") is True
        return body | {"stream_options": options | {"include_usage": True}}, asked
    return body, True


def user_of(body: dict[str, Any], pattern: re.Pattern[str]) -> str | None:
    """The end user a call is for (``safety_identifier``, or the older ``user``), for per-user budgets."""
    for field in ("safety_identifier", "user"):
        value = body.get(field)
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
    return None


CLIENT_TOOLS = frozenset({"function", "custom"})
"""Tools the client runs itself: forwarded for every project."""
HOSTED_TOOLS = frozenset(
    {
        "web_search",
        "web_search_preview",
        "image_generation",
        "code_interpreter",
        "computer_use_preview",
        "local_shell",
        "shell",
        "apply_patch",
    }
)
"""The provider's other tools, forwarded only for a project its operator allowed them (``scripts/keys.py
hosted-tools``): the hosted ones are priced per call, outside the token budgets. ``mcp`` (servers and connectors)
and ``file_search`` never are: they name URLs and objects of the provider's account."""

_DATED = re.compile(r"_\d{4}_\d{2}_\d{2}$")
_SHARED = "names an object of the provider's account, which every project shares: threadrunner does not forward it"


def hosted_tool(tool_type: str) -> str:
    """A tool type without its date (``web_search_preview_2025_03_11`` is ``web_search_preview``)."""
    return _DATED.sub("", tool_type)


BOUND_TOOLS = CLIENT_TOOLS | {"web_search", "web_search_preview"}
"""The tools a response bound to a conversation may use: the client's, whose calls and outputs are items it stores
and sends back, and web search, whose call items hold all they are (docs/forwarding.md, "Conversations")."""


def check_request(kind: Kind, body: dict[str, Any], hosted_tools: Collection[str], bound: bool = False) -> None:
    """Refuse a request that would reach what every project shares through the provider's one key: objects of its
    account (files, stored items, containers, vector stores), URLs it would fetch (MCP servers), or a hosted tool
    priced per call that the project may not use. A response ``bound`` to one of threadrunner's conversations
    (``conversation``, served by threadrunner) is also refused what its conversation could not hold.

    Raises
    ------
    InvalidRequest
        With ``param`` naming the field.
    """
    if kind == "chat.completions":
        if body.get("web_search_options") is not None and "web_search" not in hosted_tools:
            raise _not_allowed("web_search", "web_search_options")
        check_items(body.get("messages"), "messages")
        return
    if kind not in RESPONSE_BODIES:
        return
    check_items(body.get("input"), "input")
    tools = body.get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else []):
        if isinstance(tool, dict):
            _check_tool(tool, f"tools[{index}]", hosted_tools)
            if bound and hosted_tool(str(tool.get("type"))) not in BOUND_TOOLS:
                raise InvalidRequest(
                    f"The tool type '{str(tool.get('type'))[:64]}' is not served in a response bound to a "
                    "conversation: its items would name, or hold, what the provider keeps (a container, an image, a "
                    "screen). Use it in a response without 'conversation'.",
                    param=f"tools[{index}].type",
                )
    if bound:
        _check_bound(body)


def _check_bound(body: dict[str, Any]) -> None:
    """A response threadrunner assembles from its conversation is answered at once (whole or streamed) and chains
    to nothing the provider stored."""
    if body.get("previous_response_id") is not None:
        raise InvalidRequest(
            "'previous_response_id' and 'conversation' cannot be used together: the conversation holds the history.",
            param="previous_response_id",
        )
    if body.get("background") is True:
        raise InvalidRequest(
            "A response bound to a conversation is answered whole or streamed, not in the background: threadrunner "
            "appends its items to the conversation as it ends.",
            param="background",
        )
    if body.get("truncation") not in (None, "auto", "disabled"):
        raise InvalidRequest("'truncation' must be 'auto' or 'disabled'.", param="truncation", code="invalid_value")


def _check_tool(tool: dict[str, Any], where: str, hosted_tools: Collection[str]) -> None:
    kind = str(tool.get("type"))
    if kind in CLIENT_TOOLS:
        return
    if kind == "file_search":
        raise InvalidRequest(
            f"The hosted file_search {_SHARED} (its vector stores; use threadrunner's vector stores).",
            param=f"{where}.type",
        )
    if kind == "mcp":
        raise InvalidRequest(
            "MCP servers and connectors are not forwarded: the provider would call their URLs, and use their "
            "credentials, for threadrunner's one account.",
            param=f"{where}.type",
        )
    if hosted_tool(kind) not in HOSTED_TOOLS:
        raise InvalidRequest(f"The tool type '{kind[:64]}' is not forwarded.", param=f"{where}.type")
    if hosted_tool(kind) not in hosted_tools:
        raise _not_allowed(hosted_tool(kind), f"{where}.type")
    container = tool.get("container")
    if kind == "code_interpreter" and isinstance(container, str):
        raise InvalidRequest(f'A container id {_SHARED} (use {{"type": "auto"}}).', param=f"{where}.container")
    if kind == "code_interpreter" and isinstance(container, dict) and container.get("file_ids"):
        raise InvalidRequest(f"A file id {_SHARED}.", param=f"{where}.container.file_ids")
    mask = tool.get("input_image_mask")
    if isinstance(mask, dict) and mask.get("file_id") is not None:
        raise InvalidRequest(f"A file id {_SHARED}.", param=f"{where}.input_image_mask.file_id")


def check_items(items: Any, where: str) -> None:
    """Refuse items stored at the provider (``item_reference``) and content parts that name its files."""
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "item_reference":
            raise InvalidRequest(f"An item reference {_SHARED} (send the item itself).", param=f"{where}[{index}]")
        for field in ("content", "output"):
            parts = item.get(field)
            for number, part in enumerate(parts if isinstance(parts, list) else []):
                named = part.get("file") if isinstance(part, dict) and part.get("type") == "file" else part
                if isinstance(named, dict) and named.get("file_id") is not None:
                    path = f"{where}[{index}].{field}[{number}]" + (".file" if named is not part else "")
                    raise InvalidRequest(
                        f"A file id {_SHARED} (send the file's data or a URL).", param=f"{path}.file_id"
                    )


def _not_allowed(tool: str, param: str) -> InvalidRequest:
    return InvalidRequest(
        f"The hosted tool '{tool}' is not allowed for this project: the provider prices each call, outside the token "
        "budgets, so the project's operator allows it (scripts/keys.py hosted-tools).",
        param=param,
        code="tool_not_allowed",
    )


def scrubbed(text: str) -> str:
    """A provider's message without the ids of the operator's organization and projects."""
    return _ACCOUNT_IDS.sub("[redacted]", text)


class EventReader:
    """Server-sent events from the chunks of a stream, each event whole, with its data decoded when it is JSON."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, chunk: str) -> Iterator[tuple[str, Any]]:
        """The events ``chunk`` completes: their text (with the blank line that ends them) and their data."""
        self._buffer += chunk.replace("\r\n", "\n")
        while "\n\n" in self._buffer:
            event, self._buffer = self._buffer.split("\n\n", 1)
            yield event + "\n\n", _data(event)

    def rest(self) -> str:
        """What the stream left after its last whole event."""
        rest, self._buffer = self._buffer, ""
        return rest


def _data(event: str) -> Any:
    lines = [line[5:].lstrip(" ") for line in event.split("\n") if line.startswith("data:")]
    try:
        return json.loads("\n".join(lines)) if lines else None
    except ValueError:
        return None
