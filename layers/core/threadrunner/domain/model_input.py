"""From a run and its thread to what the model is asked, one turn at a time, and what its answer must be."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any, Literal

from . import code_interpreter, file_search, json_schema
from .budget import estimate_tokens
from .common import CodeInterpreterTool, FileSearchTool, Usage
from .message import ImageFileContentBlock, ImageURLContentBlock, Message
from .model_turn import InputImage, InputMessage, ToolOutput, TurnRequest
from .run_record import RunRecord
from .server_tools import client_functions, model_tool_choice

MIN_OUTPUT_TOKENS = 16
"""The smallest ``max_output_tokens`` the Responses API takes."""
REPLY_ROOM_TOKENS = 4096
"""What ``auto`` truncation leaves free for the reply when the run sets no ``max_completion_tokens``."""


def searches(record: RunRecord) -> bool:
    """Whether the run's model is offered ``file_search``: the run has the tool, and vector stores to search."""
    return bool(record.vector_store_ids) and any(isinstance(tool, FileSearchTool) for tool in record.run.tools)


def call_kind(record: RunRecord, name: str) -> Literal["file_search", "code_interpreter", "function"]:
    """What a call the model makes is: threadrunner's own ``file_search`` when the run searches, its own
    ``code_interpreter`` when it runs the run's code, else a function (a server tool's or the client's)."""
    if name == file_search.FILE_SEARCH and searches(record):
        return "file_search"
    if name == code_interpreter.CODE_INTERPRETER and code_interpreter.runs_code(record):
        return "code_interpreter"
    return "function"


def file_search_options(record: RunRecord) -> file_search.Options:
    tool = next((tool for tool in record.run.tools if isinstance(tool, FileSearchTool)), None)
    return file_search.Options.of(tool.file_search if tool else None)


def _turn_for(record: RunRecord, first: bool) -> TurnRequest:
    run = record.run
    budget = None
    if run.max_completion_tokens is not None:
        budget = max(MIN_OUTPUT_TOKENS, run.max_completion_tokens - record.usage.completion_tokens)
    return TurnRequest(
        model=run.model,
        instructions=run.instructions or None,
        # file_search needs vector stores; without any it is left out of the model call. code_interpreter is among
        # the server tools when threadrunner runs it.
        tools=client_functions(run.tools)
        + record.server_tools
        + ([file_search.DEFINITION] if searches(record) else []),
        # Else it is the provider's hosted tool, passed through (CODE_INTERPRETER_PASSTHROUGH).
        code_interpreter=any(isinstance(tool, CodeInterpreterTool) for tool in run.tools)
        and not code_interpreter.runs_code(record),
        # A choice that forces a call holds for the first turn only, as "before responding to the user" meant in
        # the hosted API: a turn that answers tool outputs may reply, or every turn would call again.
        tool_choice=model_tool_choice(run.tool_choice) if first else _after_calls(run.tool_choice),
        parallel_tool_calls=run.parallel_tool_calls,
        temperature=run.temperature,
        top_p=run.top_p,
        response_format=run.response_format,
        max_output_tokens=budget,
        metadata={"thread_id": run.thread_id, "run_id": run.id},
    )


def first_turn(record: RunRecord, newest_first: Iterable[Message], context_tokens: int) -> TurnRequest:
    """The request that starts a run: the thread, cut by the run's truncation strategy, and the run's settings.

    ``last_messages`` keeps that many of the newest messages; ``auto`` keeps the newest messages that fit
    the model's context (``context_tokens``) beside the instructions, the tools and room for the reply,
    dropping the oldest first, and always the newest one. Messages are read newest first and only as far
    as they are kept, so a long thread costs what its kept part costs.
    """
    request = _turn_for(record, first=True)
    strategy = record.run.truncation_strategy
    if strategy.type == "last_messages" and strategy.last_messages is not None:
        kept = list(itertools.islice(newest_first, strategy.last_messages))
    else:
        room = context_tokens - (request.max_output_tokens or REPLY_ROOM_TOKENS) - estimate_tokens(_fixed_text(request))
        kept = []
        for message in newest_first:
            room -= estimate_tokens(message.text)
            if room < 0 and kept:
                break
            kept.append(message)
    request.messages = [
        InputMessage(role=message.role, text=message.text, images=_images(message)) for message in reversed(kept)
    ]
    return request


def _after_calls(choice: Any) -> Any:
    """The tool choice of the turns after the first: ``none`` stays ``none``, anything else leaves it to the model."""
    return "none" if choice == "none" else "auto"


def _images(message: Message) -> list[InputImage]:
    """The images of a user's message (the model reads assistants' messages as text)."""
    if message.role != "user":
        return []
    images = []
    for part in message.content:
        if isinstance(part, ImageFileContentBlock):
            images.append(InputImage(file_id=part.image_file.file_id, detail=part.image_file.detail))
        elif isinstance(part, ImageURLContentBlock):
            images.append(InputImage(url=part.image_url.url, detail=part.image_url.detail))
    return images


def reservation_for(request: TurnRequest, used_so_far: Usage, output_reserve: int) -> dict[str, int]:
    """The tokens a request may cost, to reserve against the budgets: its text; for a turn that continues an
    earlier response, what the run used so far too (the provider reads the chained context again); and
    room for the answer (its ``max_output_tokens``, else ``output_reserve``)."""
    text = _fixed_text(request) + "".join(m.text for m in request.messages)
    text += "".join(output.output for output in request.tool_outputs)
    chained = used_so_far.total_tokens if request.previous_response_id else 0
    return {
        "prompt_tokens": estimate_tokens(text) + chained,
        "completion_tokens": request.max_output_tokens or output_reserve,
    }


def _fixed_text(request: TurnRequest) -> str:
    """What every turn of a run sends beside the messages and tool outputs: instructions and tools."""
    return (request.instructions or "") + json.dumps([tool.model_dump() for tool in request.tools])


def next_turn(record: RunRecord, previous_response_id: str, outputs: list[ToolOutput]) -> TurnRequest:
    """The request that answers a turn's function calls: it continues the previous response."""
    request = _turn_for(record, first=False)
    request.previous_response_id = previous_response_id
    request.tool_outputs = outputs
    return request


def format_problem(response_format: Any, text: str) -> str | None:
    """Why ``text`` does not satisfy the run's ``response_format``, or ``None`` if it does."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in ("json_object", "json_schema"):
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"The response_format is {kind}, but the model's message is not valid JSON: {exc}."
    except RecursionError:
        return f"The response_format is {kind}, but the model's message is JSON nested too deeply to read."
    if kind == "json_object":
        return None if isinstance(value, dict) else "The response_format is json_object, but the message is not one."
    problem = json_schema.problem(response_format.get("json_schema", {}).get("schema") or {}, value)
    if problem:
        return f"The model's message does not match the response_format's JSON schema: {problem}."
    return None


def next_poll_delay(polls: int, longest: int) -> int:
    """Seconds a Wait state waits before CheckTurn polls again: 1, 2, 4, ... up to ``longest``."""
    return min(2**polls, longest)


def cap_output(output: str, limit_bytes: int) -> str:
    """Cut a tool output to ``limit_bytes`` UTF-8 bytes, saying so at the end, so it fits a DynamoDB item."""
    encoded = output.encode("utf-8")
    if len(encoded) <= limit_bytes:
        return output
    note = f"\n[threadrunner: output truncated from {len(encoded)} to {limit_bytes} bytes]"
    keep = limit_bytes - len(note.encode("utf-8"))
    return encoded[:keep].decode("utf-8", errors="ignore") + note
