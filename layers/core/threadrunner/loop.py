"""The work of each run-loop state. The ASL file decides the order; this module does the steps.

Every method is safe to retry: Step Functions retries a task after a transient Lambda error,
so each one checks what an earlier attempt already did before doing it again. Every method
also looks at the run's status first: a run that left ``in_progress`` outside the loop (a
cancel) is finished by the loop, not driven further.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from . import service, users
from .config import Settings
from .domain import conversation
from .domain.budget import Reservation, today
from .domain.common import FunctionDefinition, LastError, now
from .domain.ids import new_id
from .domain.message import IncompleteDetails as MessageIncompleteDetails
from .domain.message import Message, text_content
from .domain.model_turn import ModelTurn, ToolOutput, TurnRequest
from .domain.pagination import PageRequest
from .domain.run import (
    IncompleteDetails,
    RequiredAction,
    RequiredActionFunction,
    RequiredActionFunctionToolCall,
    Run,
    SubmitToolOutputs,
)
from .domain.run_event import run_event
from .domain.run_record import RunRecord, RunRef
from .domain.run_status import RunStatus
from .domain.run_step import (
    FunctionCall,
    FunctionToolCall,
    MessageCreation,
    MessageCreationStepDetails,
    RunStep,
    RunStepStatus,
    StepDetails,
    ToolCallsStepDetails,
)
from .domain.server_tools import server_tool_names
from .domain.tool_call import ToolCall
from .errors import RUN_CANCELLED, InvalidTransition, NotFound, ThreadrunnerError
from .observability import logger
from .ports import EventPublisher, ModelClient, RunLoopControl, Store, ToolCatalogue

TurnOutcome = Literal["pending", "tool_calls", "completed", "incomplete", "failed", "stopped"]
IncompleteReason = Literal["max_completion_tokens", "max_prompt_tokens"]

_POLL_INTERVAL_CEILING = 0.25

MAX_TOOL_ROUNDS_CODE = "max_tool_rounds_exceeded"
"""The ``last_error.code`` of a run stopped by the tool-round cap."""

TOO_MANY_TOOL_CALLS_CODE = "too_many_tool_calls"
"""The ``last_error.code`` of a run whose model asked for more calls in one turn than a turn may make."""

INVALID_RESPONSE_FORMAT_CODE = "invalid_response_format"
"""The ``last_error.code`` of a run whose final message does not match its ``response_format``."""

# Error names of Catch (Lambda errorType or States.*) that map to an API error code other than server_error.
_ERROR_CODES = {
    "ModelRateLimited": "rate_limit_exceeded",
    "ModelRequestRejected": "invalid_prompt",
    "BudgetExceeded": "daily_budget_exceeded",
}


class ToolOutputsMissing(ThreadrunnerError):
    """A turn's tool outputs were to be sent, but some call has none: the run cannot go on."""


class ServerToolUnavailable(ThreadrunnerError):
    """A server tool the run declares is gone from the registry (a new deployment): the run cannot start."""


class RunLoopEnded(ThreadrunnerError):
    """The loop's execution ended (failed, timed out, aborted) before its run did: the reconciler's cause."""


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
    tool_outputs_timeout_seconds: int = 600
    """How long the loop waits for the caller's outputs before the run expires (TimeoutSecondsPath)."""
    incomplete_reason: IncompleteReason | None = None
    """Which token limit ends the run ``incomplete``."""
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

    Error: str = "States.Runtime"
    Cause: str | None = None


class LoopState(RunRef):
    """The state machine's whole state: the run's ids, the current turn and, after a Catch, the error."""

    turn: TurnState | None = None
    error: CaughtError | None = None
    task_token: str | None = None
    """Only in the input of the task that waits for tool outputs."""


