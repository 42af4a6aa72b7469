"""The events of a streamed run, in the hosted Assistants API's names and shapes (server-sent events), and the
objects as a stream shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel

from .message import Message, TextContentBlock
from .run import Run
from .run_record import RunRecord, message_step_slot, tool_step_slot
from .run_step import CodeInterpreterToolCall, MessageCreationStepDetails, RunStep, ToolCallsStepDetails


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


def message_delta(
    message_id: str, text: str, annotations: Sequence[dict[str, Any]] = (), images: Sequence[tuple[int, str]] = ()
) -> StreamEvent:
    """A piece of a message's text, as ``thread.message.delta`` carried it, with the annotations it completes (each
    with its ``index``); and ``images`` (their index among the message's content parts, their file) shown with it."""
    content: list[dict[str, Any]] = []
    if text or annotations or not images:
        content.append({"index": 0, "type": "text", "text": {"value": text, "annotations": list(annotations)}})
    content += [{"index": index, "type": "image_file", "image_file": {"file_id": file_id}} for index, file_id in images]
    return StreamEvent(
        "thread.message.delta", {"id": message_id, "object": "thread.message.delta", "delta": {"content": content}}
    )


def numbered(annotations: Sequence[dict[str, Any]], sent: int) -> list[dict[str, Any]]:
    """The annotations of a text (its whole list, in order) past the first ``sent``: what the next delta brings, each
    with its ``index`` in the list, as the hosted API's deltas had them."""
    return [{"index": index, **note} for index, note in enumerate(annotations) if index >= sent]


def call_started(step_id: str, index: int, call_id: str, name: str, kind: str = "function") -> StreamEvent:
    """A call the model started in a ``tool_calls`` step, in the shape its step will show: a ``function`` call
    with its id and name (no arguments yet), a ``file_search`` call, which shows neither name nor arguments, or a
    ``code_interpreter`` call, its code to come."""
    call: dict[str, Any] = {"index": index, "id": call_id, "type": kind}
    if kind == "file_search":
        call["file_search"] = {}
    elif kind == "code_interpreter":
        call["code_interpreter"] = {"input": "", "outputs": []}
    else:
        call["function"] = {"name": name, "arguments": "", "output": None}
    return _step_delta(step_id, call)


def code_input(step_id: str, index: int, code: str) -> StreamEvent:
    """A piece of the code of the ``code_interpreter`` call at ``index`` of a ``tool_calls`` step."""
    return _step_delta(step_id, {"index": index, "type": "code_interpreter", "code_interpreter": {"input": code}})


def code_outputs(step_id: str, index: int, outputs: Sequence[dict[str, Any]]) -> StreamEvent:
    """The outputs (``logs``, ``image``) of the ``code_interpreter`` call at ``index``, once its code ran."""
    items = [{"index": number, **output} for number, output in enumerate(outputs)]
    return _step_delta(step_id, {"index": index, "type": "code_interpreter", "code_interpreter": {"outputs": items}})


def call_arguments(step_id: str, index: int, text: str) -> StreamEvent:
    """A piece of the arguments of the call at ``index`` of a ``tool_calls`` step."""
    return _step_delta(step_id, {"index": index, "type": "function", "function": {"arguments": text}})


def _step_delta(step_id: str, call: dict[str, Any]) -> StreamEvent:
    delta = {"step_details": {"type": "tool_calls", "tool_calls": [call]}}
    return StreamEvent("thread.run.step.delta", {"id": step_id, "object": "thread.run.step.delta", "delta": delta})


def begun_step(run: Run, step_id: str, details: MessageCreationStepDetails | ToolCallsStepDetails, at: int) -> RunStep:
    """A step as a run's stream stores it when the model starts it: in progress."""
    return RunStep(
        id=step_id,
        created_at=at,
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=details.type,
        step_details=details,
    )


def begun_message(message: Message) -> Message:
    """A message as it was when it began: in progress, without content."""
    unfinished: dict[str, object] = {
        "status": "in_progress",
        "content": [],
        "completed_at": None,
        "incomplete_at": None,
    }
    return message.model_copy(update=unfinished | {"incomplete_details": None})


def steps_of(record: RunRecord, response_id: str | None) -> set[str]:
    """The steps a response's turn made or claimed: its message's, its calls'."""
    if response_id is None:
        return set()
    slots = (message_step_slot(response_id), tool_step_slot(response_id))
    return {record.claims[slot] for slot in slots if slot in record.claims}


def ran_code(step: RunStep) -> list[tuple[int, CodeInterpreterToolCall]]:
    """The step's ``code_interpreter`` calls whose outputs it shows, with their index among its calls."""
    details = step.step_details
    calls = details.tool_calls if isinstance(details, ToolCallsStepDetails) else []
    return [
        (index, call)
        for index, call in enumerate(calls)
        if isinstance(call, CodeInterpreterToolCall) and call.code_interpreter.outputs
    ]


def text_annotations(message: Message) -> list[dict[str, Any]]:
    """The annotations of a message's text (an assistant's message has one text part)."""
    texts = [part.text for part in message.content if isinstance(part, TextContentBlock)]
    return texts[0].annotations if len(texts) == 1 else []


def cancelling(run: Run) -> Run:
    """A cancelled run as it was while its cancel was under way."""
    return run.model_copy(update={"status": "cancelling", "cancelled_at": None, "usage": None})
