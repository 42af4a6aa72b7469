"""A run's stream on fakes: the loop's tasks move the run while the stream sleeps, as the state machine would."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.fakes import FakeModel
from tests.unit.test_run_loop_tasks import CLIENT_TOOL, Loop, _calls
from threadrunner.app import runs
from threadrunner.app.requests.runs import SubmitToolOutputsRequest
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.app.run_stream import RunStream, Snapshot
from threadrunner.domain import file_search
from threadrunner.domain.common import FileSearchTool
from threadrunner.domain.message import text_content
from threadrunner.domain.model_turn import TurnEvent
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.stream import KEEP_ALIVE

TEXT = "Once upon a time, a lighthouse."


def _events(
    loop: Loop,
    moves: list[Callable[[], object]],
    model: FakeModel | None,
    race: tuple[int, Callable[[], object]] | None = None,
    **options,
) -> list:
    """The stream's events, the loop taking one of ``moves`` each time the stream sleeps; and with ``race``, its move
    right after the stream's call to the stores of that number (from 1): a task of the loop that lands between two
    of the stream's reads."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if moves:
            moves.pop(0)()

    stores = loop.stores
    if race is not None:
        calls, (at, move) = itertools.count(1), race

        def after_each_call() -> None:
            if next(calls) == at:
                move()

        racing = {name: _Racing(getattr(stores, name), after_each_call) for name in ("runs", "steps", "threads")}
        stores = dataclasses.replace(stores, **racing)
    stream = RunStream(
        stores,
        (lambda: model) if model is not None else None,
        "thread_1",
        loop.state.run_id,
        sleep=sleep,
        clock=lambda: clock[0],
        **options,
    )
    return list(stream.events())


class _Racing:
    """A store whose every call is followed by ``after``."""

    def __init__(self, store: object, after: Callable[[], None]) -> None:
        self._store, self._after = store, after

    def __getattr__(self, name: str) -> Callable[..., object]:
        method = getattr(self._store, name)

        def called(*args, **kwargs):
            answer = method(*args, **kwargs)
            self._after()
            return answer

        return called


def _answering(loop: Loop, text: str = TEXT) -> list[Callable[[], object]]:
    """The loop's moves of a one-turn run that answers ``text``."""

    def finish() -> None:
        loop.model.finish(loop.state.turn.response_id, output_text=text)

    return [
        lambda: loop.step(RunLoop.start_turn),
        finish,
        lambda: loop.step(RunLoop.check_turn),
        lambda: loop.step(RunLoop.finalize_run),
    ]


def _text_stream(response_id: str, text: str) -> list[TurnEvent]:
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    return [
        TurnEvent(sequence_number=0, kind="other"),
        TurnEvent(sequence_number=1, kind="message", output_index=0),
        *(TurnEvent(sequence_number=2 + i, kind="text", text=piece) for i, piece in enumerate(pieces)),
        TurnEvent(sequence_number=2 + len(pieces), kind="ended"),
    ]


def test_given_no_model_stream_when_a_run_answers_then_the_records_show_the_message_begun_then_whole():
    loop = Loop()

    events = _events(loop, _answering(loop), model=None)

    names = [event.event for event in events]
    assert names == [
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]
    created, delta = events[2].data, events[4].data
    assert (created.status, created.content) == ("in_progress", [])  # as it began
    assert delta["delta"]["content"][0]["text"]["value"] == TEXT  # the text in one piece


def test_given_a_model_stream_that_breaks_when_followed_then_it_is_taken_up_after_its_last_event():
    loop = Loop()
    model = loop.model
    moves = _answering(loop)
    start = moves.pop(0)

    def started() -> None:
        start()
        response_id = loop.state.turn.response_id
        model.streams[response_id] = _text_stream(response_id, TEXT)
        model.breaks[response_id] = 4  # after the message began and two pieces of text

    events = _events(loop, [started, *moves], model=model)

    deltas = [e.data["delta"]["content"][0]["text"]["value"] for e in events if e.event == "thread.message.delta"]
    assert "".join(deltas) == TEXT and len(deltas) == len(range(0, len(TEXT), 5))  # no gap, no repeat
    response_id = loop.state.turn.response_id
    assert model.followed == [(response_id, None), (response_id, 3)]
    message = next(e.data for e in events if e.event == "thread.message.completed")
    assert message.content[0].text.value == TEXT and events[-1].event == "done"


