"""What the loop writes of a turn: its message and run steps, and what the model reads of the tools' outputs."""

from __future__ import annotations

from typing import Any

from ...domain import file_search
from ...domain.common import now_ms
from ...domain.ids import new_id
from ...domain.message import IncompleteDetails as MessageIncompleteDetails
from ...domain.message import Message, text_content
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
    message = Message(
        id=message_id,
        created_at=at,
        thread_id=run.thread_id,
        role="assistant",
        content=text_content(turn.output_text, _citations(stores, state, turn.output_text)),
        assistant_id=run.assistant_id,
        run_id=run.id,
        status="incomplete" if incomplete else "completed",
        incomplete_details=MessageIncompleteDetails(reason="max_tokens") if incomplete else None,
        incomplete_at=at if incomplete else None,
        completed_at=None if incomplete else at,
    )
    details = MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id))
    return [message, step(record, step_id, details, turn, at_ms, completed=True)]


def _citations(stores: Stores, state: LoopState, text: str) -> list[dict[str, Any]]:
    """The ``file_citation`` annotations of a message's markers, from the run's ``file_search`` results."""
    if "】" not in text:
        return []
    return file_search.citations(text, citation_sources(stores, state.thread_id, state.run_id))


def citation_sources(stores: Stores, thread_id: str, run_id: str) -> dict[tuple[int, int], str]:
    """The file of each source the run's ``file_search`` calls found, by the (turn, number) of its marker: what a
    message's markers cite, as it is written and as a stream relays it."""
    sources: dict[tuple[int, int], str] = {}
    steps = stores.steps.list_steps(thread_id, run_id, ALL).data
    for turn, step in enumerate(s for s in steps if isinstance(s.step_details, ToolCallsStepDetails)):
        for number, found in _numbered_sources(stores.steps.get_tool_calls(thread_id, run_id, step.id)):
            sources[(turn, number)] = found.file_id
    return sources


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
    """What the model reads of each call's output: a ``file_search`` call's results as sources behind markers."""
    answered: list[tuple[ToolCall, str]] = []
    first = 0
    for call in calls:
        found = file_search.FileSearchOutput.read(call.output) if call.kind == "file_search" else None
        if found is None:
            answered.append((call, call.output or ""))
            continue
        answered.append((call, file_search.sources_text(turn, first, found)))
        first += len(found.results)
    return answered
