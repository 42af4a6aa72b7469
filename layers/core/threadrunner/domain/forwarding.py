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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .budget import COMPLETION_RESERVE_TOKENS, estimate_tokens
from .common import Usage

Kind = Literal["chat.completions", "embeddings", "moderations", "models", "responses", "responses.input_tokens"]

GENERATING: frozenset[Kind] = frozenset({"chat.completions", "responses"})
"""Calls that name a model that writes: the project's allowed models and the deployment's override apply."""
METERED: frozenset[Kind] = frozenset({"chat.completions", "embeddings", "responses"})
"""Calls that use tokens: they reserve before they are forwarded and count what they used."""
BUDGETED: frozenset[Kind] = METERED | {"moderations"}
"""Calls refused (429) while the project's budget is used up."""

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


def reservation_of(kind: Kind, body: dict[str, Any]) -> Reserve:
    """What a call sets aside before it is forwarded: its estimated input, and the most its answer may take."""
    if kind == "chat.completions":
        prompt = estimate_tokens(json.dumps(body.get("messages", ""))) + estimate_tokens(
            json.dumps(body.get("tools", ""))
        )
        most = (
            _positive(body.get("max_completion_tokens"))
            or _positive(body.get("max_tokens"))
            or COMPLETION_RESERVE_TOKENS
        )
        return Reserve(prompt, most * (_positive(body.get("n")) or 1))
    if kind == "responses":
        text = json.dumps([body.get("input", ""), body.get("instructions"), body.get("tools")])
        return Reserve(estimate_tokens(text), _positive(body.get("max_output_tokens")) or COMPLETION_RESERVE_TOKENS)
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


def refusal_of_hosted_objects(body: dict[str, Any]) -> str | None:
    """Why a Responses request may not be forwarded: it names objects of the provider's account, which every
    project would share (its conversations, its vector stores)."""
    if body.get("conversation") is not None:
        return "conversation"
    tools = body.get("tools")
    if isinstance(tools, list) and any(isinstance(t, dict) and t.get("type") == "file_search" for t in tools):
        return "tools"
    return None


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