def test_given_a_run_that_never_moves_when_streamed_then_the_stream_ends_at_its_limit_without_done():
    loop = Loop()

    events = _events(loop, [], model=None, max_seconds=5.0)

    assert [event.event for event in events] == []  # queued throughout: nothing to tell, and no done


def test_given_a_thread_deleted_under_a_stream_then_it_ends_with_an_error_event():
    loop = Loop()
    moves = [lambda: loop.step(RunLoop.start_turn), lambda: loop.stores.threads.delete_thread("thread_1")]

    events = _events(loop, moves, model=None)

    assert events[-1].event == "error" and events[-1].data["code"] == "not_found"


def test_given_outputs_just_submitted_when_streamed_then_the_answered_turn_is_not_shown_again():
    loop = Loop()
    response_id = loop.started()
    snapshot = Snapshot.of(loop.stores, "thread_1", loop.state.run_id)

    events = _events(loop, _answering(loop)[1:], model=None, snapshot=snapshot)

    assert snapshot.responses == {response_id}
    assert "thread.run.in_progress" not in [event.event for event in events]  # it was in progress already
    assert [event.event for event in events][-2:] == ["thread.run.completed", "done"]


def test_given_outputs_whose_turn_began_before_the_stream_looked_then_the_run_in_progress_still_comes_first():
    loop = Loop([CLIENT_TOOL])
    loop.asking_for_outputs()
    loop.control.waiting.add("token-1")
    snapshot = Snapshot.of(loop.stores, "thread_1", loop.state.run_id)
    outputs = SubmitToolOutputsRequest(tool_outputs=[{"tool_call_id": "call_0", "output": "done"}])
    runs.submit_tool_outputs(loop.stores, loop.control, "thread_1", loop.state.run_id, outputs, 65536)
    loop.step(RunLoop.submit_tool_outputs)  # the next turn began, and the answered calls' step ended with it

    events = _events(loop, _answering(loop)[1:], model=None, snapshot=snapshot)

    assert [event.event for event in events][:2] == ["thread.run.in_progress", "thread.run.step.completed"]
    assert events[1].data.step_details.type == "tool_calls"


def test_given_a_response_the_loop_finished_before_the_stream_looked_then_its_text_still_comes_delta_by_delta():
    loop = Loop()
    response_id = loop.started()
    loop.model.streams[response_id] = _text_stream(response_id, TEXT)
    for move in _answering(loop)[1:]:
        move()

    events = _events(loop, [], model=loop.model)

    names = [event.event for event in events]
    assert names == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * len(range(0, len(TEXT), 5)),
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]
    step = events[0].data
    assert (step.status, step.completed_at) == ("in_progress", None)  # as it began, though it is done
    assert events[-3].data.status == "completed"


def test_given_a_cancel_the_loop_ends_between_two_looks_then_the_stream_still_shows_cancelling_first():
    loop = Loop()

    def cancelled() -> None:
        runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)
        loop.step(RunLoop.check_turn)  # the loop sees the cancel and ends it at once

    events = _events(loop, [lambda: loop.step(RunLoop.start_turn), cancelled], model=None)

    assert [event.event for event in events][-3:] == ["thread.run.cancelling", "thread.run.cancelled", "done"]
    cancelling, ended = events[-3].data, events[-2].data
    assert (cancelling.id, cancelling.status, cancelling.cancelled_at) == (ended.id, "cancelling", None)
    assert ended.status == "cancelled" and ended.cancelled_at is not None