class RunLoop:
    """The tasks of the state machine, on the ports."""

    def __init__(
        self,
        store: Store,
        model: Callable[[], ModelClient],
        catalogue: ToolCatalogue,
        control: RunLoopControl,
        events: EventPublisher,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._model_factory = model
        self._catalogue = catalogue
        self._control = control
        self._events = events
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self.model_polls = 0
        """How often this task asked the model for a response's state (a metric of the handler)."""
        self.run_metrics: list[tuple[str, str, float]] = []
        """(name, unit, value) of an ended run, set by AnnounceRun for the handler to publish."""

    @property
    def _model(self) -> ModelClient:
        # Built on first use: the tasks that never call the model never import its SDK.
        return self._model_factory()

    def start_turn(self, state: LoopState) -> TurnState:
        """Move the run to ``in_progress`` and ask the model for its first turn."""
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if record.run.status == "queued":
            try:
                record.run = self._store.transition_run(state.thread_id, state.run_id, "in_progress", started_at=now())
            except InvalidTransition:  # cancelled before it started
                return self._stop(state)
        elif record.run.status != "in_progress":
            return self._stop(state)
        if record.response_id:  # a retried StartTurn: the response exists already
            return TurnState(response_id=record.response_id)
        record.server_tools = self._server_tools(record.run)
        if record.server_tools:  # later turns offer the same tools, whatever the registry does meanwhile
            self._store.update_run(
                state.thread_id, state.run_id, {"server_tools": [tool.model_dump() for tool in record.server_tools]}
            )
        messages = self._store.newest_messages(state.thread_id)
        request = conversation.first_turn(record, messages, self._settings.model_context_tokens)
        turn = self._create(state, record, request)
        self._store.set_turn(state.thread_id, state.run_id, turn.id, tool_round=False)
        return TurnState(response_id=turn.id)

    def check_turn(self, state: LoopState) -> TurnState:
        """Poll the model for a while; say whether the turn is still running, calls tools, or is done."""
        response_id = _turn_of(state).response_id
        assert response_id is not None
        if self._store.get_run(state.thread_id, state.run_id).status != "in_progress":
            return self._stop(state)
        turn = self._poll(state, response_id)
        if turn is None:
            return self._stop(state)
        if not turn.is_finished:
            polls = _turn_of(state).polls
            return TurnState(
                response_id=turn.id,
                delay_seconds=conversation.next_poll_delay(polls, self._settings.max_poll_delay_seconds),
                polls=polls + 1,
            )
        self._store.settle(turn.id, turn.usage)
        if turn.usage:
            self._store.add_usage(state.thread_id, state.run_id, turn.id, turn.usage)
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if turn.status == "incomplete":
            return TurnState(response_id=turn.id, outcome="incomplete", incomplete_reason="max_completion_tokens")
        if turn.status != "completed":
            error = turn.error or LastError(code="server_error", message=f"The model response ended {turn.status}.")
            return TurnState(response_id=turn.id, outcome="failed", last_error=error)
        limit = record.run.max_prompt_tokens
        if limit is not None and record.usage.prompt_tokens > limit:
            return TurnState(response_id=turn.id, outcome="incomplete", incomplete_reason="max_prompt_tokens")
        if turn.function_calls:
            return self._tool_calls(state, record, turn)
        return TurnState(response_id=turn.id, outcome="completed")

    def request_tool_outputs(self, state: LoopState) -> TurnState:
        """Show the client's calls as ``requires_action`` and park the loop on the task token."""
        turn_state = _turn_of(state)
        assert state.task_token is not None and turn_state.step_id is not None
        waiting = set(turn_state.client_calls)
        calls = self._store.get_tool_calls(state.thread_id, state.run_id, turn_state.step_id)
        required = RequiredAction(
            submit_tool_outputs=SubmitToolOutputs(
                tool_calls=[
                    RequiredActionFunctionToolCall(
                        id=call.call_id, function=RequiredActionFunction(name=call.name, arguments=call.arguments)
                    )
                    for call in calls
                    if call.call_id in waiting
                ]
            )
        )
        try:
            run = self._store.transition_run(
                state.thread_id,
                state.run_id,
                "requires_action",
                required_action=required,
                expires_at=now() + turn_state.tool_outputs_timeout_seconds,
                task_token=state.task_token,
                waiting_step_id=turn_state.step_id,
            )
            self._events.publish(run_event(state.project, run, self._store.thread_user(state.thread_id), None))
        except InvalidTransition:
            current = self._store.get_run_record(state.thread_id, state.run_id)
            if current.run.status == "requires_action" and current.waiting_step_id == turn_state.step_id:
                # A retried task: this attempt's token is the one the loop waits on now.
                self._store.update_run(state.thread_id, state.run_id, {"task_token": state.task_token})
            else:
                # Cancelled meanwhile, before the token was stored: nobody else can wake the loop.
                self._control.interrupt(state.task_token, RUN_CANCELLED, "The run was cancelled.")
        return turn_state

    def submit_tool_outputs(self, state: LoopState) -> TurnState:
        """Send the turn's tool outputs back to the model, continuing its response."""
        turn_state = _turn_of(state)
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if record.run.status != "in_progress":
            return self._stop(state)
        if record.response_id != turn_state.response_id:  # a retried task: the outputs went already
            return TurnState(response_id=record.response_id)
        assert turn_state.step_id is not None and turn_state.response_id is not None
        calls = self._store.get_tool_calls(state.thread_id, state.run_id, turn_state.step_id)
        missing = [call.call_id for call in calls if call.output is None]
        if missing:
            raise ToolOutputsMissing(f"No output was recorded for the tool calls {', '.join(missing)}.")
        outputs = [ToolOutput(call_id=call.call_id, output=call.output or "") for call in calls]
        turn = self._create(state, record, conversation.next_turn(record, turn_state.response_id, outputs))
        self._store.set_step_status(state.thread_id, state.run_id, turn_state.step_id, "completed", now())
        self._store.set_turn(state.thread_id, state.run_id, turn.id, tool_round=True)
        return TurnState(response_id=turn.id)

    def finalize_run(self, state: LoopState) -> TurnState:
        """Write the assistant's message and its step, and end the run with its usage, in one write."""
        turn_state = _turn_of(state)
        assert turn_state.response_id is not None
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if record.run.status != "in_progress":
            return self._stop(state)
        turn = self._model.retrieve(turn_state.response_id)  # its usage was counted by CheckTurn
        run = record.run
        reason = turn_state.incomplete_reason
        if reason is None:
            problem = conversation.format_problem(run.response_format, turn.output_text)
            if problem:
                return self._fail(state, LastError(code=INVALID_RESPONSE_FORMAT_CODE, message=problem))
        at = now()
        puts: list[Message | RunStep] = []
        if turn.output_text or reason is None:
            message_id = self._store.claim_id(state.thread_id, state.run_id, "message", new_id("msg"))
            puts.append(
                Message(
                    id=message_id,
                    created_at=at,
                    thread_id=run.thread_id,
                    role="assistant",
                    content=text_content(turn.output_text),
                    assistant_id=run.assistant_id,
                    run_id=run.id,
                    status="incomplete" if reason else "completed",
                    incomplete_details=MessageIncompleteDetails(reason="max_tokens") if reason else None,
                    incomplete_at=at if reason else None,
                    completed_at=None if reason else at,
                )
            )
            step_id = self._store.claim_id(state.thread_id, state.run_id, "message_step", new_id("step"))
            details = MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id))
            puts.append(_step(run, step_id, details, turn, status="completed", completed_at=at))
        ending: dict[str, Any] = (
            {"incomplete_details": IncompleteDetails(reason=reason)} if reason else {"completed_at": at}
        )
        try:
            self._store.transition_run(
                state.thread_id,
                state.run_id,
                "incomplete" if reason else "completed",
                puts=puts,
                usage=record.usage,
                **ending,
            )
        except InvalidTransition:  # cancelled meanwhile: the cancel wins, and nothing of the answer is written
            return self._stop(state)
        return TurnState(response_id=turn.id, outcome="incomplete" if reason else "completed")

    def announce_run(self, state: LoopState) -> TurnState:
        """Start a run for messages queued meanwhile, then put the ended run's event on EventBridge."""
        try:
            return self._announce(state)
        except NotFound:  # the thread was deleted, before or while this ran: nobody is left to tell
            return TurnState(outcome="stopped")

    def _announce(self, state: LoopState) -> TurnState:
        record = self._store.get_run_record(state.thread_id, state.run_id)
        run = record.run
        if not run.is_terminal:
            return TurnState(outcome="stopped")
        user_id = self._store.thread_user(state.thread_id)
        if self._store.count_thread_usage(run):  # once per run, for the thread's usage and the run's metrics
            self.run_metrics = _run_metrics(record)
        # Messages queued meanwhile get their run first: an event EventBridge refuses must not stall them.
        users.drain(self._store, self._control, state.thread_id, self._settings.run_defaults)
        if "announced" not in record.claims:  # a retried task does not announce twice
            reply = None
            if "message" in record.claims:
                reply = self._store.get_message(state.thread_id, record.claims["message"])
            self._events.publish(run_event(state.project, run, user_id, reply))
            self._store.claim_id(state.thread_id, state.run_id, "announced", "yes")
        return TurnState(outcome="failed" if run.status == "failed" else "stopped")

    def reconcile(self, state: LoopState) -> TurnState:
        """The loop's execution ended without ending its run (aborted, failed, timed out): end the run
        (``expired`` after a timeout, else ``failed``), announce it and free its thread's queue."""
        self.fail_run(state)
        return self.announce_run(state)

    def fail_run(self, state: LoopState) -> TurnState:
        """End the run: ``expired`` when the wait for tool outputs timed out, ``cancelled`` after a cancel,
        else ``failed`` with ``last_error`` from the caught error or the failed turn."""
        caught = state.error
        try:
            record = self._store.get_run_record(state.thread_id, state.run_id)
        except NotFound:  # the thread was deleted under the loop: its response still ran, and still counts
            if state.turn is not None and state.turn.response_id:
                self._cancel_quietly(state.turn.response_id)
            return TurnState(outcome="stopped")
        if record.run.is_terminal:
            return TurnState(outcome="stopped")
        if record.run.status == "cancelling":
            return self._stop(state)
        if caught is not None and caught.Error == "States.Timeout":
            # The wait for tool outputs (or the whole execution) timed out: the run expires. A waiting
            # task's timeout carries no cause (the client did not answer); the execution's does.
            why = {"last_error": _from_caught(caught)} if caught.Cause else {}
            return self._end(state, record, "expired", "expired", **why)
        error = _from_caught(caught) if caught else (state.turn.last_error if state.turn else None)
        return self._fail(state, error or _from_caught(None))

    def _fail(self, state: LoopState, error: LastError) -> TurnState:
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if record.response_id and state.error is not None:
            self._cancel_quietly(record.response_id)  # a failure outside the model: stop paying for it
        ended = self._end(state, record, "failed", "failed", last_error=error)
        return ended if ended.outcome == "stopped" else TurnState(outcome="failed", last_error=error)

    def _end(
        self, state: LoopState, record: RunRecord, status: RunStatus, step_status: RunStepStatus, **changes: Any
    ) -> TurnState:
        """Move the run to a terminal status, its unfinished steps with it."""
        at = now()
        stamp = {"failed": "failed_at", "cancelled": "cancelled_at"}.get(status)
        if stamp:
            changes[stamp] = at
        for step in self._store.list_steps(state.thread_id, state.run_id, _ALL_STEPS).data:
            if step.status == "in_progress":
                self._store.set_step_status(state.thread_id, state.run_id, step.id, step_status, at)
        try:
            self._store.transition_run(
                state.thread_id, state.run_id, status, required_action=None, usage=record.usage, **changes
            )
        except InvalidTransition:  # another task ended it first
            return TurnState(outcome="stopped")
        return TurnState(outcome="failed" if status == "failed" else "stopped")

    def _poll(self, state: LoopState, response_id: str) -> ModelTurn | None:
        """Retrieve the response until it finishes or the poll window closes; ``None`` if the run is cancelled."""
        deadline = self._clock() + self._settings.poll_window_seconds
        interval = 0.1
        while True:
            turn = self._model.retrieve(response_id)
            self.model_polls += 1
            if turn.is_finished or self._clock() + interval > deadline:
                return turn
            self._sleep(interval)
            if self._store.get_run(state.thread_id, state.run_id).status != "in_progress":
                return None
            # A quarter second at most: the delay a finished response waits to be seen.
            interval = min(interval * 1.5, _POLL_INTERVAL_CEILING)

    def _tool_calls(self, state: LoopState, record: RunRecord, turn: ModelTurn) -> TurnState:
        if record.tool_rounds >= self._settings.max_tool_rounds:
            message = (
                f"The run stopped after {record.tool_rounds} rounds of tool calls, the most one run may take "
                f"(MAX_TOOL_ROUNDS). The model asked for more: {', '.join(c.name for c in turn.function_calls)}."
            )
            return TurnState(
                response_id=turn.id, outcome="failed", last_error=LastError(code=MAX_TOOL_ROUNDS_CODE, message=message)
            )
        if len(turn.function_calls) > self._settings.max_tool_calls_per_turn:
            message = (
                f"The model asked for {len(turn.function_calls)} tool calls in one turn; a turn may make at most "
                f"{self._settings.max_tool_calls_per_turn} (MAX_TOOL_CALLS_PER_TURN)."
            )
            error = LastError(code=TOO_MANY_TOOL_CALLS_CODE, message=message)
            return TurnState(response_id=turn.id, outcome="failed", last_error=error)
        run = record.run
        step_id = self._store.claim_id(state.thread_id, state.run_id, f"step:{turn.id}", new_id("step"))
        server_names = set(server_tool_names(run.tools))
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
            tool_outputs_timeout_seconds=self._settings.tool_outputs_timeout_seconds,
        )

    def _server_tools(self, run: Run) -> list[FunctionDefinition]:
        """The registry's definitions of the server tools the run declares."""
        names = server_tool_names(run.tools)
        if not names:
            return []
        catalogue = self._catalogue.server_tools()
        missing = [name for name in names if name not in catalogue]
        if missing:
            raise ServerToolUnavailable(
                f"The run declares server tools the server no longer has: {', '.join(missing)}."
            )
        return [catalogue[name] for name in names]

    def _stop(self, state: LoopState) -> TurnState:
        """The run left ``in_progress`` outside the loop: finish a cancel, and stop."""
        record = self._store.get_run_record(state.thread_id, state.run_id)
        if record.run.status == "cancelling":
            if record.response_id:
                self._cancel_quietly(record.response_id)
            self._end(state, record, "cancelled", "cancelled")
        return TurnState(outcome="stopped")

    def _create(self, state: LoopState, record: RunRecord, request: TurnRequest) -> ModelTurn:
        """Create a model response, with its tokens reserved against the day's budgets first.

        Raises :class:`~threadrunner.errors.BudgetExceeded` (the run fails) when a budget is used up.
        """
        reservation = Reservation(
            day=today(),
            user_id=self._store.thread_user(state.thread_id),
            **conversation.reservation_for(request, record.usage),
        )
        self._store.reserve(reservation, service.budget_of(self._store, self._settings.run_defaults))
        try:
            turn = self._model.create(request)
        except BaseException:
            self._store.release(reservation)  # no response, no usage
            raise
        self._store.record_response(turn.id, reservation, state.thread_id, state.run_id)
        return turn

    def _cancel_quietly(self, response_id: str) -> None:
        """Stop paying for a response, and count what it used (or, if the provider will not say, its prompt)."""
        usage = None
        try:
            turn = self._model.cancel(response_id)
            usage = turn.usage
        except ThreadrunnerError:  # it finished first, or the provider is unreachable: ask what it used
            try:
                usage = self._model.retrieve(response_id).usage
            except ThreadrunnerError:
                pass
        self._store.settle(response_id, usage)


