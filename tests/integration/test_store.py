"""The stores' contracts, kept by the DynamoDB stores (on moto, with the table built from template.yaml by the local
stack) and by the in-memory fakes the unit tests use alike."""

from __future__ import annotations

import secrets

import pytest

from tests.fakes import fake_stores
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import Budget, Reservation
from threadrunner.domain.common import Usage, now
from threadrunner.domain.ids import new_id
from threadrunner.domain.lambda_tools import LambdaTool
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run import Run
from threadrunner.domain.run_step import (
    CallTiming,
    FunctionCall,
    FunctionToolCall,
    RunStep,
    StepTiming,
    ToolCallsStepDetails,
    ToolExecution,
)
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.errors import Conflict, InvalidTransition, NotFound, RunActive
from threadrunner.ports import Stores
from threadrunner_local.stack import LocalStack


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        return fake_stores()
    return request.getfixturevalue("table_store")


@pytest.fixture
def table_store(stack: LocalStack) -> Stores:
    """The DynamoDB stores alone, for what only a table can show."""
    return stack.stores("p_" + secrets.token_hex(4))


def _thread(store: Stores, messages: int = 0) -> tuple[Thread, list[Message]]:
    thread = Thread(id=new_id("thread"), created_at=now())
    written = [
        Message(id=new_id("msg"), created_at=now(), thread_id=thread.id, role="user", content=text_content(f"m{i}"))
        for i in range(messages)
    ]
    store.threads.create_thread(thread, written[:5])
    for message in written[5:]:
        store.threads.add_message(message)
    return thread, written


def _run(store: Stores, thread: Thread) -> Run:
    run = Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="asst_x", model="m")
    store.runs.create_run(run)
    return run


def test_cursor_pages_walk_every_message_once_in_both_orders(store):
    thread, messages = _thread(store, 25)
    ids = [m.id for m in messages]
    for order, expected in (("asc", ids), ("desc", ids[::-1])):
        seen, after, pages = [], None, 0
        while True:
            page = store.threads.list_messages(thread.id, PageRequest(limit=10, order=order, after=after))
            seen += [m.id for m in page.data]
            pages += 1
            if not page.has_more:
                break
            after = page.data[-1].id
        assert (seen, pages) == (expected, 3)
    before = store.threads.list_messages(thread.id, PageRequest(limit=3, order="asc", before=ids[10]))
    assert ([m.id for m in before.data], before.has_more) == (ids[7:10], True)
    between = store.threads.list_messages(thread.id, PageRequest(limit=50, order="desc", after=ids[20], before=ids[15]))
    assert [m.id for m in between.data] == ids[16:20][::-1]


def test_an_active_run_locks_its_thread_until_it_ends(store):
    thread, _ = _thread(store)
    run = _run(store, thread)
    late = Message(id=new_id("msg"), created_at=now(), thread_id=thread.id, role="user", content=text_content("x"))

    with pytest.raises(RunActive):
        store.threads.add_message(late)
    with pytest.raises(RunActive):
        _run(store, thread)

    store.runs.transition_run(thread.id, run.id, "in_progress", started_at=now())
    store.runs.transition_run(thread.id, run.id, "completed", completed_at=now())
    store.threads.add_message(late)
    _run(store, thread)


def test_the_transition_table_refuses_illegal_moves_and_terminal_runs_never_change(store):
    thread, _ = _thread(store)
    run = _run(store, thread)

    with pytest.raises(InvalidTransition, match="from status 'queued' to 'completed'"):
        store.runs.transition_run(thread.id, run.id, "completed")
    store.runs.transition_run(thread.id, run.id, "in_progress")
    store.runs.transition_run(thread.id, run.id, "cancelling")
    store.runs.transition_run(thread.id, run.id, "cancelled", cancelled_at=now())
    with pytest.raises(InvalidTransition):
        store.runs.transition_run(thread.id, run.id, "completed")
    assert store.runs.get_run(thread.id, run.id).status == "cancelled"


