"""Runs answered as server-sent events (``stream: true``): the route starts the run, the answer's body follows it.

A route that streams answers ``text/event-stream`` with an empty body and leaves the events here;
:func:`threadrunner.api.app.handle` makes them the answer's body, an iterator of text chunks (one per
event), which the entry point writes as they come (the streaming function) or joins (behind API
Gateway's HTTP API, which only buffers). The run is created, and every 400 answered, before the first
event, as the hosted API did. A request with an ``Idempotency-Key`` keeps which run its stream shows
(:func:`view`): a retry streams that run again (:func:`again`), and creates or submits nothing.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterable, Iterator
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app.run_stream import RunStream, Snapshot
from ..domain.run import Run
from ..domain.stream import StreamEvent
from . import context

_pending: contextvars.ContextVar[Iterator[str] | None] = contextvars.ContextVar("stream", default=None)
_view: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("stream_view", default=None)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Keep proxies from holding events back."""


def answer(
    router: APIGatewayHttpRouter,
    thread_id: str,
    run_id: str,
    *,
    first: Iterable[StreamEvent] = (),
    snapshot: Snapshot | None = None,
) -> Response[str]:
    """The answer of a streaming route: ``first`` events (the thread, the new run), then the run's own."""
    first = list(first)
    _view.set({"thread_id": thread_id, "run_id": run_id, "first": [event.event for event in first]})
    stream = RunStream(
        context.stores(router),
        context.model(router),
        thread_id,
        run_id,
        snapshot,
        max_seconds=context.stream_seconds(router),
    )
    _pending.set(_chain(first, stream))
    return Response(status_code=200, content_type="text/event-stream", body="", headers=SSE_HEADERS)


def again(router: APIGatewayHttpRouter, view: dict[str, Any]) -> Response[str]:
    """The answer to a retry of a streamed request: the same first events (their objects as they are now), then
    the run's events from its start, whatever the first answer already showed."""
    stores = context.stores(router)
    thread_id, run_id = view["thread_id"], view["run_id"]
    run = stores.runs.get_run(thread_id, run_id)
    first = [
        StreamEvent(name, run if name.startswith("thread.run.") else stores.threads.get_thread(thread_id))
        for name in view["first"]
    ]
    return answer(router, thread_id, run_id, first=first)


def relay(chunks: Iterator[str], status: int = 200, content_type: str = "text/event-stream") -> Response[str]:
    """The answer of a route that passes on a stream of its own (a forwarded call's): its text as it comes."""
    _view.set(None)
    _pending.set(chunks)
    return Response(status_code=status, content_type=content_type, body="", headers=SSE_HEADERS)


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


def taken() -> Iterator[str] | None:
    """The events a route left for this request, once; ``None`` if it did not stream."""
    events = _pending.get()
    _pending.set(None)
    _view.set(None)
    return events


def streamed() -> bool:
    """Whether a route left events for this request."""
    return _pending.get() is not None


def view() -> dict[str, Any] | None:
    """What a retry of this request with the same ``Idempotency-Key`` streams again: the run its stream shows
    and the names of the events before the run's own; ``None`` for a relayed stream, which nothing gives again."""
    return _view.get()


def encode(events: Iterable[StreamEvent]) -> Iterator[str]:
    """Each event as the hosted API wrote it: ``event: <name>`` and ``data: <json>`` (``[DONE]`` for ``done``)."""
    for event in events:
        data = event.data
        if isinstance(data, BaseModel):
            text = json.dumps(data.model_dump(mode="json"), separators=(",", ":"))
        elif isinstance(data, str):
            text = data
        else:
            text = json.dumps(data, separators=(",", ":"))
        yield f"event: {event.event}\ndata: {text}\n\n"


def joined(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with a streamed body read to its end: what an entry point that only buffers can return."""
    body = answer.get("body")
    if isinstance(body, Iterator):
        return {**answer, "body": "".join(body)}
    return answer