def test_given_a_message_whose_text_came_whole_from_the_records_then_its_delta_carries_its_citations():
    loop = Loop()
    text = "Sound the horn every thirty seconds【0:0†rules.md】, and log it【0:1†log.md】."
    citations = file_search.citations(text, {(0, 0): "file-rules", (0, 1): "file-log"})
    moves = _answering(loop, text)

    def cited() -> None:
        moves[-1]()  # the loop finishes the message; its citations as the loop found them
        (message,) = loop.stores.threads.list_messages("thread_1", PageRequest(limit=10), run_id=loop.state.run_id).data
        loop.stores.threads.update_message("thread_1", message.id, {"content": text_content(text, citations)})

    events = _events(loop, [*moves[:-1], cited], model=None)

    (delta,) = [e.data["delta"]["content"][0]["text"] for e in events if e.event == "thread.message.delta"]
    assert delta["value"] == text
    assert [(a["index"], a["file_citation"]["file_id"], a["start_index"]) for a in delta["annotations"]] == [
        (0, "file-rules", citations[0]["start_index"]),
        (1, "file-log", citations[1]["start_index"]),
    ]


def test_given_a_run_that_does_not_move_then_the_stream_sends_a_keep_alive_after_each_quiet_spell():
    loop = Loop()

    events = _events(loop, [], model=None, max_seconds=10.0, keep_alive=3.0)

    assert events and set(events) == {KEEP_ALIVE}
    assert len(events) == 3  # after 3, 6 and 9 quiet seconds: a client that left is found by the write that fails


def test_given_a_model_that_thinks_a_while_then_keep_alives_come_meanwhile_and_a_closed_stream_stops_reading():
    loop = Loop()
    loop.started()
    thinking, read, closed = threading.Event(), [], threading.Event()

    class SilentModel(FakeModel):
        def events(self, response_id: str, after: int | None = None) -> Iterator[TurnEvent]:
            try:
                yield TurnEvent(sequence_number=0, kind="other")
                thinking.wait(timeout=30)  # the model thinks until the test has seen a keep-alive
                for event in _text_stream(response_id, TEXT)[1:]:
                    read.append(event)
                    yield event
            finally:
                closed.set()

    stream = RunStream(loop.stores, lambda: SilentModel(), "thread_1", loop.state.run_id, keep_alive=0.01)
    events = stream.events()
    seen = [next(events) for _ in range(2)]  # the run in progress, then the model's silence
    events.close()  # the client left (the write of the keep-alive failed)
    thinking.set()

    assert [event.event for event in seen] == ["thread.run.in_progress", KEEP_ALIVE.event]
    assert closed.wait(timeout=10)  # the reading thread let go of the model's stream
    assert len(read) == 1  # at the model's next event


def test_given_a_model_that_searches_and_calls_a_function_then_each_call_streams_in_the_shape_its_step_will_have():
    loop = Loop(tools=[FileSearchTool()])
    loop.world.record("thread_1", loop.state.run_id).vector_store_ids = ["vs_1"]
    response_id = loop.started()
    loop.model.streams[response_id] = [
        TurnEvent(sequence_number=0, kind="function_call", output_index=0, call_id="call_1", name="file_search"),
        TurnEvent(sequence_number=1, kind="arguments", output_index=0, text='{"query": "fog"}'),
        TurnEvent(sequence_number=2, kind="function_call", output_index=1, call_id="call_2", name="lookup"),
        TurnEvent(sequence_number=3, kind="arguments", output_index=1, text='{"id": 7}'),
        TurnEvent(sequence_number=4, kind="ended"),
    ]

    events = _events(loop, [], model=loop.model, max_seconds=1.0)

    calls = [e.data["delta"]["step_details"]["tool_calls"][0] for e in events if e.event == "thread.run.step.delta"]
    assert calls == [
        {"index": 0, "id": "call_1", "type": "file_search", "file_search": {}},  # no name, no arguments: a search
        {
            "index": 1,
            "id": "call_2",
            "type": "function",
            "function": {"name": "lookup", "arguments": "", "output": None},
        },
        {"index": 1, "type": "function", "function": {"arguments": '{"id": 7}'}},
    ]


