"""Objects the contract tests store, made the way the use cases make them, and the check every list passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.pagination import Page, PageRequest
from threadrunner.domain.run import Run
from threadrunner.domain.run_step import (
    FunctionCall,
    FunctionToolCall,
    MessageCreation,
    MessageCreationStepDetails,
    RunStep,
    StepTiming,
    ToolCallsStepDetails,
)
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.ports import Stores


def message(thread_id: str, text: str = "hello", **fields: Any) -> Message:
    """A user's message (``role``, ``status``, ``run_id`` ... as given)."""
    fields.setdefault("role", "user")
    return Message(id=new_id("msg"), created_at=now(), thread_id=thread_id, content=text_content(text), **fields)


def new_thread(store: Stores, messages: int = 0) -> tuple[Thread, list[Message]]:
    """A stored thread with ``messages`` messages: the first five made with it, the others added."""
    thread = Thread(id=new_id("thread"), created_at=now(), metadata={"made_by": "contract"})
    written = [message(thread.id, f"m{i}") for i in range(messages)]
    store.threads.create_thread(thread, written[:5])
    for added in written[5:]:
        store.threads.add_message(added)
    return thread, written


def a_run(thread: Thread, **fields: Any) -> Run:
    return Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="asst_x", model="m", **fields)


def new_run(store: Stores, thread: Thread, **create: Any) -> Run:
    """A stored queued run that holds its thread."""
    run = a_run(thread)
    store.runs.create_run(run, **create)
    return run


def running(store: Stores, thread: Thread, response_id: str = "resp_1") -> Run:
    """A stored run ``in_progress`` on the model response ``response_id``."""
    run = new_run(store, thread)
    store.runs.transition_run(thread.id, run.id, "in_progress", started_at=now())
    store.runs.set_turn(thread.id, run.id, response_id, tool_round=False, started_at_ms=1000)
    return store.runs.get_run(thread.id, run.id)


def end(store: Stores, run: Run) -> None:
    """End a run (from ``queued`` or ``in_progress``), freeing its thread."""
    store.runs.transition_run(run.thread_id, run.id, "failed", failed_at=now())


def tool_step(store: Stores, run: Run, *sides: str) -> tuple[RunStep, list[ToolCall]]:
    """A stored ``tool_calls`` step made at 1000 ms after a turn asked at 400 ms, with a call per side
    (``call_<n>``, named ``f<n>``, in that order)."""
    step = tool_calls_step(run, len(sides))
    calls = [
        ToolCall(call_id=f"call_{n}", run_id=run.id, step_id=step.id, name=f"f{n}", arguments="{}", side=side)  # type: ignore[arg-type]
        for n, side in enumerate(sides, 1)
    ]
    store.steps.put_step(step, calls)
    return step, calls


def tool_calls_step(run: Run, calls: int) -> RunStep:
    """A ``tool_calls`` step of ``calls`` calls (``call_<n>``), not stored."""
    step_id = new_id("step")
    details = ToolCallsStepDetails(
        tool_calls=[
            FunctionToolCall(id=f"call_{n}", function=FunctionCall(name=f"f{n}", arguments="{}"))
            for n in range(1, calls + 1)
        ]
    )
    return RunStep(
        id=step_id,
        created_at=now(),
        run_id=run.id,
        assistant_id="asst_x",
        thread_id=run.thread_id,
        type="tool_calls",
        step_details=details,
        timing=StepTiming(turn_started_at_ms=400, created_at_ms=1000),
    )


def message_step(run: Run, message_id: str, **fields: Any) -> RunStep:
    """The ``message_creation`` step of a run's message, not stored."""
    return RunStep(
        id=new_id("step"),
        created_at=now(),
        run_id=run.id,
        assistant_id="asst_x",
        thread_id=run.thread_id,
        type="message_creation",
        step_details=MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id)),
        **fields,
    )


def ids(page: Page[Any]) -> list[str]:
    return [item.id for item in page.data]


def pages_like_a_list(listing: Callable[[PageRequest], Page[Any]], made: list[str]) -> None:
    """Check that ``listing`` pages the ids ``made`` (oldest first, at least four) as the Assistants API's lists do:
    newest first by default, each page after the last id of the one before in both orders, ``has_more`` false on the
    last page only, ``before`` ending the page right at its cursor, ``after`` and ``before`` together the ids
    between."""
    assert len(made) >= 4
    assert (ids(listing(PageRequest())), listing(PageRequest()).has_more) == (made[::-1], False)
    for order, expected in (("asc", made), ("desc", made[::-1])):
        seen: list[str] = []
        more: list[bool] = []
        after = None
        while not more or more[-1]:
            page = listing(PageRequest(limit=2, order=order, after=after))
            seen += ids(page)
            more.append(page.has_more)
            after = page.data[-1].id
        assert seen == expected
        assert more == [True] * (len(more) - 1) + [False] and len(more) == (len(made) + 1) // 2
    before = listing(PageRequest(limit=2, order="asc", before=made[-1]))
    assert (ids(before), before.has_more) == (made[-3:-1], len(made) > 3)
    before = listing(PageRequest(limit=2, order="desc", before=made[0]))
    assert (ids(before), before.has_more) == (made[2:0:-1], len(made) > 3)
    between = listing(PageRequest(limit=100, order="desc", after=made[-1], before=made[0]))
    assert (ids(between), between.has_more) == (made[-2:0:-1], False)
    assert ids(listing(PageRequest(order="asc", after=made[-1]))) == []
