"""What the loop writes of a turn: its message and run steps, and what the model reads of the tools' outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...domain import code_interpreter, file_search
from ...domain.common import now_ms
from ...domain.ids import new_id
from ...domain.message import ImageFile, ImageFileContentBlock, Message, MessageContent, text_content
from ...domain.message import IncompleteDetails as MessageIncompleteDetails
from ...domain.model_turn import ModelTurn
from ...domain.pagination import PageRequest
from ...domain.run_record import RunRecord, message_slot, message_step_slot
from ...domain.run_step import (
    MessageCreation,
    MessageCreationStepDetails,
    RunStep,
    StepDetails,
    StepTiming,
    ToolCallsStepDetails,
)
from ...domain.tool_call import ToolCall
from ...ports import Stores
from .state import LoopState


def turn_message(
    stores: Stores, state: LoopState, record: RunRecord, turn: ModelTurn, incomplete: bool = False
) -> list[Message | RunStep]:
    """The message a turn's text becomes and its ``message_creation`` step, finished, under the ids the turn
    claims (a run's stream may have stored them in progress already)."""
    run = record.run
    at_ms = now_ms()
    at = at_ms // 1000
    message_id = stores.runs.claim_id(state.thread_id, state.run_id, message_slot(turn.id), new_id("msg"))
    step_id = stores.runs.claim_id(state.thread_id, state.run_id, message_step_slot(turn.id), new_id("step"))
    text = turn.output_text
    wrote = _wrote(stores, state, record, text, message_id)
    images: list[MessageContent] = [ImageFileContentBlock(image_file=ImageFile(file_id=i)) for i in wrote.images]
    message = Message(
        id=message_id,
        created_at=at,
        thread_id=run.thread_id,
        role="assistant",
        content=text_content(text, wrote.annotations(text)) + images,
        assistant_id=run.assistant_id,
        run_id=run.id,
        status="incomplete" if incomplete else "completed",
        incomplete_details=MessageIncompleteDetails(reason="max_tokens") if incomplete else None,
        incomplete_at=at if incomplete else None,
        completed_at=None if incomplete else at,
    )
    details = MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id))
    return [message, step(record, step_id, details, turn, at_ms, completed=True)]


@dataclass
class RunOutputs:
    """What a run's server tools gave back that its messages refer to."""

    sources: dict[tuple[int, int], str] = field(default_factory=dict)
    """The file of each source the run's ``file_search`` calls found, by the (turn, number) of its marker."""
    written: dict[str, str] = field(default_factory=dict)
    """The file of each path (under the data directory) the run's code wrote, the last written."""
    images: list[str] = field(default_factory=list)
    """The images the run's code showed since the run's message before the one they are read for."""

    def annotations(self, text: str) -> list[dict[str, Any]]:
        """A message text's annotations, in order: its markers' ``file_citation``, its links' ``file_path``."""
        found = file_search.citations(text, self.sources) + code_interpreter.file_paths(text, self.written)
        return sorted(found, key=lambda note: note["start_index"])


def _wrote(stores: Stores, state: LoopState, record: RunRecord, text: str, message_id: str) -> RunOutputs:
    """What a turn's message refers to, read only when it may refer to something: a marker, or code the run runs."""
    if "】" not in text and not code_interpreter.runs_code(record):
        return RunOutputs()
    return run_outputs(stores, state.thread_id, state.run_id, message_id)


def run_outputs(stores: Stores, thread_id: str, run_id: str, message_id: str | None = None) -> RunOutputs:
    """What the run's ``file_search`` and ``code_interpreter`` calls gave back, as its messages refer to it (as a
    message is written and as a stream relays it): what markers cite and links name, and the images of the message
    ``message_id``, those shown since the run's message before it."""
    outputs = RunOutputs()
    turn = 0
    for step in stores.steps.list_steps(thread_id, run_id, ALL).data:
        details = step.step_details
        if not isinstance(details, ToolCallsStepDetails):
            if details.message_creation.message_id != message_id:
                outputs.images = []  # shown with that message
            continue
        calls = stores.steps.get_tool_calls(thread_id, run_id, step.id)
        for number, found in _numbered_sources(calls):
            outputs.sources[(turn, number)] = found.file_id
        for call in calls:
            ran = code_interpreter.CodeOutput.read(call.output) if call.kind == "code_interpreter" else None
            if ran is not None:
                outputs.written |= {file.path: file.file_id for file in ran.files}
                outputs.images += ran.images
        turn += 1
    return outputs


def step(
    record: RunRecord, step_id: str, details: StepDetails, turn: ModelTurn, at_ms: int, completed: bool = False
) -> RunStep:
    """A run step of the record's run made by one model turn at ``at_ms`` (``completed`` at once: a message's)."""
    run = record.run
    timing = StepTiming(
        turn_started_at_ms=record.turn_started_at_ms, created_at_ms=at_ms, ended_at_ms=at_ms if completed else None
    )
    return RunStep(
        id=step_id,
        created_at=at_ms // 1000,
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=details.type,
        step_details=details,
        usage=turn.usage,
        status="completed" if completed else "in_progress",
        completed_at=at_ms // 1000 if completed else None,
        timing=timing,
    )


ALL = PageRequest(limit=100, order="asc")
"""Every step of a run, every message of a run: a run has a few."""


def _numbered_sources(calls: list[ToolCall]) -> list[tuple[int, file_search.Source]]:
    """The sources of a turn's ``file_search`` calls, numbered on from one call to the next, as the model read them."""
    numbered: list[tuple[int, file_search.Source]] = []
    for call in calls:
        found = file_search.FileSearchOutput.read(call.output) if call.kind == "file_search" else None
        for source in found.results if found else []:
            numbered.append((len(numbered), source))
    return numbered


def model_outputs(calls: list[ToolCall], turn: int) -> list[tuple[ToolCall, str]]:
    """What the model reads of each call's output: a ``file_search`` call's results as sources behind markers, a
    ``code_interpreter`` call's output and the links of the files its code wrote."""
    answered: list[tuple[ToolCall, str]] = []
    first = 0
    for call in calls:
        if call.kind == "code_interpreter":
            answered.append((call, code_interpreter.model_text(call.output)))
            continue
        found = file_search.FileSearchOutput.read(call.output) if call.kind == "file_search" else None
        if found is None:
            answered.append((call, call.output or ""))
            continue
        answered.append((call, file_search.sources_text(turn, first, found)))
        first += len(found.results)
    return answered
