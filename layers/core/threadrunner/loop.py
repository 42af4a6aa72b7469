"""The work of each run-loop state. The ASL file decides the order; this module does the steps.

Every method is safe to retry: Step Functions retries a task after a transient Lambda error,
so each one checks what an earlier attempt already did before doing it again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from .domain import conversation
from .domain.common import LastError, now
from .domain.ids import new_id
from .domain.message import IncompleteDetails as MessageIncompleteDetails
from .domain.message import Message, text_content
from .domain.model_turn import ModelTurn, ToolOutput
from .domain.pagination import PageRequest
from .domain.run import IncompleteDetails, Run
from .domain.run_record import RunRecord, RunRef
from .domain.run_step import (
    FunctionCall,
    FunctionToolCall,
    MessageCreation,
    MessageCreationStepDetails,
    RunStep,
    StepDetails,
    ToolCallsStepDetails,
)
from .domain.tool_call import ToolCall
from .errors import InvalidTransition, ThreadrunnerError
from .ports import ModelClient, Store, ToolCatalogue

TurnOutcome = Literal["pending", "tool_calls", "completed", "incomplete", "failed", "stopped"]

_POLL_INTERVAL_CEILING = 0.25

MAX_TOOL_ROUNDS_CODE = "max_tool_rounds_exceeded"
"""The ``last_error.code`` of a run stopped by the tool-round cap."""

# Error names of Catch (Lambda errorType or States.*) that map to an API error code other than server_error.
_ERROR_CODES = {"ModelRateLimited": "rate_limit_exceeded", "ModelRequestRejected": "invalid_prompt"}


class ToolOutputsMissing(ThreadrunnerError):
    """A turn's tool outputs were to be sent, but some call has none: the run cannot go on."""


