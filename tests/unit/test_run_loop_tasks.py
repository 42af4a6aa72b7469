"""Each branch of the run loop's tasks, on in-memory fakes of the ports: retries, cancels, expiry, failures, caps."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.fakes import FakeCatalogue, FakeCircuits, FakeControl, FakeEvents, FakeJobs, FakeModel, World, fake_stores
from threadrunner.app import runs
from threadrunner.app.requests.runs import RunCreate, SubmitToolOutputsRequest
from threadrunner.app.run_loop import tasks, written
from threadrunner.app.run_loop.state import CaughtError, LoopState, TurnState
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.config import Settings
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import Budget, ProjectPolicy
from threadrunner.domain.common import FunctionDefinition, FunctionTool, Usage
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.model_turn import FunctionCallRequest
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run_step import CallTiming, StepTiming
from threadrunner.domain.thread import Thread
from threadrunner.domain.vector_stores import VectorStoreFile
from threadrunner.errors import (
    BudgetExceeded,
    InvalidRequest,
    ModelCircuitOpen,
    ModelRequestRejected,
    ModelUnavailable,
    NotFound,
)

SETTINGS = Settings.model_validate({"POLL_WINDOW_SECONDS": "0", "MAX_TOOL_ROUNDS": "2", "MAX_TOOL_CALLS_PER_TURN": "3"})
CLIENT_TOOL = FunctionTool(function=FunctionDefinition(name="lookup", parameters={"type": "object"}))
SERVER_TOOL = FunctionTool(function=FunctionDefinition(name="threadrunner:get_weather"))
WEATHER = FunctionDefinition(name="get_weather", description="Weather", parameters={"type": "object"})


class Loop:
    """A run on a thread, its loop on fakes, and the state the state machine would hand from task to task."""

    def __init__(
        self, tools: list[FunctionTool] | None = None, world: World | None = None, circuits: FakeCircuits | None = None
    ) -> None:
        self.world = world or World()
        self.stores = fake_stores(self.world)
        self.model, self.control, self.events = FakeModel(), FakeControl(), FakeEvents()
        catalogue = FakeCatalogue({"get_weather": WEATHER})
        self.circuits = circuits or FakeCircuits()
        self.loop = RunLoop(
            self.stores,
            lambda: self.model,
            catalogue,
            self.control,
            self.events,
            self.circuits,
            SETTINGS,
            sleep=lambda _: None,
        )
        assistant = Assistant(id="asst_1", created_at=1, model="m", tools=tools or [])
        self.stores.assistants.put_assistant(assistant)
        message = Message(id="msg_1", created_at=1, thread_id="thread_1", role="user", content=text_content("hi"))
        self.stores.threads.create_thread(Thread(id="thread_1", created_at=1), [message])
        run = runs.create_run(
            self.stores,
            self.control,
            catalogue,
            FakeJobs(),
            "thread_1",
            RunCreate(assistant_id="asst_1"),
            SETTINGS.run_defaults,
        )
        self.state = LoopState(project=self.world.project, thread_id="thread_1", run_id=run.id)

    @property
    def run(self):
        return self.stores.runs.get_run("thread_1", self.state.run_id)

    def step(self, task, **state_fields) -> TurnState:
        """Run one task on the current state and keep the turn it returns, as the state machine does."""
        state = self.state.model_copy(update=state_fields)
        turn, _ = task(self.loop, state)
        self.state = state.model_copy(update={"turn": turn, "error": None, "task_token": None})
        return turn

    def started(self) -> str:
        turn = self.step(RunLoop.start_turn)
        assert turn.response_id is not None
        return turn.response_id

    def asking_for_outputs(self) -> str:
        """Started, its first response calling the client's ``lookup``, the client asked for the output; the
        response's id."""
        response = self.started()
        self.model.finish(response, function_calls=_calls("lookup"))
        self.step(RunLoop.check_turn)
        self.step(RunLoop.request_tool_outputs, task_token="token-1")
        return response


# starting ------------------------------------------------------------------------------------------------