@pytest.mark.parametrize("begun", [True, False], ids=["response-begun", "run-queued"])
@pytest.mark.parametrize("at", [1, 2, 3])  # any of the stream's reads at its first look
def test_given_the_loop_writes_a_calls_step_between_two_reads_of_the_stream_then_the_call_still_streams_once(
    begun: bool, at: int
):
    loop = Loop([CLIENT_TOOL])
    arguments = '{"order_id": "A-1001"}'

    def model_streams(response_id: str) -> None:
        loop.model.streams[response_id] = [
            TurnEvent(sequence_number=0, kind="function_call", output_index=0, call_id="call_0", name="lookup"),
            TurnEvent(sequence_number=1, kind="arguments", output_index=0, text=arguments),
            TurnEvent(sequence_number=2, kind="ended"),
        ]

    def called() -> None:  # the model's call ends, and the loop writes its step, with the call whole
        if not begun:
            model_streams(loop.started())
        loop.model.finish(loop.state.turn.response_id, function_calls=_calls("lookup"))
        loop.step(RunLoop.check_turn)

    if begun:
        model_streams(loop.started())
    asked = [lambda: loop.step(RunLoop.request_tool_outputs, task_token="token-1")]

    events = _events(loop, asked, model=loop.model, race=(at, called))

    # What the openai SDK makes of the step: its calls in thread.run.step.created, then the deltas added on.
    (created,) = [e.data for e in events if e.event == "thread.run.step.created"]
    deltas = [e.data["delta"]["step_details"]["tool_calls"][0] for e in events if e.event == "thread.run.step.delta"]
    names = [call.function.name for call in created.step_details.tool_calls] + [
        d["function"]["name"] for d in deltas if "name" in d["function"]
    ]
    shown = [call.function.arguments for call in created.step_details.tool_calls] + [
        d["function"]["arguments"] for d in deltas
    ]
    assert (names, "".join(shown)) == (["lookup"], arguments)
    assert [e.event for e in events][-2:] == ["thread.run.requires_action", "done"]


@pytest.mark.parametrize("followed", [True, False], ids=["followed", "records-only"])
@pytest.mark.parametrize("at", range(1, 17))  # any of the stream's calls to the stores, as far as its end
def test_given_the_loop_ends_a_turn_between_two_reads_of_the_stream_then_its_message_ends_before_its_step(
    followed: bool, at: int
):
    loop = Loop()
    response_id = loop.started()
    loop.model.streams[response_id] = _text_stream(response_id, TEXT)
    finish, check, finalize = _answering(loop)[1:]
    finish()
    if not followed:
        check()  # the response ended before the stream looked, and the loop is about to write its message
    moves = [check] if followed else []

    events = _events(loop, moves, model=loop.model if followed else None, race=(at, finalize))

    names = [event.event for event in events if event.event not in ("thread.message.delta", "thread.run.in_progress")]
    assert names == [
        "thread.run.step.created",
        *(["thread.run.step.in_progress"] if followed else []),
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]


def test_given_a_look_while_a_cancel_ended_the_step_but_not_yet_its_message_then_the_message_still_ends_first():
    loop = Loop()
    response_id = loop.started()
    loop.model.streams[response_id] = _text_stream(response_id, TEXT)[:-1]  # the model is still writing

    def cancelled() -> None:  # the loop ends the run's steps first, then its messages, in writes of their own
        runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)
        (step,) = loop.stores.steps.list_steps("thread_1", loop.state.run_id, PageRequest(limit=10)).data
        loop.stores.steps.set_step_status("thread_1", loop.state.run_id, step.id, "cancelled", 1_000)

    events = _events(loop, [cancelled, lambda: loop.step(RunLoop.check_turn)], model=loop.model)

    names = [event.event for event in events if event.event != "thread.message.delta"]
    assert names[-5:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