class TurnState(BaseModel):
    """The loop's state between tasks (``$.turn``): ids and small control values, never content."""

    response_id: str | None = None
    """The model response of the current turn."""
    outcome: TurnOutcome = "pending"
    """What the last task found; the Choice state branches on it."""
    delay_seconds: int = 0
    """How long the next Wait state waits."""
    polls: int = 0
    """CheckTurn invocations in this turn so far, for the backoff."""
    step_id: str | None = None
    """The ``tool_calls`` step of this turn."""
    server_calls: list[str] = Field(default_factory=list)
    """Call ids the ToolFunction runs (the Map state's items)."""
    client_calls: list[str] = Field(default_factory=list)
    """Call ids the caller must answer."""
    last_error: LastError | None = None
    """Why the turn failed, when it did."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_server_calls(self) -> bool:
        """Whether the Map state has calls to run (Choice rules cannot test a list for emptiness)."""
        return bool(self.server_calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_client_calls(self) -> bool:
        """Whether the caller must answer calls."""
        return bool(self.client_calls)


class CaughtError(BaseModel):
    """What a Catch puts in the state: the error name and its cause."""

    Error: str
    Cause: str = ""


class LoopState(RunRef):
    """The state machine's whole state: the run's ids, the current turn and, after a Catch, the error."""

    turn: TurnState | None = None
    error: CaughtError | None = None


class LoopSettings(BaseModel):
    max_tool_rounds: int = 10
    poll_window_seconds: float = 4.0
    max_poll_delay_seconds: int = 10


class RunLoop:
    """The tasks of the state machine, on the ports."""

    def __init__(
        self,
        store: Store,
        model: ModelClient,
        catalogue: ToolCatalogue,
        settings: LoopSettings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._model = model
        self._catalogue = catalogue
        self._settings = settings
        self._sleep = sleep
        self._clock = clock

    def start_turn(self, ref: LoopState) -> TurnState:
        """Move the run to ``in_progress`` and ask the model for its first turn."""
        record = self._store.get_run_record(ref.thread_id, ref.run_id)
        run = record.run
        if run.status == "queued":
            run = self._store.transition_run(ref.thread_id, ref.run_id, "in_progress", started_at=now())
        elif run.status != "in_progress":
            return TurnState(outcome="stopped")
        if record.response_id:  # a retried StartTurn: the response exists already
            return TurnState(response_id=record.response_id)
        request = conversation.first_turn(run, self._store.conversation(ref.thread_id))
        turn = self._model.create(request)
        self._store.set_turn(ref.thread_id, ref.run_id, turn.id, tool_round=False)
        return TurnState(response_id=turn.id)

    def check_turn(self, ref: LoopState) -> TurnState:
        """Poll the model for a while; say whether the turn is still running, calls tools, or is done."""
        state = _turn_of(ref)
        record = self._store.get_run_record(ref.thread_id, ref.run_id)
        if record.run.status != "in_progress":
            return self._stop(ref, record)
        assert state.response_id is not None  # _turn_of checked it
        turn = self._poll(state.response_id)
        if not turn.is_finished:
            return TurnState(
                response_id=turn.id,
                delay_seconds=conversation.next_poll_delay(state.polls, self._settings.max_poll_delay_seconds),
                polls=state.polls + 1,
            )
        if turn.status == "completed" and turn.function_calls:
            return self._tool_calls(ref, record, turn)
        if turn.status in ("completed", "incomplete"):
            return TurnState(response_id=turn.id, outcome=turn.status)
        error = turn.error or LastError(code="server_error", message=f"The model response ended {turn.status}.")
        return TurnState(response_id=turn.id, outcome="failed", last_error=error)

    def submit_tool_outputs(self, ref: LoopState) -> TurnState:
        """Send the turn's tool outputs back to the model, continuing its response."""
        state = _turn_of(ref)
        record = self._store.get_run_record(ref.thread_id, ref.run_id)
        if record.run.status != "in_progress":
            return self._stop(ref, record)
        if record.response_id != state.response_id:  # a retried task: the outputs went already
            return TurnState(response_id=record.response_id)
        assert state.step_id is not None and state.response_id is not None
        calls = self._store.get_tool_calls(ref.thread_id, ref.run_id, state.step_id)
        missing = [call.call_id for call in calls if call.output is None]
        if missing:
            raise ToolOutputsMissing(f"No output was recorded for the tool calls {', '.join(missing)}.")
        outputs = [ToolOutput(call_id=call.call_id, output=call.output or "") for call in calls]
        turn = self._model.create(conversation.next_turn(record.run, state.response_id, outputs))
        self._store.set_step_status(ref.thread_id, ref.run_id, state.step_id, "completed", now())
        self._store.set_turn(ref.thread_id, ref.run_id, turn.id, tool_round=True)
        return TurnState(response_id=turn.id)

    def finalize_run(self, ref: LoopState) -> TurnState:
        """Write the assistant's message, its run step, the run's usage, and end the run."""
        state = _turn_of(ref)
        record = self._store.get_run_record(ref.thread_id, ref.run_id)
        if record.run.status != "in_progress":
            return self._stop(ref, record)
        assert state.response_id is not None
        turn = self._model.retrieve(state.response_id)
        if turn.usage:
            self._store.add_usage(ref.thread_id, ref.run_id, turn.id, turn.usage)
        run = record.run
        at = now()
        incomplete = turn.status == "incomplete"
        message_id = self._store.claim_id(ref.thread_id, ref.run_id, "message", new_id("msg"))
        self._store.put_run_message(
            Message(
                id=message_id,
                created_at=at,
                thread_id=run.thread_id,
                role="assistant",
                content=text_content(turn.output_text),
                assistant_id=run.assistant_id,
                run_id=run.id,
                status="incomplete" if incomplete else "completed",
                incomplete_details=MessageIncompleteDetails(reason="max_tokens") if incomplete else None,
                incomplete_at=at if incomplete else None,
                completed_at=None if incomplete else at,
            )
        )
        step_id = self._store.claim_id(ref.thread_id, ref.run_id, "message_step", new_id("step"))
        details = MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id))
        self._store.put_step(_step(run, step_id, details, turn, status="completed", completed_at=at), [])
        usage = self._store.get_run_record(ref.thread_id, ref.run_id).usage
        try:
            if incomplete:
                self._store.transition_run(
                    ref.thread_id,
                    ref.run_id,
                    "incomplete",
                    incomplete_details=IncompleteDetails(reason="max_completion_tokens"),
                    usage=usage,
                )
            else:
                self._store.transition_run(ref.thread_id, ref.run_id, "completed", completed_at=at, usage=usage)
        except InvalidTransition:  # cancelled meanwhile: the cancel wins
            return TurnState(outcome="stopped")
        return TurnState(response_id=turn.id, outcome=turn.status)

    def fail_run(self, ref: LoopState) -> TurnState:
        """End the run ``failed`` with ``last_error``, from an error a Catch caught or from a failed turn."""
        caught = ref.error
        error = _from_caught(caught) if caught else (ref.turn.last_error if ref.turn else None) or _from_caught(None)
        record = self._store.get_run_record(ref.thread_id, ref.run_id)
        if record.run.is_terminal:
            return TurnState(outcome="stopped")
        if record.response_id and caught is not None:
            self._cancel_quietly(record.response_id)
        at = now()
        for step in self._store.list_steps(ref.thread_id, ref.run_id, _ALL_STEPS).data:
            if step.status == "in_progress":
                self._store.set_step_status(ref.thread_id, ref.run_id, step.id, "failed", at)
        try:
            self._store.transition_run(
                ref.thread_id, ref.run_id, "failed", failed_at=at, last_error=error, usage=record.usage
            )
        except InvalidTransition:
            return TurnState(outcome="stopped")
        return TurnState(outcome="failed", last_error=error)

    def _poll(self, response_id: str) -> ModelTurn:
        """Retrieve the response until it finishes or the poll window closes."""
        deadline = self._clock() + self._settings.poll_window_seconds
        interval = 0.1
        while True:
            turn = self._model.retrieve(response_id)
            if turn.is_finished or self._clock() + interval > deadline:
                return turn
            self._sleep(interval)
            # A quarter second at most: the delay a finished response waits to be seen.
            interval = min(interval * 1.5, _POLL_INTERVAL_CEILING)

    def _tool_calls(self, ref: RunRef, record: RunRecord, turn: ModelTurn) -> TurnState:
        if record.tool_rounds >= self._settings.max_tool_rounds:
            message = (
                f"The run stopped after {record.tool_rounds} rounds of tool calls, the most one run may take "
                f"(MAX_TOOL_ROUNDS). The model asked for more: {', '.join(c.name for c in turn.function_calls)}."
            )
            return TurnState(
                response_id=turn.id, outcome="failed", last_error=LastError(code=MAX_TOOL_ROUNDS_CODE, message=message)
            )
        if turn.usage:
            self._store.add_usage(ref.thread_id, ref.run_id, turn.id, turn.usage)
        run = record.run
        step_id = self._store.claim_id(ref.thread_id, ref.run_id, f"step:{turn.id}", new_id("step"))
        server_names = self._catalogue.server_tool_names()
        calls = [
            ToolCall(
                call_id=call.call_id,
                run_id=run.id,
                step_id=step_id,
                name=call.name,
                arguments=call.arguments,
                side="server" if call.name in server_names else "client",
            )
            for call in turn.function_calls
        ]
        details = ToolCallsStepDetails(
            tool_calls=[
                FunctionToolCall(id=call.call_id, function=FunctionCall(name=call.name, arguments=call.arguments))
                for call in calls
            ]
        )
        self._store.put_step(_step(run, step_id, details, turn), calls)
        return TurnState(
            response_id=turn.id,
            outcome="tool_calls",
            step_id=step_id,
            server_calls=[call.call_id for call in calls if call.side == "server"],
            client_calls=[call.call_id for call in calls if call.side == "client"],
        )

    def _stop(self, ref: RunRef, record: RunRecord) -> TurnState:
        """The run left ``in_progress`` outside the loop (a cancel); finish what the loop owns and stop."""
        if record.run.status == "cancelling":
            if record.response_id:
                self._cancel_quietly(record.response_id)
            try:
                self._store.transition_run(ref.thread_id, ref.run_id, "cancelled", cancelled_at=now())
            except InvalidTransition:
                pass  # another task of this loop cancelled it first
        return TurnState(outcome="stopped")

    def _cancel_quietly(self, response_id: str) -> None:
        try:
            self._model.cancel(response_id)
        except Exception:  # the run ends either way; a response that cannot be cancelled just finishes
            pass


def _turn_of(state: LoopState) -> TurnState:
    if state.turn is None or state.turn.response_id is None:
        raise ValueError("this task needs the state's turn and its response_id")
    return state.turn


def _step(run: Run, step_id: str, details: StepDetails, turn: ModelTurn, **fields: Any) -> RunStep:
    """A run step of ``run`` made by one model turn."""
    return RunStep(
        id=step_id,
        created_at=now(),
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=details.type,
        step_details=details,
        usage=turn.usage,
        **fields,
    )


def _from_caught(caught: CaughtError | None) -> LastError:
    if caught is None:
        return LastError(code="server_error", message="The run failed for an unknown reason.")
    message = caught.Cause
    try:  # a Lambda error's cause is its JSON error payload
        message = json.loads(caught.Cause).get("errorMessage", caught.Cause)
    except (ValueError, AttributeError):
        pass
    return LastError(code=_ERROR_CODES.get(caught.Error, "server_error"), message=f"{caught.Error}: {message}"[:1000])


_ALL_STEPS = PageRequest(limit=100, order="asc")
