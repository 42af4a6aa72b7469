"""From a run and its thread to what the model is asked, one turn at a time."""

from __future__ import annotations

from .common import FunctionTool
from .message import Message
from .model_turn import InputMessage, ToolOutput, TurnRequest
from .run import Run


def _turn_for(run: Run) -> TurnRequest:
    return TurnRequest(
        model=run.model,
        instructions=run.instructions or None,
        tools=[tool.function for tool in run.tools if isinstance(tool, FunctionTool)],
        tool_choice=run.tool_choice,
        parallel_tool_calls=run.parallel_tool_calls,
        temperature=run.temperature,
        top_p=run.top_p,
        response_format=run.response_format,
        max_output_tokens=run.max_completion_tokens,
        metadata={"thread_id": run.thread_id, "run_id": run.id},
    )


def first_turn(run: Run, thread_messages: list[Message]) -> TurnRequest:
    """The request that starts a run: the thread (cut by the run's truncation strategy) and the run's settings."""
    messages = thread_messages
    strategy = run.truncation_strategy
    if strategy.type == "last_messages" and strategy.last_messages is not None:
        messages = messages[-strategy.last_messages :] if strategy.last_messages else []
    request = _turn_for(run)
    request.messages = [InputMessage(role=message.role, text=message.text) for message in messages]
    return request


def next_turn(run: Run, previous_response_id: str, outputs: list[ToolOutput]) -> TurnRequest:
    """The request that answers a turn's function calls: it continues the previous response."""
    request = _turn_for(run)
    request.previous_response_id = previous_response_id
    request.tool_outputs = outputs
    return request


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