def _run_metrics(record: RunRecord) -> list[tuple[str, str, float]]:
    """The metrics of an ended run: its outcome, duration, model turns and tokens."""
    run = record.run
    ended = run.completed_at or run.failed_at or run.cancelled_at or now()
    usage = run.usage or record.usage
    return [
        (f"Runs{run.status.title()}", "Count", 1),
        ("RunLatency", "Milliseconds", (ended - run.created_at) * 1000),
        ("ModelTurns", "Count", record.tool_rounds + 1),
        ("PromptTokens", "Count", usage.prompt_tokens),
        ("CompletionTokens", "Count", usage.completion_tokens),
    ]


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
    """The ``last_error`` of a caught error: threadrunner's own message, never what else a cause holds."""
    if caught is None:
        return LastError(code="server_error", message="The run failed for an unknown reason.")
    try:  # a task's error cause is its JSON error payload
        payload = json.loads(caught.Cause or "")
    except ValueError:
        payload = None
    ours = isinstance(payload, dict) and payload.get("errorType") in _own_error_names()
    if ours:
        message = str(payload["errorMessage"])
    else:  # an unexpected exception, or Step Functions' own words: internals for the logs, not for tenants
        logger.warning("run failed on an unexpected error", extra={"error": caught.Error, "cause": caught.Cause})
        message = "The run stopped on an internal error."
    return LastError(code=_ERROR_CODES.get(caught.Error, "server_error"), message=f"{caught.Error}: {message}"[:1000])


def _own_error_names() -> set[str]:
    """The names of threadrunner's own errors, whose messages are written for the caller."""
    names, pending = set(), [ThreadrunnerError]
    while pending:
        kind = pending.pop()
        names.add(kind.__name__)
        pending += kind.__subclasses__()
    return names


_ALL_STEPS = PageRequest(limit=100, order="asc")
