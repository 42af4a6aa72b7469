"""The Responses API's wire shape in the offline model: a create request read into what the policy is asked (a
:class:`~threadrunner_local.model_policy.Turn`), and the policy's answer written as output items and a ``response``
object. The chat completion's shape of the same policy is in :mod:`threadrunner_local.model_endpoints`.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .model_policy import Answer, Turn, tokens


def new_id(prefix: str) -> str:
    """A fresh id of the Responses API's kind: ``resp_...``, ``msg_...``, ``call_...``."""
    return f"{prefix}_{secrets.token_hex(24)}"


def text_of(item: dict[str, Any]) -> str:
    """The text of an input or output item: its content's text, or a call's output or arguments."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(item.get("output", item.get("arguments", "")))


def said(items: list[dict[str, Any]]) -> str:
    """Every text of a conversation, in order (what faults match and the input tokens count)."""
    return " ".join(text_of(item) for item in items)


def input_items(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a create request's ``input``: a string is one user message."""
    given = request.get("input", [])
    return [{"role": "user", "content": given}] if isinstance(given, str) else list(given)


def turn(request: dict[str, Any], history: list[dict[str, Any]], new_items: list[dict[str, Any]]) -> Turn:
    """What a create request asks of the policy: ``history`` is the conversation with its ``new_items`` last."""
    calls = {item["call_id"]: item for item in history if item.get("type") == "function_call"}
    # The outputs just given: those after the user's last message (a whole conversation sent as input holds
    # earlier ones, already answered).
    asked = max((n for n, item in enumerate(history) if item.get("role") == "user"), default=-1)
    outputs = [
        (calls[item["call_id"]]["name"], json.loads(calls[item["call_id"]]["arguments"] or "{}"), item["output"])
        for item in history[asked + 1 :]
        if item.get("type") == "function_call_output" and item.get("call_id") in calls
    ]
    user_texts = [text_of(item) for item in history if item.get("role") == "user"]
    return Turn(
        tools=request.get("tools") or [],
        user_text=user_texts[-1] if user_texts else "",
        outputs=outputs,
        tool_choice=request.get("tool_choice", "auto"),
        parallel=request.get("parallel_tool_calls", True) is not False,
        text_format=(request.get("text") or {}).get("format"),
        max_tokens=request.get("max_output_tokens") or None,
        earlier=tuple(user_texts[:-1]),
    )


def function_call_item(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A ``function_call`` output item of a response."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id.removeprefix('call_')}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def message_item(text: str) -> dict[str, Any]:
    """An assistant's ``message`` output item with ``text``."""
    return {
        "type": "message",
        "id": new_id("msg"),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def answered(request: dict[str, Any], history: list[dict[str, Any]], answer: Answer) -> dict[str, Any]:
    """The ``response`` that gives ``answer`` to ``request`` (``history``: its conversation), as it is once finished:
    its calls and its reply as output items, ``incomplete`` when the reply was cut."""
    output = [function_call_item(new_id("call"), name, arguments) for name, arguments in answer.calls]
    output += [message_item(answer.reply)] if answer.reply else []
    usage = (tokens((request.get("instructions") or "") + said(history)), answer.output_tokens)
    if answer.cut:
        return response_body(new_id("resp"), request, output, usage, "incomplete", {"reason": "max_output_tokens"})
    return response_body(new_id("resp"), request, output, usage)


def response_body(
    response_id: str,
    request: dict[str, Any],
    output: list[dict[str, Any]],
    usage: tuple[int, int],
    status: str = "completed",
    incomplete: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Responses API ``response`` object for ``request`` with ``output`` and (input, output) token ``usage``."""
    usage_in, usage_out = usage
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": request.get("background") is True,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model"),
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "top_p": request.get("top_p", 1.0),
        "text": {"format": (request.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "truncation": "disabled",
        "metadata": request.get("metadata") or {},
        "usage": {
            "input_tokens": usage_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage_in + usage_out,
        },
    }


def input_items_page(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A response's input items as the API lists them: its conversation less the function calls, numbered."""
    page = [{"id": f"item_{n}", **item} for n, item in enumerate(i for i in items if i.get("type") != "function_call")]
    ends = {"first_id": page[0]["id"], "last_id": page[-1]["id"]} if page else {}
    return {"object": "list", "data": page, "has_more": False} | ends
