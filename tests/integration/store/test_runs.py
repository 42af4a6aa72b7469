"""The run store's contract (runs and the run loop's bookkeeping of them), on DynamoDB and on the fakes."""

from __future__ import annotations

import pytest

from threadrunner.domain.common import FunctionDefinition, LastError, Usage, now
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run import (
    RequiredAction,
    RequiredActionFunction,
    RequiredActionFunctionToolCall,
    SubmitToolOutputs,
)
from threadrunner.domain.run_record import RunRecord
from threadrunner.domain.thread import Thread
from threadrunner.errors import InvalidTransition, NotFound, RunActive, TooManyActiveRuns

from .builders import a_run, end, message, message_step, new_run, new_thread, pages_like_a_list, running, tool_step


def test_a_created_run_is_queued_holds_its_thread_and_adds_its_messages(store):
    thread, (earlier,) = new_thread(store, messages=1)
    run = a_run(thread, instructions="Be brief.", metadata={"k": "v"})
    asked = message(thread.id, "asked with the run")

    store.runs.create_run(run, vector_store_ids=["vs_1"], messages=[asked])

    assert store.runs.get_run(thread.id, run.id) == run
    assert store.runs.get_run_record(thread.id, run.id) == RunRecord(run=run, vector_store_ids=["vs_1"])
    assert store.runs.list_runs(thread.id, PageRequest()).data == [run]
    assert store.threads.active_run_id(thread.id) == run.id
    assert store.threads.list_messages(thread.id, PageRequest(order="asc")).data == [earlier, asked]


def test_a_busy_thread_refuses_a_second_run_and_nothing_of_it_is_written(store):
    thread, _ = new_thread(store)
    first = new_run(store, thread)
    second = a_run(thread)

    with pytest.raises(RunActive, match=f"already has an active run {first.id}"):
        store.runs.create_run(second, messages=[message(thread.id)])

    with pytest.raises(NotFound):
        store.runs.get_run(thread.id, second.id)
    assert store.threads.list_messages(thread.id, PageRequest()).data == []
    assert store.runs.list_runs(thread.id, PageRequest()).data == [first]


