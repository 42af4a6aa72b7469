"""The step store's contract (run steps and their tool calls), on DynamoDB and on the fakes."""

from __future__ import annotations

import pytest

from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run_step import CallTiming, StepTiming, ToolExecution
from threadrunner.errors import NotFound

from .builders import message, message_step, new_run, new_thread, pages_like_a_list, running, tool_calls_step, tool_step


def test_a_tool_calls_step_reads_back_with_its_calls_in_order(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)

    step, calls = tool_step(store, run, "client", "server", "client")

    assert store.steps.get_step(thread.id, run.id, step.id) == step
    assert store.steps.list_steps(thread.id, run.id, PageRequest()).data == [step]
    assert store.steps.get_tool_calls(thread.id, run.id, step.id) == calls
    assert store.steps.get_tool_calls(thread.id, run.id, new_id("step")) == []


def test_a_message_step_is_written_with_its_message_and_a_retry_writes_nothing_twice(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    answer = message(thread.id, "answer", role="assistant", run_id=run.id)
    step = message_step(run, answer.id, status="completed")

    store.steps.put_step(step, [], also=[answer])
    store.steps.put_step(step.model_copy(update={"status": "failed"}), [], also=[message(thread.id, "other")])

    assert store.steps.get_step(thread.id, run.id, step.id) == step
    assert store.threads.get_message(thread.id, answer.id) == answer
    assert [m.id for m in store.threads.list_messages(thread.id, PageRequest()).data] == [answer.id]


def test_a_step_of_a_run_the_project_does_not_have_is_not_found_and_never_written(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    step, _ = tool_step(store, run, "server")
    gone = running(store, new_thread(store)[0])
    store.threads.delete_thread(gone.thread_id)

    for call in (
        lambda: store.steps.get_step(thread.id, run.id, new_id("step")),
        lambda: store.steps.get_step(thread.id, new_id("run"), step.id),
        lambda: store.steps.list_steps(thread.id, new_id("run"), PageRequest()),
        lambda: store.steps.set_step_status(thread.id, run.id, new_id("step"), "completed", 2000),
        lambda: store.steps.put_step(tool_calls_step(gone, 1), []),  # its thread was deleted under the loop
        lambda: store.steps.set_step_status(gone.thread_id, gone.id, step.id, "completed", 2000),
        lambda: store.steps.list_steps(gone.thread_id, gone.id, PageRequest()),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.steps.list_steps(thread.id, run.id, PageRequest()).data == [step]


def test_steps_are_listed_in_pages_by_creation(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    made = [message_step(run, new_id("msg")) for _ in range(5)]
    for step in made:
        store.steps.put_step(step, [])
    other = running(store, new_thread(store)[0])
    store.steps.put_step(message_step(other, new_id("msg")), [])  # another run's step is not listed

    pages_like_a_list(lambda page: store.steps.list_steps(thread.id, run.id, page), [s.id for s in made])


def test_a_step_ends_stamped_and_only_a_terminal_status_stamps_it(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    step, _ = tool_step(store, run, "server")
    failed = message_step(run, new_id("msg"))
    store.steps.put_step(failed, [])

    store.steps.set_step_status(thread.id, run.id, step.id, "in_progress", 1500)
    assert store.steps.get_step(thread.id, run.id, step.id) == step
    store.steps.set_step_status(thread.id, run.id, step.id, "cancelled", 2600)
    store.steps.set_step_status(thread.id, run.id, failed.id, "failed", 3999)

    shown = store.steps.get_step(thread.id, run.id, step.id)
    assert (shown.status, shown.cancelled_at, shown.completed_at) == ("cancelled", 2, None)
    assert shown.timing == StepTiming(turn_started_at_ms=400, created_at_ms=1000, ended_at_ms=2600)
    shown = store.steps.get_step(thread.id, run.id, failed.id)
    assert (shown.status, shown.failed_at, shown.timing) == ("failed", 3, None)  # made without timing: none kept


def test_a_tool_call_is_claimed_at_most_once_and_its_output_recorded_once(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    step, calls = tool_step(store, run, "server", "server")
    store.steps.put_step(step, calls)  # a retried CheckTurn writes nothing twice

    claimed = store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1100)
    assert claimed == calls[0].model_copy(update={"status": "running", "started_at_ms": 1100})
    assert store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1200) is None
    assert store.steps.claim_tool_call(thread.id, run.id, step.id, "call_9", 1200) is None
    store.steps.record_tool_output(thread.id, calls[1].model_copy(update={"output": "unclaimed"}))  # not running
    claimed.output, claimed.is_error, claimed.duration_ms, claimed.completed_at_ms = '{"ok": true}', True, 5, 1105
    claimed.execution = ToolExecution(
        tool="f1", arguments_sha256="0" * 64, duration_ms=5, attempts=2, outcome="ok", circuit="closed"
    )
    store.steps.record_tool_output(thread.id, claimed)
    store.steps.record_tool_output(thread.id, claimed.model_copy(update={"output": "again"}))

    recorded, untouched = store.steps.get_tool_calls(thread.id, run.id, step.id)
    assert recorded == claimed.model_copy(update={"status": "completed"})
    assert untouched == calls[1]
    (shown, _) = store.steps.get_step(thread.id, run.id, step.id).step_details.tool_calls
    assert (shown.function.output, shown.execution) == ('{"ok": true}', claimed.execution)
    assert shown.timing == CallTiming(started_at_ms=1100, completed_at_ms=1105)


def test_a_step_keeps_when_its_turn_started_when_it_was_made_and_when_it_ended(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    step, _ = tool_step(store, run, "client", "client")

    # The client is asked at 1300 ms, asked again by a retried task, and answers at 2500 ms.
    store.steps.ask_for_outputs(thread.id, run.id, step.id, ["call_1", "call_2"], 1300)
    store.steps.ask_for_outputs(thread.id, run.id, step.id, ["call_1", "call_2", "call_9"], 1400)
    store.runs.transition_run(thread.id, run.id, "requires_action", waiting_step_id=step.id)
    store.runs.accept_tool_outputs(thread.id, run.id, step.id, {"call_1": "a", "call_2": "b"}, 2500)
    store.steps.set_step_status(thread.id, run.id, step.id, "completed", 2600)

    shown = store.steps.get_step(thread.id, run.id, step.id)
    assert shown.status == "completed" and shown.completed_at == 2
    assert shown.timing == StepTiming(turn_started_at_ms=400, created_at_ms=1000, ended_at_ms=2600)
    assert [call.timing for call in shown.step_details.tool_calls] == [
        CallTiming(started_at_ms=1300, completed_at_ms=2500)
    ] * 2
    assert "timing" in shown.model_dump() and "timing" in shown.step_details.tool_calls[0].model_dump()
    assert [c.call_id for c in store.steps.get_tool_calls(thread.id, run.id, step.id)] == ["call_1", "call_2"]


def test_the_loops_late_writes_into_a_deleted_thread_find_nothing_and_recreate_nothing(store):
    thread, _ = new_thread(store)
    run = running(store, thread)
    step, _ = tool_step(store, run, "server", "client")
    claimed = store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1100)
    assert claimed is not None

    store.threads.delete_thread(thread.id)

    assert store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1200) is None
    store.steps.ask_for_outputs(thread.id, run.id, step.id, ["call_2"], 1300)
    store.steps.record_tool_output(thread.id, claimed.model_copy(update={"output": "late"}))
    assert store.steps.get_tool_calls(thread.id, run.id, step.id) == []
    with pytest.raises(NotFound):
        store.steps.get_step(thread.id, run.id, step.id)
