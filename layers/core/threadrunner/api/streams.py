"""Runs answered as server-sent events (``stream: true``): the route starts the run, the answer's body follows it.

The one way a route hands a stream back is to return a :class:`StreamAnswer`: a 200 ``text/event-stream``
response whose body, once the resolver has validated the answer, is an :class:`EventStream` (one text chunk per
event; the entry point writes them as they come, the streaming function, or joins them, behind API Gateway's HTTP
API, which only buffers). The stages of the front door (api/app.py) recognise a streamed answer by that body: the
open-streams bound holds a place while it lasts, and idempotency keeps its :class:`StreamView`, so a retry with the
same ``Idempotency-Key`` streams that run again (:meth:`RunStreams.again`) and creates or submits nothing. The run
is created, and every 400 answered, before the first event, as the hosted API did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NotRequired, TypedDict

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from ..app.run_stream import RunStream, Snapshot
from ..domain.run import Run
from ..domain.stream import KEEP_ALIVE, StreamEvent
from ..ports import ModelClient, Stores

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Keep proxies from holding events back."""


class StreamView(TypedDict):
    """What a retry of a streamed request streams again: the run its stream shows and the names of the events
    before the run's own (kept as it is in the request's idempotency record)."""

    thread_id: str
    run_id: str
    first: list[str]
    with_contents: NotRequired[bool]


class EventStream(Iterator[str]):
    """The body of a streamed answer: its events' text as they come; ``view`` is what a retry streams again
    (``None`` for a relayed stream, the provider's, which nothing gives again)."""

    def __init__(self, chunks: Iterator[str], view: StreamView | None = None) -> None:
        self._chunks = chunks
        self.view = view

    def __next__(self) -> str:
        return next(self._chunks)

    def closing(self, close: Callable[[], None]) -> EventStream:
        """The same events, then ``close()`` when they end or their reader stops."""

        def chunks() -> Iterator[str]:
            try:
                yield from self._chunks
            finally:
                close()

        return EventStream(chunks(), self.view)


class StreamAnswer(Response[str]):
    """What a route returns to stream: its body is ``events`` once the resolver has validated the answer
    (:func:`events_in_body`)."""

    def __init__(self, events: EventStream, status: int = 200, content_type: str = "text/event-stream") -> None:
        super().__init__(status_code=status, content_type=content_type, body="", headers=dict(SSE_HEADERS))
        self.events = events


def events_in_body(response: Response) -> Response:
    """A :class:`StreamAnswer` with its events for body; any other response as it is.

    The resolver's validation of an answer would read an iterator body to its end, so the events go in after it
    (the resolver's middleware, api/routes.py), or where a stream is answered without the resolver (a retry's).
    """
    if isinstance(response, StreamAnswer):
        response.body = response.events  # type: ignore[assignment]
    return response


def streamed(answer: dict[str, Any]) -> EventStream | None:
    """The events of an answer that streams; ``None`` for any other."""
    body = answer.get("body")
    return body if isinstance(body, EventStream) else None


class RunStreams:
    """Runs' events as a request streams them: from the project's stores and the model's response, for at most
    ``max_seconds`` (how long a streamed answer may last on the entry point serving it)."""

    def __init__(
        self, stores: Stores, model: Callable[[], ModelClient], max_seconds: float, keep_alive_seconds: float
    ) -> None:
        self._stores, self._model = stores, model
        self._max_seconds, self._keep_alive_seconds = max_seconds, keep_alive_seconds

    def answer(
        self,
        thread_id: str,
        run_id: str,
        *,
        first: Iterable[StreamEvent] = (),
        snapshot: Snapshot | None = None,
        with_contents: bool = False,
    ) -> StreamAnswer:
        """The answer of a streaming route: ``first`` events (the thread, the new run), then the run's own (its
        ``file_search`` steps ``with_contents`` when ``include[]`` asked for them)."""
        first = list(first)
        view = StreamView(
            thread_id=thread_id, run_id=run_id, first=[event.event for event in first], with_contents=with_contents
        )
        stream = RunStream(
            self._stores,
            self._model,
            thread_id,
            run_id,
            snapshot,
            max_seconds=self._max_seconds,
            with_contents=with_contents,
            keep_alive=self._keep_alive_seconds,
        )
        return StreamAnswer(EventStream(_chain(first, stream), view))

    def again(self, view: StreamView) -> StreamAnswer:
        """The answer to a retry of a streamed request: the same first events (their objects as they are now),
        then the run's events from its start, whatever the first answer already showed."""
        thread_id, run_id = view["thread_id"], view["run_id"]
        run = self._stores.runs.get_run(thread_id, run_id)
        first = [
            StreamEvent(name, run if name.startswith("thread.run.") else self._stores.threads.get_thread(thread_id))
            for name in view["first"]
        ]
        return self.answer(thread_id, run_id, first=first, with_contents=view.get("with_contents", False))


def relay(chunks: Iterator[str], status: int = 200, content_type: str = "text/event-stream") -> StreamAnswer:
    """The answer of a route that passes on a stream of its own (a forwarded call's): its text as it comes."""
    return StreamAnswer(EventStream(chunks), status, content_type)


def run_or_events(model: type[BaseModel]) -> dict[int, Any]:
    """The OpenAPI answer of a route that streams on ``stream: true``: the object, or its run's events."""
    return {
        200: {
            "description": "The run; with `stream: true`, the run's events as server-sent events",
            "content": {"application/json": {"model": model}, "text/event-stream": {"schema": {"type": "string"}}},
        }
    }


def run_created(run: Run) -> list[StreamEvent]:
    """The first events of a new run: created, and queued."""
    return [StreamEvent("thread.run.created", run), StreamEvent("thread.run.queued", run)]


def _chain(first: Iterable[StreamEvent], stream: RunStream) -> Iterator[str]:
    yield from encode(first)
    yield from encode(stream.events())


def encode(events: Iterable[StreamEvent]) -> Iterator[str]:
    """Each event as the hosted API wrote it: ``event: <name>`` and ``data: <json>`` (``[DONE]`` for ``done``); a
    keep-alive as an SSE comment."""
    for event in events:
        if event == KEEP_ALIVE:
            yield ": keep-alive\n\n"
            continue
        data = event.data
        if isinstance(data, BaseModel):
            text = json.dumps(data.model_dump(mode="json"), separators=(",", ":"))
        elif isinstance(data, str):
            text = data
        else:
            text = json.dumps(data, separators=(",", ":"))
        yield f"event: {event.event}\ndata: {text}\n\n"


def wants_stream(body: str | None) -> bool:
    """Whether a request's JSON body asks for ``stream: true`` (read before the resolver, which reads it again)."""
    if not body or '"stream"' not in body:
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("stream") is True


def joined(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with a streamed body read to its end: what an entry point that only buffers can return."""
    body = answer.get("body")
    if isinstance(body, Iterator):
        return {**answer, "body": "".join(body)}
    return answer
