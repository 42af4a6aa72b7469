"""The events of a streamed run, in the hosted Assistants API's names and shapes (server-sent events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel


class StreamEvent(NamedTuple):
    """One server-sent event: its name, and its data (a wire object, a delta, or ``[DONE]``)."""

    event: str
    data: BaseModel | dict[str, Any] | str


DONE = StreamEvent("done", "[DONE]")
"""The last event of every stream that ends as the hosted API ended them."""


KEEP_ALIVE = StreamEvent("keep-alive", "")
"""Not an event: an SSE comment line sent while nothing else is, so a client that left is found by the failed write
(SSE parsers, the openai SDKs' among them, skip comments)."""


def error_event(message: str, code: str = "server_error") -> StreamEvent:
    """The ``error`` event: the stream broke on the server's side; the run goes on and can be polled."""
    return StreamEvent("error", {"message": message, "type": "server_error", "param": None, "code": code})


def message_delta(message_id: str, text: str, annotations: Sequence[dict[str, Any]] = ()) -> StreamEvent:
    """A piece of a message's text, as ``thread.message.delta`` carried it, with the annotations it completes."""
    content = {"index": 0, "type": "text", "text": {"value": text, "annotations": list(annotations)}}
    return StreamEvent(
        "thread.message.delta", {"id": message_id, "object": "thread.message.delta", "delta": {"content": [content]}}
    )


def completed_by(annotations: Sequence[dict[str, Any]], shown: int) -> list[dict[str, Any]]:
    """The annotations of a text (its whole list, in order) that end past its first ``shown`` characters: what the
    delta that carries the rest brings, each with its ``index`` in the list, as the hosted API's deltas had them."""
    return [{"index": index, **note} for index, note in enumerate(annotations) if note["end_index"] > shown]


def call_started(step_id: str, index: int, call_id: str, name: str, kind: str = "function") -> StreamEvent:
    """A call the model started in a ``tool_calls`` step, in the shape its step will show: a ``function`` call
    with its id and name (no arguments yet), or a ``file_search`` call, which shows neither name nor arguments."""
    call: dict[str, Any] = {"index": index, "id": call_id, "type": kind}
    if kind == "file_search":
        call["file_search"] = {}
    else:
        call["function"] = {"name": name, "arguments": "", "output": None}
    return _step_delta(step_id, call)


def call_arguments(step_id: str, index: int, text: str) -> StreamEvent:
    """A piece of the arguments of the call at ``index`` of a ``tool_calls`` step."""
    return _step_delta(step_id, {"index": index, "type": "function", "function": {"arguments": text}})


def _step_delta(step_id: str, call: dict[str, Any]) -> StreamEvent:
    delta = {"step_details": {"type": "tool_calls", "tool_calls": [call]}}
    return StreamEvent("thread.run.step.delta", {"id": step_id, "object": "thread.run.step.delta", "delta": delta})