def test_given_a_queued_run_when_started_twice_then_one_response_is_created_and_reserved():
    loop = Loop()
    first = loop.started()
    again = loop.step(RunLoop.start_turn)

    assert again.response_id == first and len(loop.model.requests) == 1
    assert loop.run.status == "in_progress" and loop.run.started_at is not None
    assert loop.world.responses[first][0].tokens > 0  # reserved against the day before it was created
    # No max_completion_tokens: the answer's room is the most a response writes, not a guess of a short one.
    assert loop.world.responses[first][0].completion_tokens == SETTINGS.output_reserve_tokens == 32_768


def test_given_a_run_cancelled_before_it_started_when_started_then_it_ends_cancelled_without_a_response():
    loop = Loop()
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)

    turn = loop.step(RunLoop.start_turn)

    assert turn.outcome == "stopped" and loop.run.status == "cancelled" and loop.model.requests == []


def test_given_a_spent_budget_when_a_turn_would_start_then_it_is_refused_and_nothing_is_reserved():
    loop = Loop()
    loop.stores.projects.set_policy(ProjectPolicy(budget=Budget(daily_tokens=0)))

    with pytest.raises(BudgetExceeded):
        loop.step(RunLoop.start_turn)
    assert loop.model.requests == [] and loop.world.responses == {}


def test_given_a_provider_that_fails_to_create_when_started_then_the_reservation_is_given_back():
    loop = Loop()
    loop.model.fail_create = RuntimeError("down")

    with pytest.raises(RuntimeError):
        loop.step(RunLoop.start_turn)
    assert all(day.reserved == 0 for day in loop.world.days.values())


def test_given_a_provider_that_keeps_failing_when_turns_start_then_its_circuit_opens_and_they_fail_at_once():
    loop = Loop()
    loop.model.fail_create = ModelUnavailable("the provider answered 503")
    for _ in range(loop.circuits.threshold):  # the task's retries, or other runs
        with pytest.raises(ModelUnavailable):
            loop.step(RunLoop.start_turn)
    loop.model.fail_create = None  # recovered, but the circuit is still open

    with pytest.raises(ModelCircuitOpen, match="temporarily unavailable"):
        loop.step(RunLoop.start_turn)
    assert loop.model.requests == [] and all(day.reserved == 0 for day in loop.world.days.values())


def test_given_a_provider_that_keeps_failing_one_projects_turns_then_another_projects_turns_still_reach_it():
    loop = Loop()
    loop.model.fail_create = ModelUnavailable("the provider answered 500 to acme's requests")
    for _ in range(loop.circuits.threshold):
        with pytest.raises(ModelUnavailable):
            loop.step(RunLoop.start_turn)
    other = Loop(world=World(project="globex"), circuits=loop.circuits)  # the same circuits, another project

    other.step(RunLoop.start_turn)

    assert len(other.model.requests) == 1  # globex's turn reached the provider
    with pytest.raises(ModelCircuitOpen):
        loop.step(RunLoop.start_turn)


def test_given_a_provider_that_refuses_a_projects_requests_then_its_circuit_never_counts_them():
    loop = Loop()
    loop.model.fail_create = ModelRequestRejected("The model provider refused the request (HTTP 400).")
    for _ in range(loop.circuits.threshold + 1):
        with pytest.raises(ModelRequestRejected):
            loop.step(RunLoop.start_turn)
    loop.model.fail_create = None

    loop.step(RunLoop.start_turn)

    assert loop.circuits.opened == set() and len(loop.model.requests) == 1  # the turn after them went through


# polling and finishing -------------------------------------------------------------------------------------


def test_given_a_running_response_when_checked_then_the_turn_waits_longer_each_time_and_polls_are_measured():
    loop = Loop()
    loop.started()

    first, measured = RunLoop.check_turn(loop.loop, loop.state)
    loop.state = loop.state.model_copy(update={"turn": first})
    second = loop.step(RunLoop.check_turn)

    assert (first.outcome, first.delay_seconds, second.delay_seconds) == ("pending", 1, 2)
    assert [(m.name, m.value) for m in measured] == [("ModelPolls", 1)]