def test_usage_counts_each_response_once_and_ids_are_claimed_once(store):
    thread, _ = _thread(store)
    run = _run(store, thread)
    for response_id in ("resp_1", "resp_2", "resp_1"):
        store.runs.add_usage(
            thread.id, run.id, response_id, Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13)
        )

    assert store.runs.get_run_record(thread.id, run.id).usage == Usage(
        prompt_tokens=20, completion_tokens=6, total_tokens=26
    )
    assert store.runs.claim_id(thread.id, run.id, "message", "msg_a") == "msg_a"
    assert store.runs.claim_id(thread.id, run.id, "message", "msg_b") == "msg_a"


def test_a_runs_messages_are_the_ones_it_wrote_not_the_ids_it_claimed(store):
    thread, _ = _thread(store, messages=2)
    run = _run(store, thread)
    store.runs.claim_id(thread.id, run.id, "message", new_id("msg"))  # a FinalizeRun that a cancel then beat

    assert store.threads.list_messages(thread.id, PageRequest(), run_id=run.id).data == []


def _tool_step(store: Stores, thread: Thread, run: Run, *sides: str) -> tuple[RunStep, list[ToolCall]]:
    """A ``tool_calls`` step made at 1000 ms after a turn asked at 400 ms, with a call per side (``call_<n>``)."""
    step_id = new_id("step")
    calls = [
        ToolCall(call_id=f"call_{n}", run_id=run.id, step_id=step_id, name="f", arguments="{}", side=side)  # type: ignore[arg-type]
        for n, side in enumerate(sides, 1)
    ]
    step = RunStep(
        id=step_id,
        created_at=now(),
        run_id=run.id,
        assistant_id="asst_x",
        thread_id=thread.id,
        type="tool_calls",
        step_details=ToolCallsStepDetails(
            tool_calls=[FunctionToolCall(id=c.call_id, function=FunctionCall(name="f", arguments="{}")) for c in calls]
        ),
        timing=StepTiming(turn_started_at_ms=400, created_at_ms=1000),
    )
    store.steps.put_step(step, calls)
    return step, calls


def test_a_tool_call_is_claimed_at_most_once(store):
    thread, _ = _thread(store)
    run = _run(store, thread)
    step, calls = _tool_step(store, thread, run, "server")
    store.steps.put_step(step, calls)  # a retried CheckTurn writes nothing twice

    claimed = store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1100)
    assert claimed is not None and claimed.status == "running"
    assert store.steps.claim_tool_call(thread.id, run.id, step.id, "call_1", 1200) is None
    claimed.output, claimed.duration_ms, claimed.completed_at_ms = '{"ok": true}', 5, 1105
    claimed.execution = ToolExecution(
        tool="f", arguments_sha256="0" * 64, duration_ms=5, attempts=2, outcome="ok", circuit="closed"
    )
    store.steps.record_tool_output(thread.id, claimed)
    (listed,) = store.steps.list_steps(thread.id, run.id, PageRequest()).data
    (shown,) = listed.step_details.tool_calls
    assert shown.function.output == '{"ok": true}' and shown.execution == claimed.execution
    assert shown.timing == CallTiming(started_at_ms=1100, completed_at_ms=1105)


def test_a_step_keeps_when_its_turn_started_when_it_was_made_and_when_it_ended(store):
    thread, _ = _thread(store)
    run = _run(store, thread)
    step, _ = _tool_step(store, thread, run, "client", "client")
    store.runs.transition_run(thread.id, run.id, "in_progress", started_at=now())

    # The client is asked at 1300 ms, asked again by a retried task, and answers at 2500 ms.
    store.steps.ask_for_outputs(thread.id, run.id, step.id, ["call_1", "call_2"], 1300)
    store.steps.ask_for_outputs(thread.id, run.id, step.id, ["call_1", "call_2"], 1400)
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


def test_a_run_remembers_when_its_current_turn_was_asked_of_the_model(store):
    thread, _ = _thread(store)
    run = _run(store, thread)

    store.runs.set_turn(thread.id, run.id, "resp_1", tool_round=False, started_at_ms=1234)

    record = store.runs.get_run_record(thread.id, run.id)
    assert (record.response_id, record.turn_started_at_ms) == ("resp_1", 1234)
    assert "turn_started_at_ms" not in store.runs.get_run(thread.id, run.id).model_dump()


