"""From a run and its thread to what the model is asked, one turn at a time, and what its answer must be."""

from __future__ import annotations

import json
from typing import Any

from . import json_schema
from .common import CodeInterpreterTool, FileSearchTool
from .message import Message
from .model_turn import InputMessage, ToolOutput, TurnRequest
from .run_record import RunRecord
from .server_tools import client_functions

MIN_OUTPUT_TOKENS = 16
"""The smallest ``max_output_tokens`` the Responses API takes."""


def _turn_for(record: RunRecord) -> TurnRequest:
    run = record.run
    budget = None
    if run.max_completion_tokens is not None:
        budget = max(MIN_OUTPUT_TOKENS, run.max_completion_tokens - record.usage.completion_tokens)
    return TurnRequest(
        model=run.model,
        instructions=run.instructions or None,
        tools=client_functions(run.tools) + record.server_tools,
        code_interpreter=any(isinstance(tool, CodeInterpreterTool) for tool in run.tools),
        # file_search needs vector stores; without any it is left out of the model call.
        file_search_vector_store_ids=record.vector_store_ids
        if any(isinstance(tool, FileSearchTool) for tool in run.tools)
        else [],
        tool_choice=run.tool_choice,
        parallel_tool_calls=run.parallel_tool_calls,
        temperature=run.temperature,
        top_p=run.top_p,
        response_format=run.response_format,
        max_output_tokens=budget,
        metadata={"thread_id": run.thread_id, "run_id": run.id},
    )


def first_turn(record: RunRecord, thread_messages: list[Message]) -> TurnRequest:
    """The request that starts a run: the thread (cut by the run's truncation strategy) and the run's settings."""
    messages = thread_messages
    strategy = record.run.truncation_strategy
    if strategy.type == "last_messages" and strategy.last_messages is not None:
        messages = messages[-strategy.last_messages :] if strategy.last_messages else []
    request = _turn_for(record)
    request.messages = [InputMessage(role=message.role, text=message.text) for message in messages]
    return request


def next_turn(record: RunRecord, previous_response_id: str, outputs: list[ToolOutput]) -> TurnRequest:
    """The request that answers a turn's function calls: it continues the previous response."""
    request = _turn_for(record)
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