def test_given_a_completed_response_when_checked_and_finalized_then_the_run_completes_with_its_message():
    loop = Loop()
    response = loop.started()
    loop.model.finish(response, output_text="Hello!")

    assert loop.step(RunLoop.check_turn).outcome == "completed"
    assert loop.step(RunLoop.finalize_run).outcome == "completed"

    run = loop.run
    assert run.status == "completed" and run.usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    (answer,) = loop.stores.threads.list_messages("thread_1", PageRequest(), run_id=run.id).data
    assert answer.text == "Hello!" and loop.world.responses[response][1]  # settled
    assert loop.stores.threads.active_run_id("thread_1") is None


def test_given_a_cancel_racing_a_finish_when_finalized_then_the_cancel_wins_and_nothing_is_written():
    loop = Loop()
    response = loop.started()
    loop.model.finish(response, output_text="Too late")
    loop.step(RunLoop.check_turn)
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)

    assert loop.step(RunLoop.finalize_run).outcome == "stopped"

    assert loop.run.status == "cancelled" and loop.run.cancelled_at is not None
    assert [m.role for m in loop.stores.threads.list_messages("thread_1", PageRequest()).data] == ["user"]


def test_given_a_run_cancelled_while_its_response_runs_when_checked_then_the_response_is_cancelled_and_counted():
    loop = Loop()
    response = loop.started()
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)

    assert loop.step(RunLoop.check_turn).outcome == "stopped"

    assert loop.run.status == "cancelled" and loop.model.cancelled == [response]
    assert loop.world.responses[response][1]  # its prompt is charged: the provider read it


def test_given_a_failed_response_when_checked_and_failed_then_the_run_fails_with_its_error():
    loop = Loop()
    response = loop.started()
    loop.model.finish(response, status="failed", usage=None)

    turn = loop.step(RunLoop.check_turn)
    assert turn.outcome == "failed"
    loop.step(RunLoop.fail_run)

    assert loop.run.status == "failed" and loop.run.last_error.code == "server_error"


# tool calls --------------------------------------------------------------------------------------------------


def _calls(*names: str) -> list[FunctionCallRequest]:
    return [FunctionCallRequest(call_id=f"call_{i}", name=name, arguments="{}") for i, name in enumerate(names)]


def test_given_calls_of_both_sides_when_checked_then_server_calls_run_first_and_the_client_is_asked_for_its_own():
    loop = Loop([CLIENT_TOOL, SERVER_TOOL])
    response = loop.started()
    assert [t.name for t in loop.model.requests[0].tools] == ["lookup", "get_weather"]  # the registry's schema
    loop.model.finish(response, function_calls=_calls("get_weather", "lookup"))

    turn = loop.step(RunLoop.check_turn)

    assert (turn.outcome, turn.server_calls, turn.client_calls) == ("tool_calls", ["call_0"], ["call_1"])
    loop.step(RunLoop.request_tool_outputs, task_token="token-1")
    run = loop.run
    assert run.status == "requires_action" and run.expires_at is not None
    assert [c.id for c in run.required_action.submit_tool_outputs.tool_calls] == ["call_1"]
    assert [e.detail_type for e in loop.events.published] == ["threadrunner.run.requires_action"]


def test_given_a_retried_request_for_outputs_when_run_again_then_the_new_token_is_the_one_waited_on():
    loop = Loop([CLIENT_TOOL])
    response = loop.started()
    loop.model.finish(response, function_calls=_calls("lookup"))
    turn = loop.step(RunLoop.check_turn)

    RunLoop.request_tool_outputs(loop.loop, loop.state.model_copy(update={"task_token": "first"}))
    RunLoop.request_tool_outputs(loop.loop, loop.state.model_copy(update={"turn": turn, "task_token": "second"}))

    assert loop.stores.runs.get_run_record("thread_1", loop.state.run_id).task_token == "second"
    assert loop.control.interrupted == []