def test_threads_are_listed_newest_first_in_pages_without_those_being_deleted(store):
    made = [_thread(store)[0] for _ in range(5)]

    first = store.threads.list_threads(PageRequest(limit=3))
    second = store.threads.list_threads(PageRequest(limit=3, after=first.data[-1].id))
    before = store.threads.list_threads(PageRequest(limit=2, order="asc", before=made[2].id))
    store.threads.delete_thread(made[4].id)

    assert [t.id for t in first.data + second.data] == [t.id for t in reversed(made)]
    assert (first.has_more, second.has_more) == (True, False)
    assert first.data[0] == made[4]
    assert [t.id for t in before.data] == [made[0].id, made[1].id]
    assert [t.id for t in store.threads.list_threads(PageRequest()).data] == [t.id for t in reversed(made[:4])]


def test_a_projects_tools_are_registered_once_by_name_and_its_forwarded_responses_are_known(store):
    tool = LambdaTool(name="orders", function_arn="arn:aws:lambda:us-east-1:123456789012:function:orders")
    store.tools.put_tool(tool)
    with pytest.raises(Conflict):
        store.tools.put_tool(tool)
    assert store.tools.get_tool("orders") == tool and store.tools.list_tools() == [tool]
    store.tools.delete_tool("orders")
    with pytest.raises(NotFound):
        store.tools.get_tool("orders")

    reservation = Reservation(day="2026-12-02", prompt_tokens=5, completion_tokens=5)
    store.usage.record_response("resp_forwarded", reservation, "", "")
    store.usage.record_response("resp_of_a_run", reservation, "thread_1", "run_1")
    assert store.usage.is_forwarded("resp_forwarded")
    assert not store.usage.is_forwarded("resp_of_a_run") and not store.usage.is_forwarded("resp_unknown")


def test_projects_cannot_see_each_other(stack: LocalStack, table_store):
    thread, _ = _thread(table_store, 1)
    other = stack.stores("p_other" + secrets.token_hex(2))

    with pytest.raises(NotFound):
        other.threads.get_thread(thread.id)
    assert other.threads.list_threads(PageRequest()).data == []
    assert [t.id for t in table_store.threads.list_threads(PageRequest()).data] == [thread.id]


def test_any_json_a_client_sends_round_trips_and_leaves_the_table_readable(stack: LocalStack, table_store):
    store = table_store
    # Empty keys, keys named like DynamoDB's type tags and numbers of more than 38 digits: all JSON.
    schema = {"type": "object", "properties": {"": {"type": "number", "maximum": 1e300}, "NULL": {"type": "boolean"}}}
    odd = {"": False, "N": [True, None, 12345678901234567890123456789012345678901234567890]}
    tools = [{"type": "function", "function": {"name": "odd", "parameters": {**schema, "examples": [odd]}}}]
    response_format = {"type": "json_schema", "json_schema": {"name": "odd", "schema": schema}}
    assistant = Assistant(id=new_id("asst"), created_at=now(), model="m", tools=tools, response_format=response_format)
    store.assistants.put_assistant(assistant)

    assert store.assistants.get_assistant(assistant.id).model_dump() == assistant.model_dump()
    assert any(item["SK"]["S"] == f"ASST#{assistant.id}" for item in stack.table_items())


def test_spending_replaces_a_reservation_by_what_a_call_used_at_once(store):
    reservation = Reservation(day="2026-01-01", prompt_tokens=100, completion_tokens=0)
    store.usage.reserve(reservation, Budget(daily_tokens=1000))

    store.usage.spend(reservation, Usage(prompt_tokens=40, total_tokens=40))

    day = store.usage.usage_today("2026-01-01")
    assert (day.usage.prompt_tokens, day.usage.total_tokens, day.reserved, day.committed) == (40, 40, 0, 40)
