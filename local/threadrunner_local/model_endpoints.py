"""The offline model's answers to the rest of ``/v1`` that threadrunner forwards: chat completions (whole and
streamed), moderations and the model list. The same deterministic policy as its responses decides
(:mod:`threadrunner_local.model_policy`); nothing here is a language model.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .model_policy import Output, Turn, answer, tokens

MODELS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "text-embedding-3-small", "omni-moderation-latest")
"""The models the double lists."""

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
FLAGGED_WORDS = {"kill": "violence", "attack": "violence", "hate": "hate", "bomb": "illicit/violent"}
"""Words the double's moderation flags, and the category each flags."""


def model_object(model_id: str) -> dict[str, Any]:
    """A ``model`` object of the list."""
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "offline"}


def _text(content: Any) -> str:
    """The text of a message's content: a string, or its parts' texts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def chat_completion(request: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` for the request: the policy's answer to its messages (calls of its tools, or a reply),
    in the chat wire shape."""
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    answered = answer(_turn(request, messages))
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if answered.calls else answered.reply,
        "refusal": None,
        "annotations": [],
    }
    if answered.calls:
        message["tool_calls"] = [_tool_call(name, arguments) for name, arguments in answered.calls]
    finish = "tool_calls" if answered.calls else "length" if answered.cut else "stop"
    prompt, completion = tokens(json.dumps(messages)), answered.output_tokens
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        "system_fingerprint": None,
    }


def _turn(request: dict[str, Any], messages: list[dict[str, Any]]) -> Turn:
    """What a chat completion asks of the policy, in the Responses API's terms the policy reads."""
    user_texts = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    return Turn(
        tools=_tools(request),
        user_text=user_texts[-1] if user_texts else "",
        outputs=_outputs(messages),
        tool_choice=_tool_choice(request),
        parallel=request.get("parallel_tool_calls", True),
        text_format=_text_format(request),
        max_tokens=limit if isinstance(limit, int) else None,
        earlier=tuple(user_texts[:-1]),
    )


def _tools(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's function tools, flattened as the Responses API writes them."""
    return [
        {"type": "function", **tool["function"]}
        for tool in request.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    ]


def _tool_choice(request: dict[str, Any]) -> Any:
    """The request's ``tool_choice``; a named function as the Responses API names it."""
    choice = request.get("tool_choice", "auto")
    if isinstance(choice, dict):
        return {"type": "function", "name": (choice.get("function") or {}).get("name")}
    return choice


def _text_format(request: dict[str, Any]) -> dict[str, Any]:
    """The request's ``response_format`` as the Responses API's ``text.format`` (a JSON schema's fields flattened)."""
    text_format: dict[str, Any] = request.get("response_format") or {}
    if text_format.get("type") == "json_schema":
        return {"type": "json_schema", **(text_format.get("json_schema") or {})}
    return text_format


def _outputs(messages: list[dict[str, Any]]) -> list[Output]:
    """The calls the messages answer: the ``tool`` messages after the last assistant message, with the calls they
    answer."""
    calls = {
        call["id"]: call["function"]
        for message in messages
        for call in message.get("tool_calls") or []
        if isinstance(call, dict) and isinstance(call.get("function"), dict)
    }
    after_call = next(
        (i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"), len(messages)
    )
    return [
        (
            calls[m["tool_call_id"]]["name"],
            json.loads(calls[m["tool_call_id"]].get("arguments") or "{}"),
            _text(m["content"]),
        )
        for m in messages[after_call + 1 :]
        if m.get("role") == "tool" and m.get("tool_call_id") in calls
    ]


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A ``tool_calls`` entry of the assistant's message."""
    return {
        "id": "call_" + secrets.token_hex(12),
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def chat_chunks(completion: dict[str, Any], pieces: list[str], include_usage: bool) -> list[dict[str, Any]]:
    """The completion as a stream sends it: the role, the text in ``pieces`` (or each call, its arguments whole),
    the end, and its usage when asked for."""
    base: dict[str, Any] = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    message, finish = completion["choices"][0]["message"], completion["choices"][0]["finish_reason"]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in pieces]
    deltas += [{"tool_calls": [call | {"index": index}]} for index, call in enumerate(message.get("tool_calls") or [])]
    usage = {"usage": None} if include_usage else {}
    chunks = [base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]} | usage for delta in deltas]
    chunks.append(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]} | usage)
    if include_usage:
        chunks.append(base | {"choices": [], "usage": completion["usage"]})
    return chunks


def moderation(request: dict[str, Any]) -> dict[str, Any]:
    """A moderation of each input: flagged when it has one of :data:`FLAGGED_WORDS`."""
    given = request.get("input")
    inputs = given if isinstance(given, list) else [given]
    results = []
    for item in inputs:
        words = set(_text(item if not isinstance(item, dict) else [item]).lower().split())
        hit = {FLAGGED_WORDS[word] for word in words if word in FLAGGED_WORDS}
        results.append(
            {
                "flagged": bool(hit),
                "categories": {category: category in hit for category in CATEGORIES},
                "category_scores": {category: 0.99 if category in hit else 0.01 for category in CATEGORIES},
                "category_applied_input_types": {category: ["text"] for category in CATEGORIES},
            }
        )
    return {"id": "modr-" + secrets.token_hex(12), "model": request.get("model") or MODELS[-1], "results": results}