def test_given_a_run_in_requires_action_when_its_loop_starts_again_then_it_waits_for_the_same_calls():
    loop = Loop([CLIENT_TOOL])
    response = loop.started()
    loop.model.finish(response, function_calls=_calls("lookup", "lookup"))
    asked = loop.step(RunLoop.check_turn)
    loop.step(RunLoop.request_tool_outputs, task_token="lost-with-the-process")

    again = loop.step(RunLoop.start_turn)  # a new execution of the loop (the local stack's recovery)
    loop.step(RunLoop.request_tool_outputs, task_token="new")

    assert (again.outcome, again.step_id, again.client_calls) == ("tool_calls", asked.step_id, ["call_0", "call_1"])
    assert 0 < again.tool_outputs_timeout_seconds <= SETTINGS.tool_outputs_timeout_seconds
    record = loop.stores.runs.get_run_record("thread_1", loop.state.run_id)
    assert record.run.status == "requires_action" and record.task_token == "new"
    assert len(loop.model.requests) == 1  # nothing asked of the model again


def test_given_outputs_submitted_before_a_loop_died_when_checked_again_then_they_are_not_asked_for_twice():
    loop = Loop([CLIENT_TOOL])
    loop.asking_for_outputs()
    loop.control.waiting.add("token-1")
    outputs = SubmitToolOutputsRequest(tool_outputs=[{"tool_call_id": "call_0", "output": "done"}])
    runs.submit_tool_outputs(loop.stores, loop.control, "thread_1", loop.state.run_id, outputs, 65536)

    loop.step(RunLoop.start_turn)  # the loop died before SubmitToolOutputs: a new one starts
    turn = loop.step(RunLoop.check_turn)

    assert (turn.outcome, turn.server_calls, turn.client_calls) == ("tool_calls", [], [])  # on to SubmitToolOutputs
    loop.step(RunLoop.submit_tool_outputs)
    assert loop.model.requests[-1].tool_outputs[0].output == "done"


def test_given_a_run_cancelled_before_its_token_was_stored_when_outputs_are_requested_then_the_loop_is_woken():
    loop = Loop([CLIENT_TOOL])
    response = loop.started()
    loop.model.finish(response, function_calls=_calls("lookup"))
    loop.step(RunLoop.check_turn)
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)

    loop.step(RunLoop.request_tool_outputs, task_token="token-1")

    assert loop.control.interrupted == [("token-1", "RunCancelled")]


def test_given_a_cancelled_run_when_outputs_arrive_then_they_are_refused_and_nothing_resumes():
    loop = Loop([CLIENT_TOOL])
    loop.asking_for_outputs()
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)
    outputs = SubmitToolOutputsRequest(tool_outputs=[{"tool_call_id": "call_0", "output": "late"}])

    with pytest.raises(InvalidRequest, match="do not accept tool outputs"):
        runs.submit_tool_outputs(loop.stores, loop.control, "thread_1", loop.state.run_id, outputs, 65536)
    assert loop.control.resumed == [] and loop.control.interrupted == [("token-1", "RunCancelled")]


def test_given_answered_calls_when_submitted_then_the_outputs_continue_the_response():
    loop = Loop([CLIENT_TOOL])
    response = loop.asking_for_outputs()
    loop.control.waiting.add("token-1")
    outputs = SubmitToolOutputsRequest(tool_outputs=[{"tool_call_id": "call_0", "output": '{"x": 1}'}])

    run = runs.submit_tool_outputs(loop.stores, loop.control, "thread_1", loop.state.run_id, outputs, 65536)
    turn = loop.step(RunLoop.submit_tool_outputs)

    assert run.status == "in_progress" and loop.control.resumed == ["token-1"]
    assert turn.response_id != response and loop.model.requests[-1].previous_response_id == response
    assert [(o.call_id, o.output) for o in loop.model.requests[-1].tool_outputs] == [("call_0", '{"x": 1}')]


