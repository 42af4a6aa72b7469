"""A run's stream on fakes: the loop's tasks move the run while the stream sleeps, as the state machine would."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes import FakeModel
from tests.unit.test_run_loop_tasks import Loop
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.app.run_stream import RunStream, Snapshot
from threadrunner.domain.model_turn import TurnEvent

TEXT = "Once upon a time, a lighthouse."


def _events(loop: Loop, moves: list[Callable[[], object]], model: FakeModel | None, **options) -> list:
    """The stream's events, the loop taking one of ``moves`` each time the stream sleeps."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if moves:
            moves.pop(0)()

    stream = RunStream(
        loop.stores,
        (lambda: model) if model is not None else None,
        "thread_1",
        loop.state.run_id,
        sleep=sleep,
        clock=lambda: clock[0],
        **options,
    )
    return list(stream.events())


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
