"""The work of each run-loop task. The ASL file decides the order; this module does the steps.

Every task is safe to retry: Step Functions retries a task after a transient Lambda error, so
each one checks what an earlier attempt already did before doing it again. Every task also looks
at the run's status first: a run that left ``in_progress`` outside the loop (a cancel) is finished
by the loop, not driven further. Every task returns the turn for the next state and what it measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...config import Settings
from ...domain import model_input
from ...domain.common import FunctionDefinition, LastError, now, now_ms
from ...domain.ids import new_id
from ...domain.message import IncompleteDetails as MessageIncompleteDetails
from ...domain.message import Message
from ...domain.model_turn import ModelTurn, ToolOutput
from ...domain.run import (
    IncompleteDetails,
    RequiredAction,
    RequiredActionFunction,
    RequiredActionFunctionToolCall,
    Run,
    SubmitToolOutputs,
)
from ...domain.run_event import run_event
from ...domain.run_record import RunRecord, tool_step_slot
from ...domain.run_status import RunStatus
from ...domain.run_step import (
    RunStep,
    RunStepStatus,
    ToolCallsStepDetails,
)
from ...domain.server_tools import server_tool_names
from ...domain.tool_call import ToolCall
from ...errors import (
    RUN_CANCELLED,
    InvalidTransition,
    NotFound,
)
from ...ports import (
    Circuits,
    EventPublisher,
    FileContents,
    ModelClient,
    ResponseWebhooks,
    RunControl,
    Stores,
    ToolCatalogue,
)
from ..code_interpreter import offered_code
from ..tools import server_tools
from . import announcing, written
from .model_turns import ModelTurns
from .state import (
    INVALID_RESPONSE_FORMAT_CODE,
    MAX_TOOL_ROUNDS_CODE,
    TOO_MANY_TOOL_CALLS_CODE,
    Done,
    LoopState,
    Metric,
    ServerToolUnavailable,
    ToolOutputsMissing,
    TurnState,
    last_error_of,
)
from .waits import WebhookWaits


class RunLoop:
    """The tasks of the state machine, on the ports."""

    def __init__(
        self,
        stores: Stores,
        model: Callable[[], ModelClient],
        catalogue: ToolCatalogue,
        control: RunControl,
        events: EventPublisher,
        circuits: Circuits,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        contents: FileContents | None = None,
        webhooks: ResponseWebhooks | None = None,
    ) -> None:
        self._stores = stores
        self._turns = ModelTurns(stores, model, circuits, settings, sleep, clock, contents)
        self._catalogue = catalogue
        self._control = control
        self._events = events
        self._settings = settings
        self._waits = WebhookWaits(
            stores, webhooks, control, lambda response_id: self._turns.model.retrieve(response_id)
        )

    def _hand_over(self, state: LoopState, done: Done) -> Done:
        """With a task token (webhook mode), the turn handed to the loop through it (app/run_loop/waits.py)."""
        return self._waits.hand_over(state, done, lambda ended: self._polled(state, ended), lambda: self._stop(state))

    def start_turn(self, state: LoopState) -> Done:
        """Move the run to ``in_progress`` and ask the model for its first turn; a run whose vector stores are
        still indexing files waits ``queued`` (at most ``files_wait_seconds``), as hosted runs waited for them."""
        return self._hand_over(state, self._start_turn(state))

    def _start_turn(self, state: LoopState) -> Done:
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        polls = state.turn.polls if state.turn else 0
        if record.run.status == "queued" and self._waits_for_files(record, polls):
            delay = model_input.next_poll_delay(polls, self._settings.max_poll_delay_seconds)
            return Done(TurnState(outcome="files_pending", delay_seconds=delay, polls=polls + 1))
        if record.run.status == "queued":
            try:
                record.run = self._stores.runs.transition_run(
                    state.thread_id, state.run_id, "in_progress", started_at=now()
                )
            except InvalidTransition:  # cancelled before it started
                return Done(self._stop(state))
        elif record.run.status == "requires_action":  # a loop started again (the local stack's recovery)
            return Done(self._awaiting_outputs(state, record))
        elif record.run.status != "in_progress":
            return Done(self._stop(state))
        if record.response_id:  # a retried StartTurn, or a loop started again: the response exists already
            return Done(TurnState(response_id=record.response_id))
        record.server_tools = self._server_tools(record.run)
        if record.server_tools:  # later turns offer the same tools, whatever the registry does meanwhile
            self._stores.runs.set_server_tools(state.thread_id, state.run_id, record.server_tools)
        messages = self._stores.threads.newest_messages(state.thread_id)
        request = self._turns.with_image_files(
            model_input.first_turn(record, messages, self._settings.model_context_tokens)
        )
        return Done(TurnState(response_id=self._turns.begin(state, record, request, tool_round=False, at_ms=now_ms())))

    def _awaiting_outputs(self, state: LoopState, record: RunRecord) -> TurnState:
        """The turn of a run that shows ``requires_action``: the client's calls still unanswered, waited for
        until the run's own deadline."""
        assert record.waiting_step_id is not None
        calls = self._stores.steps.get_tool_calls(state.thread_id, state.run_id, record.waiting_step_id)
        return TurnState(
            response_id=record.response_id,
            outcome="tool_calls",
            step_id=record.waiting_step_id,
            client_calls=[call.call_id for call in calls if call.side == "client" and call.status != "completed"],
            tool_outputs_timeout_seconds=max(1, (record.run.expires_at or 0) - now()),
        )

    def check_turn(self, state: LoopState) -> Done:
        """Poll the model for a while; say whether the turn is still running, calls tools, or is done. With a task
        token (webhook mode: the loop waits for the webhook again, or a webhook has the turn checked), look once."""
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        # The run's current response: after a wait for a webhook timed out, the state's turn is the one before.
        response_id = record.response_id
        assert response_id is not None
        if record.run.status != "in_progress":
            return self._hand_over(state, Done(self._stop(state)))
        if state.task_token is not None:
            return self._hand_over(state, Done(TurnState(response_id=response_id)))
        turn, polls = self._turns.poll(state, response_id)
        measured = (Metric("ModelPolls", "Count", polls),)
        if turn is None:
            return Done(self._stop(state), measured)
        return Done(self._polled(state, turn), measured)

    def _polled(self, state: LoopState, turn: ModelTurn) -> TurnState:
        if not turn.is_finished:
            polls = state.turn.polls if state.turn else 0
            return TurnState(
                response_id=turn.id,
                delay_seconds=model_input.next_poll_delay(polls, self._settings.max_poll_delay_seconds),
                polls=polls + 1,
            )
        self._stores.usage.settle(turn.id, turn.usage)
        if turn.usage:
            self._stores.runs.add_usage(state.thread_id, state.run_id, turn.id, turn.usage)
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
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

    def request_tool_outputs(self, state: LoopState) -> Done:
        """Show the client's calls as ``requires_action`` and park the loop on the task token."""
        turn_state = _turn_of(state)
        assert state.task_token is not None and turn_state.step_id is not None
        waiting = set(turn_state.client_calls)
        calls = self._stores.steps.get_tool_calls(state.thread_id, state.run_id, turn_state.step_id)
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
        # When the client was asked, for the timeline: noted first, as a quick client may answer at once.
        self._stores.steps.ask_for_outputs(
            state.thread_id, state.run_id, turn_state.step_id, turn_state.client_calls, now_ms()
        )
        try:
            run = self._stores.runs.transition_run(
                state.thread_id,
                state.run_id,
                "requires_action",
                required_action=required,
                expires_at=now() + turn_state.tool_outputs_timeout_seconds,
                task_token=state.task_token,
                waiting_step_id=turn_state.step_id,
            )
            self._events.publish(run_event(state.project, run, self._stores.threads.thread_user(state.thread_id), None))
        except InvalidTransition:
            current = self._stores.runs.get_run_record(state.thread_id, state.run_id)
            if current.run.status == "requires_action" and current.waiting_step_id == turn_state.step_id:
                # A retried task: this attempt's token is the one the loop waits on now.
                self._stores.runs.set_task_token(state.thread_id, state.run_id, state.task_token)
            else:
                # Cancelled meanwhile, before the token was stored: nobody else can wake the loop.
                self._control.interrupt(state.task_token, RUN_CANCELLED, "The run was cancelled.")
        return Done(turn_state)

    def submit_tool_outputs(self, state: LoopState) -> Done:
        """Send the turn's tool outputs back to the model, continuing its response."""
        return self._hand_over(state, self._submit_tool_outputs(state))

    def _submit_tool_outputs(self, state: LoopState) -> Done:
        turn_state = _turn_of(state)
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        if record.run.status != "in_progress":
            return Done(self._stop(state))
        if record.response_id != turn_state.response_id:  # a retried task: the outputs went already
            return Done(TurnState(response_id=record.response_id))
        assert turn_state.step_id is not None and turn_state.response_id is not None
        calls = self._stores.steps.get_tool_calls(state.thread_id, state.run_id, turn_state.step_id)
        missing = [call.call_id for call in calls if call.output is None]
        if missing:
            raise ToolOutputsMissing(f"No output was recorded for the tool calls {', '.join(missing)}.")
        outputs = [
            ToolOutput(call_id=call.call_id, output=text)
            for call, text in written.model_outputs(calls, record.tool_rounds)
        ]
        request = model_input.next_turn(record, turn_state.response_id, outputs)
        sent = now_ms()  # the step ends as the next turn starts: with its outputs
        response_id = self._turns.begin(state, record, request, tool_round=True, at_ms=sent)
        self._stores.steps.set_step_status(state.thread_id, state.run_id, turn_state.step_id, "completed", sent)
        return Done(TurnState(response_id=response_id))

    def finalize_run(self, state: LoopState) -> Done:
        """Write the assistant's message and its step, and end the run with its usage, in one write."""
        turn_state = _turn_of(state)
        assert turn_state.response_id is not None
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        if record.run.status != "in_progress":
            return Done(self._stop(state))
        turn = self._turns.model.retrieve(turn_state.response_id)  # its usage was counted by CheckTurn
        run = record.run
        reason = turn_state.incomplete_reason
        if reason is None:
            problem = model_input.format_problem(run.response_format, turn.output_text)
            if problem:
                return Done(self._fail(state, LastError(code=INVALID_RESPONSE_FORMAT_CODE, message=problem)))
        puts: list[Message | RunStep] = []
        if turn.output_text or reason is None:
            puts = written.turn_message(self._stores, state, record, turn, incomplete=reason is not None)
        ending: dict[str, Any] = (
            {"incomplete_details": IncompleteDetails(reason=reason)} if reason else {"completed_at": now()}
        )
        try:
            self._stores.runs.transition_run(
                state.thread_id,
                state.run_id,
                "incomplete" if reason else "completed",
                puts=puts,
                usage=record.usage,
                **ending,
            )
        except InvalidTransition:  # cancelled meanwhile: the cancel wins, and nothing of the answer is written
            return Done(self._stop(state))
        return Done(TurnState(response_id=turn.id, outcome="incomplete" if reason else "completed"))

    def announce_run(self, state: LoopState) -> Done:
        """Start a run for messages queued meanwhile, then put the ended run's event on EventBridge."""
        try:
            return announcing.announce(self._stores, self._control, self._events, self._settings.run_defaults, state)
        except NotFound:  # the thread was deleted, before or while this ran: nobody is left to tell
            return Done(TurnState(outcome="stopped"))

    def reconcile(self, state: LoopState) -> Done:
        """The loop's execution ended without ending its run (aborted, failed, timed out): end the run
        (``expired`` after a timeout, else ``failed``), announce it and free its thread's queue."""
        self.fail_run(state)
        return self.announce_run(state)

    def fail_run(self, state: LoopState) -> Done:
        """End the run: ``expired`` when the wait for tool outputs timed out, ``cancelled`` after a cancel,
        else ``failed`` with ``last_error`` from the caught error or the failed turn."""
        caught = state.error
        try:
            record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        except NotFound:  # the thread was deleted under the loop: its response still ran, and still counts
            if state.turn is not None and state.turn.response_id:
                self._turns.cancel_quietly(state.turn.response_id)
            return Done(TurnState(outcome="stopped"))
        if record.run.is_terminal:
            return Done(TurnState(outcome="stopped"))
        if record.run.status == "cancelling":
            return Done(self._stop(state))
        if caught is not None and caught.Error == "States.Timeout":
            # The wait for tool outputs (or the whole execution) timed out: the run expires. A waiting
            # task's timeout carries no cause (the client did not answer); the execution's does.
            why = {"last_error": last_error_of(caught)} if caught.Cause else {}
            return Done(self._end(state, record, "expired", "expired", **why))
        error = last_error_of(caught) if caught else (state.turn.last_error if state.turn else None)
        return Done(self._fail(state, error or last_error_of(None)))

    def _fail(self, state: LoopState, error: LastError) -> TurnState:
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        if record.response_id and state.error is not None:
            self._turns.cancel_quietly(record.response_id)  # a failure outside the model: stop paying for it
        ended = self._end(state, record, "failed", "failed", last_error=error)
        return ended if ended.outcome == "stopped" else TurnState(outcome="failed", last_error=error)

    def _end(
        self, state: LoopState, record: RunRecord, status: RunStatus, step_status: RunStepStatus, **changes: Any
    ) -> TurnState:
        """Move the run to a terminal status, its unfinished steps with it."""
        at_ms = now_ms()
        at = at_ms // 1000
        stamp = {"failed": "failed_at", "cancelled": "cancelled_at"}.get(status)
        if stamp:
            changes[stamp] = at
        for step in self._stores.steps.list_steps(state.thread_id, state.run_id, written.ALL).data:
            if step.status == "in_progress":
                self._stores.steps.set_step_status(state.thread_id, state.run_id, step.id, step_status, at_ms)
        for message in self._stores.threads.list_messages(state.thread_id, written.ALL, run_id=state.run_id).data:
            if message.status == "in_progress":  # begun by a run's stream, never finished
                cut = {"incomplete_details": MessageIncompleteDetails(reason=f"run_{status}"), "incomplete_at": at}
                self._stores.threads.update_message(state.thread_id, message.id, {"status": "incomplete", **cut})
        try:
            self._stores.runs.transition_run(
                state.thread_id, state.run_id, status, required_action=None, usage=record.usage, **changes
            )
        except InvalidTransition:  # another task ended it first
            return TurnState(outcome="stopped")
        return TurnState(outcome="failed" if status == "failed" else "stopped")

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
        # Text the model wrote before its calls is a message of its own, before the calls' step, as it was shown.
        said = written.turn_message(self._stores, state, record, turn) if turn.output_text else []
        proposed = new_id("step")
        step_id = self._stores.runs.claim_id(state.thread_id, state.run_id, tool_step_slot(turn.id), proposed)
        server_names = set(server_tool_names(run.tools))
        kinds = {call.call_id: model_input.call_kind(record, call.name) for call in turn.function_calls}
        calls = [
            ToolCall(
                call_id=call.call_id,
                run_id=run.id,
                step_id=step_id,
                name=call.name,
                arguments=call.arguments,
                side="server" if call.name in server_names or kinds[call.call_id] != "function" else "client",
                kind=kinds[call.call_id],
            )
            for call in turn.function_calls
        ]
        details = ToolCallsStepDetails.model_validate({"tool_calls": [call.as_step_item() for call in calls]})
        self._stores.steps.put_step(written.step(record, step_id, details, turn, now_ms()), calls, also=said)
        # A step made before (a retried task, a loop started again) may have calls the client answered already.
        made_before = step_id != proposed
        stored = self._stores.steps.get_tool_calls(state.thread_id, state.run_id, step_id) if made_before else []
        answered = {call.call_id for call in stored if call.status == "completed"}
        return TurnState(
            response_id=turn.id,
            outcome="tool_calls",
            step_id=step_id,
            server_calls=[call.call_id for call in calls if call.side == "server"],
            client_calls=[call.call_id for call in calls if call.side == "client" and call.call_id not in answered],
            tool_outputs_timeout_seconds=self._settings.tool_outputs_timeout_seconds,
        )

    def _waits_for_files(self, record: RunRecord, polls: int) -> bool:
        """Whether a store the run searches still indexes files and the run's Waits so far are shorter than
        ``files_wait_seconds`` (it then starts without the unfinished files)."""
        longest = self._settings.max_poll_delay_seconds
        waited = sum(model_input.next_poll_delay(poll, longest) for poll in range(polls))
        if not model_input.searches(record) or waited >= self._settings.files_wait_seconds:
            return False
        for vector_store_id in record.vector_store_ids:
            try:
                if self._stores.vector_stores.get_store(vector_store_id).file_counts.in_progress:
                    return True
            except NotFound:
                continue  # deleted since the run was made: nothing to wait for
        return False

    def _server_tools(self, run: Run) -> list[FunctionDefinition]:
        """The registry's definitions of the run's server tools, and ``code_interpreter``'s if it runs code."""
        names = server_tool_names(run.tools)
        catalogue = server_tools(self._catalogue, self._stores, names) if names else {}
        missing = [name for name in names if name not in catalogue]
        if missing:
            raise ServerToolUnavailable(
                f"The run declares server tools the server no longer has: {', '.join(missing)}."
            )
        passthrough, max_files = self._settings.code_interpreter_passthrough, self._settings.code_interpreter_max_files
        return [catalogue[name] for name in names] + offered_code(self._stores, run, passthrough, max_files)

    def _stop(self, state: LoopState) -> TurnState:
        """The run left ``in_progress`` outside the loop: finish a cancel, and stop."""
        record = self._stores.runs.get_run_record(state.thread_id, state.run_id)
        if record.run.status == "cancelling":
            if record.response_id:
                self._turns.cancel_quietly(record.response_id)
            self._end(state, record, "cancelled", "cancelled")
        return TurnState(outcome="stopped")


def _turn_of(state: LoopState) -> TurnState:
    if state.turn is None or state.turn.response_id is None:
        raise ValueError("this task needs the state's turn and its response_id")
    return state.turn