def test_given_a_run_with_a_client_call_when_it_ends_then_its_steps_say_when_each_turn_and_wait_happened(monkeypatch):
    clock = itertools.count(1000, 100)  # each reading of the clock 100 ms after the one before
    for module in (tasks, written, runs):
        monkeypatch.setattr(module, "now_ms", lambda: next(clock))
    loop = Loop([CLIENT_TOOL])
    first = loop.started()  # 1000: the first turn is asked of the model
    loop.model.finish(first, function_calls=_calls("lookup"))
    loop.step(RunLoop.check_turn)  # 1100: its calls' step
    loop.step(RunLoop.request_tool_outputs, task_token="token-1")  # 1200: the client is asked
    loop.control.waiting.add("token-1")
    outputs = SubmitToolOutputsRequest(tool_outputs=[{"tool_call_id": "call_0", "output": "done"}])
    runs.submit_tool_outputs(loop.stores, loop.control, "thread_1", loop.state.run_id, outputs, 65536)  # 1300
    second = loop.step(RunLoop.submit_tool_outputs).response_id  # 1400: the outputs go back, a new turn
    assert second is not None
    loop.model.finish(second, output_text="Done.")
    loop.step(RunLoop.check_turn)
    loop.step(RunLoop.finalize_run)  # 1500: the answer

    tool_step, message_step = loop.stores.steps.list_steps("thread_1", loop.state.run_id, PageRequest(order="asc")).data
    assert tool_step.timing == StepTiming(turn_started_at_ms=1000, created_at_ms=1100, ended_at_ms=1400)
    assert tool_step.step_details.tool_calls[0].timing == CallTiming(started_at_ms=1200, completed_at_ms=1300)
    assert message_step.timing == StepTiming(turn_started_at_ms=1400, created_at_ms=1500, ended_at_ms=1500)
    assert (message_step.created_at, message_step.completed_at) == (1, 1)  # the same moment, in seconds


def test_given_a_model_that_keeps_calling_tools_when_the_rounds_run_out_then_the_run_fails_clearly():
    loop = Loop([SERVER_TOOL])
    loop.world.record("thread_1", loop.state.run_id).tool_rounds = SETTINGS.max_tool_rounds
    response = loop.started()
    loop.model.finish(response, function_calls=_calls("get_weather"))

    turn = loop.step(RunLoop.check_turn)

    assert turn.outcome == "failed" and turn.last_error.code == "max_tool_rounds_exceeded"


def test_given_more_calls_than_a_turn_may_make_when_checked_then_the_run_fails_clearly():
    loop = Loop([SERVER_TOOL])
    response = loop.started()
    loop.model.finish(response, function_calls=_calls(*["get_weather"] * 4))

    turn = loop.step(RunLoop.check_turn)

    assert turn.outcome == "failed" and turn.last_error.code == "too_many_tool_calls"


# ending badly ------------------------------------------------------------------------------------------------


def test_given_a_wait_for_outputs_that_timed_out_without_a_cause_when_failed_then_the_run_expires_quietly():
    loop = Loop([CLIENT_TOOL])
    loop.asking_for_outputs()

    loop.step(RunLoop.fail_run, error=CaughtError(Error="States.Timeout"))

    run = loop.run
    assert run.status == "expired" and run.last_error is None and run.required_action is None
    assert [s.status for s in loop.stores.steps.list_steps("thread_1", run.id, PageRequest()).data] == ["expired"]


def test_given_an_execution_that_timed_out_when_reconciled_then_the_run_expires_with_why():
    loop = Loop()
    loop.started()
    ended = {
        "status": "TIMED_OUT",
        "input": json.dumps({"project": "acme", "thread_id": "thread_1", "run_id": loop.state.run_id}),
    }

    turn, _ = RunLoop.reconcile(loop.loop, LoopState.after_execution_ended(ended))

    run = loop.run
    assert turn.outcome == "stopped" and run.status == "expired"
    assert run.last_error.message == "States.Timeout: The run loop's execution ended TIMED_OUT."


def test_given_an_unexpected_error_when_failed_then_the_run_tells_nothing_of_it():
    loop = Loop()
    response = loop.started()
    cause = json.dumps({"errorType": "KeyError", "errorMessage": "'secret internals'"})

    loop.step(RunLoop.fail_run, error=CaughtError(Error="KeyError", Cause=cause))

    run = loop.run
    assert run.status == "failed" and "secret" not in run.last_error.message
    assert loop.model.cancelled == [response]  # a failure outside the model stops paying for it


def test_given_a_thread_deleted_under_the_loop_when_failed_then_its_response_is_cancelled_and_counted():
    loop = Loop()
    response = loop.started()
    loop.stores.threads.delete_thread("thread_1")

    turn = loop.step(RunLoop.fail_run, error=CaughtError(Error="NotFound"))

    assert turn.outcome == "stopped" and loop.model.cancelled == [response] and loop.world.responses[response][1]