def test_a_run_the_project_does_not_have_is_not_found_and_nothing_is_written_for_it(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    missing = new_id("run")

    for call in (
        lambda: store.runs.create_run(a_run(Thread(id=new_id("thread"), created_at=now()))),
        lambda: store.runs.list_runs(new_id("thread"), PageRequest()),
        lambda: store.runs.get_run(thread.id, missing),
        lambda: store.runs.get_run_record(thread.id, missing),
        lambda: store.runs.get_run(new_id("thread"), run.id),
        lambda: store.runs.update_run(thread.id, missing, {"k": "v"}),
        lambda: store.runs.update_run(thread.id, missing, None),
        lambda: store.runs.transition_run(thread.id, missing, "cancelling"),
        lambda: store.runs.accept_tool_outputs(thread.id, missing, new_id("step"), {}, 1),
        lambda: store.runs.set_turn(thread.id, missing, "resp_1", tool_round=False, started_at_ms=1),
        lambda: store.runs.set_server_tools(thread.id, missing, []),
        lambda: store.runs.set_task_token(thread.id, missing, "token"),
        lambda: store.runs.claim_id(thread.id, missing, "message:resp_1", "msg_a"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.runs.list_runs(thread.id, PageRequest()).data == [run]


def test_a_project_at_its_limit_of_unfinished_runs_starts_none_until_one_ends(store):
    assert store.runs.has_room_for_run(1)
    busy_thread, _ = new_thread(store)
    busy = new_run(store, busy_thread, max_active_runs=1)
    thread, _ = new_thread(store)
    refused = a_run(thread)

    assert (store.runs.has_room_for_run(1), store.runs.has_room_for_run(2)) == (False, True)
    with pytest.raises(TooManyActiveRuns):
        store.runs.create_run(refused, max_active_runs=1)
    assert store.threads.active_run_id(thread.id) is None
    with pytest.raises(NotFound):
        store.runs.get_run(thread.id, refused.id)
    end(store, busy)
    assert store.runs.has_room_for_run(1)
    store.runs.create_run(refused, max_active_runs=1)


def test_runs_are_listed_in_pages_by_creation(store):
    thread, _ = new_thread(store, messages=2)
    made = []
    for _ in range(5):
        made.append(new_run(store, thread))
        end(store, made[-1])

    pages_like_a_list(lambda page: store.runs.list_runs(thread.id, page), [r.id for r in made])


def test_a_runs_metadata_is_the_one_field_a_caller_updates(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)

    updated = store.runs.update_run(thread.id, run.id, {"k": "v"})

    assert updated == store.runs.get_run(thread.id, run.id) == run.model_copy(update={"metadata": {"k": "v"}})
    assert store.runs.update_run(thread.id, run.id, None) == updated


def test_the_transition_table_refuses_illegal_moves_and_terminal_runs_never_change(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)

    with pytest.raises(InvalidTransition, match="from status 'queued' to 'completed'"):
        store.runs.transition_run(thread.id, run.id, "completed")
    store.runs.transition_run(thread.id, run.id, "in_progress")
    store.runs.transition_run(thread.id, run.id, "cancelling")
    cancelled = store.runs.transition_run(thread.id, run.id, "cancelled", cancelled_at=123)
    with pytest.raises(InvalidTransition, match="from status 'cancelled' to 'failed'"):
        store.runs.transition_run(thread.id, run.id, "failed", failed_at=456)

    assert cancelled == store.runs.get_run(thread.id, run.id)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.failed_at) == ("cancelled", 123, None)
    assert store.threads.active_run_id(thread.id) is None


def test_a_move_writes_its_changes_and_objects_with_it_and_a_refused_move_writes_none(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    answer = message(thread.id, "done", role="assistant", run_id=run.id)
    step = message_step(run, answer.id, status="completed")
    usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)

    with pytest.raises(InvalidTransition):
        store.runs.transition_run(thread.id, run.id, "cancelled", puts=[answer, step])
    assert store.threads.list_messages(thread.id, PageRequest()).data == []
    completed = store.runs.transition_run(
        thread.id, run.id, "completed", puts=[answer, step], completed_at=77, usage=usage, metadata={"k": "v"}
    )

    assert completed == run.model_copy(
        update={"status": "completed", "completed_at": 77, "usage": usage, "metadata": {"k": "v"}}
    )
    assert store.threads.list_messages(thread.id, PageRequest()).data == [answer]
    assert store.steps.list_steps(thread.id, run.id, PageRequest()).data == [step]


def test_a_run_waits_for_the_clients_outputs_and_takes_exactly_the_calls_it_waits_for(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    step, calls = tool_step(store, run, "client", "server")
    required = RequiredAction(
        submit_tool_outputs=SubmitToolOutputs(
            tool_calls=[
                RequiredActionFunctionToolCall(id="call_1", function=RequiredActionFunction(name="f1", arguments="{}"))
            ]
        )
    )
    with pytest.raises(InvalidTransition):  # not waiting yet
        store.runs.accept_tool_outputs(thread.id, run.id, step.id, {"call_1": "a"}, 2000)

    waiting = store.runs.transition_run(
        thread.id,
        run.id,
        "requires_action",
        required_action=required,
        expires_at=999,
        task_token="t1",
        waiting_step_id=step.id,
    )
    record = store.runs.get_run_record(thread.id, run.id)
    assert (waiting.required_action, waiting.expires_at) == (required, 999)
    assert (record.task_token, record.waiting_step_id) == ("t1", step.id)
    assert "task_token" not in waiting.model_dump() and "waiting_step_id" not in waiting.model_dump()
    for outputs, step_id in (
        ({"call_1": "a"}, new_id("step")),  # another step
        ({"call_2": "b"}, step.id),  # the server's call
        ({"call_9": "c"}, step.id),  # no such call
        ({"call_1": "a", "call_2": "b"}, step.id),
    ):
        with pytest.raises(InvalidTransition):
            store.runs.accept_tool_outputs(thread.id, run.id, step_id, outputs, 2000)
    assert store.steps.get_tool_calls(thread.id, run.id, step.id) == calls

    store.runs.accept_tool_outputs(thread.id, run.id, step.id, {"call_1": "sunny"}, 2500)

    record = store.runs.get_run_record(thread.id, run.id)
    assert record.run == waiting.model_copy(
        update={"status": "in_progress", "required_action": None, "expires_at": None}
    )
    assert (record.task_token, record.waiting_step_id) == (None, None)
    answered, _ = store.steps.get_tool_calls(thread.id, run.id, step.id)
    assert answered == calls[0].model_copy(update={"status": "completed", "output": "sunny", "completed_at_ms": 2500})
    with pytest.raises(InvalidTransition):  # once
        store.runs.accept_tool_outputs(thread.id, run.id, step.id, {"call_1": "again"}, 2600)


def test_a_run_keeps_the_loops_bookkeeping_of_its_turns(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    tools = [FunctionDefinition(name="lookup", description="Look up.", parameters={"type": "object"})]

    store.runs.set_turn(thread.id, run.id, "resp_1", tool_round=False, started_at_ms=1234)
    store.runs.set_turn(thread.id, run.id, "resp_2", tool_round=True, started_at_ms=2345)
    store.runs.set_server_tools(thread.id, run.id, tools)
    store.runs.set_task_token(thread.id, run.id, "token_2")

    assert store.runs.get_run_record(thread.id, run.id) == RunRecord(
        run=run, response_id="resp_2", turn_started_at_ms=2345, tool_rounds=1, server_tools=tools, task_token="token_2"
    )
    assert store.runs.get_run(thread.id, run.id) == run


def test_a_turn_waits_on_its_token_only_while_its_run_is_in_progress_on_its_response(store):
    thread, _ = new_thread(store)
    run = running(store, thread, response_id="resp_1")
    other, _ = new_thread(store)
    cancelled = running(store, other, response_id="resp_9")
    store.runs.transition_run(other.id, cancelled.id, "cancelling")

    assert store.runs.wait_on(thread.id, run.id, "resp_1", "token_1")
    assert not store.runs.wait_on(thread.id, run.id, "resp_0", "token_0")  # the run is on another response
    assert not store.runs.wait_on(other.id, cancelled.id, "resp_9", "token_9")  # a cancel came first
    assert not store.runs.wait_on(thread.id, new_id("run"), "resp_1", "token_x")  # no such run

    assert store.runs.get_run_record(thread.id, run.id).task_token == "token_1"
    assert store.runs.get_run_record(other.id, cancelled.id).task_token is None


def test_a_waiting_turns_token_is_taken_once_and_only_by_who_names_it(store):
    thread, _ = new_thread(store)
    run = running(store, thread, response_id="resp_1")
    store.runs.wait_on(thread.id, run.id, "resp_1", "token_1")

    assert not store.runs.take_task_token(thread.id, run.id, "token_0")  # a token of an earlier wait
    assert store.runs.take_task_token(thread.id, run.id, "token_1")
    assert not store.runs.take_task_token(thread.id, run.id, "token_1")  # the webhook's check and the turn's look

    assert store.runs.get_run_record(thread.id, run.id).task_token is None
    assert store.runs.get_run(thread.id, run.id).status == "in_progress"


def test_usage_counts_each_response_once_and_ids_are_claimed_once(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    for response_id in ("resp_1", "resp_2", "resp_1"):
        store.runs.add_usage(
            thread.id, run.id, response_id, Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13)
        )

    assert store.runs.claim_id(thread.id, run.id, "message:resp_1", "msg_a") == "msg_a"
    assert store.runs.claim_id(thread.id, run.id, "message:resp_1", "msg_b") == "msg_a"
    assert store.runs.claim_id(thread.id, run.id, "message_step:resp_1", "step_a") == "step_a"
    record = store.runs.get_run_record(thread.id, run.id)
    assert record.usage == Usage(prompt_tokens=20, completion_tokens=6, total_tokens=26)
    assert record.claims == {"message:resp_1": "msg_a", "message_step:resp_1": "step_a"}


def test_a_stream_begins_a_turns_objects_once_and_only_while_the_run_is_on_that_turn(store):
    thread, _ = new_thread(store)
    run = running(store, thread, response_id="resp_1")
    begun = message(thread.id, "", role="assistant", run_id=run.id, status="in_progress")
    step = message_step(run, begun.id)

    assert not store.runs.begin_output(thread.id, run.id, "resp_0", [step, begun])  # a stream that lags the loop
    assert store.runs.begin_output(thread.id, run.id, "resp_1", [step, begun])
    assert not store.runs.begin_output(thread.id, run.id, "resp_1", [step, begun])  # another stream was first

    assert store.threads.get_message(thread.id, begun.id) == begun
    assert store.steps.list_steps(thread.id, run.id, PageRequest()).data == [step]
    # The loop's write of the finished objects replaces what the stream began.
    finished = begun.model_copy(update={"status": "completed", "content": message(thread.id, "hi").content})
    done = step.model_copy(update={"status": "completed"})
    store.steps.put_step(done, [], also=[finished])
    assert store.threads.get_message(thread.id, begun.id) == finished
    assert store.steps.get_step(thread.id, run.id, step.id) == done
    store.runs.transition_run(thread.id, run.id, "cancelling")
    assert not store.runs.begin_output(thread.id, run.id, "resp_1", [message_step(run, new_id("msg"))])


def test_a_stream_of_a_run_whose_thread_was_deleted_writes_nothing(store):
    thread, _ = new_thread(store)
    run = running(store, thread, response_id="resp_1")
    store.threads.delete_thread(thread.id)

    assert not store.runs.begin_output(thread.id, run.id, "resp_1", [message_step(run, new_id("msg"))])
    store.runs.add_usage(thread.id, run.id, "resp_1", Usage(prompt_tokens=1, total_tokens=1))  # a late CheckTurn
    with pytest.raises(NotFound):
        store.runs.get_run(thread.id, run.id)


def test_failing_a_run_records_its_last_error(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    error = LastError(code="server_error", message="The model response ended failed.")

    failed = store.runs.transition_run(
        thread.id, run.id, "failed", failed_at=now(), last_error=error, required_action=None
    )

    assert failed.last_error == error and store.runs.get_run(thread.id, run.id) == failed