def test_given_a_thread_deleted_while_its_response_was_created_when_started_then_the_response_is_cancelled():
    loop = Loop()
    create = loop.model.create

    def create_then_delete(request):
        turn = create(request)
        loop.stores.threads.delete_thread("thread_1")
        return turn

    loop.model.create = create_then_delete  # type: ignore[method-assign]

    with pytest.raises(NotFound):
        loop.step(RunLoop.start_turn)
    (response,) = loop.model.turns
    assert loop.model.cancelled == [response] and loop.world.responses[response][1]


# announcing --------------------------------------------------------------------------------------------------


def test_given_an_ended_run_when_announced_twice_then_one_event_and_one_count_and_its_metrics_once():
    loop = Loop()
    response = loop.started()
    loop.model.finish(response, output_text="Done")
    loop.step(RunLoop.check_turn)
    loop.step(RunLoop.finalize_run)

    first, measured = RunLoop.announce_run(loop.loop, loop.state)
    again, measured_again = RunLoop.announce_run(loop.loop, loop.state)

    assert (first.outcome, again.outcome) == ("stopped", "stopped")
    assert [e.detail_type for e in loop.events.published] == ["threadrunner.run.completed"]
    assert loop.events.published[0].detail.reply == "Done"
    assert {m.name for m in measured} >= {"RunsCompleted", "RunLatency"} and measured_again == ()


def test_given_a_cancel_that_beat_finalize_after_it_claimed_the_message_id_when_announced_then_the_event_goes():
    loop = Loop()
    response = loop.started()
    loop.model.finish(response, output_text="Done")
    loop.step(RunLoop.check_turn)
    loop.stores.runs.claim_id("thread_1", loop.state.run_id, "message", "msg_never_written")
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)
    loop.step(RunLoop.finalize_run)

    loop.step(RunLoop.announce_run)

    assert loop.run.status == "cancelled"
    assert [(e.detail_type, e.detail.reply) for e in loop.events.published] == [("threadrunner.run.cancelled", None)]


def test_given_a_run_whose_vector_store_is_still_indexing_when_started_then_it_waits_queued():
    from threadrunner.app import vector_stores
    from threadrunner.domain.common import FileSearchTool

    loop = Loop(tools=[FileSearchTool()])
    jobs = FakeJobs()
    store = vector_stores.create_store(loop.stores, jobs, "Docs", [])
    loop.stores.vector_stores.add_file(VectorStoreFile(id="file-1", created_at=1, vector_store_id=store.id))
    record = loop.world.record("thread_1", loop.state.run_id)
    record.vector_store_ids = [store.id]

    waiting = loop.step(RunLoop.start_turn)
    loop.stores.vector_stores.finish_file(store.id, "file-1", "completed")
    started = loop.step(RunLoop.start_turn)

    assert (waiting.outcome, waiting.delay_seconds) == ("files_pending", 1) and loop.model.requests[0].tools[
        0
    ].name == "file_search"
    assert started.response_id is not None and loop.run.status == "in_progress"


def test_given_files_still_indexing_after_the_files_wait_then_the_run_starts_without_them():
    from threadrunner.app import vector_stores
    from threadrunner.domain.common import FileSearchTool

    loop = Loop(tools=[FileSearchTool()])
    store = vector_stores.create_store(loop.stores, FakeJobs(), "Docs", [])
    loop.stores.vector_stores.add_file(VectorStoreFile(id="file-1", created_at=1, vector_store_id=store.id))
    loop.world.record("thread_1", loop.state.run_id).vector_store_ids = [store.id]

    turns = [loop.step(RunLoop.start_turn) for _ in range(60)]  # the state machine's StartTurn after each Wait

    waits = [turn for turn in turns if turn.outcome == "files_pending"]
    assert sum(turn.delay_seconds for turn in waits) >= SETTINGS.files_wait_seconds == 300
    assert sum(turn.delay_seconds for turn in waits[:-1]) < SETTINGS.files_wait_seconds
    assert loop.run.status == "in_progress" and loop.state.turn.response_id is not None
    assert loop.stores.vector_stores.get_file(store.id, "file-1").status == "in_progress"
