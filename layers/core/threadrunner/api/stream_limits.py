"""Streamed answers counted per project (``PROJECT_MAX_OPEN_STREAMS``): each holds a function instance while it
lasts, so a project may keep only so many open at once, whichever containers serve them (docs/streaming.md).

A request that asks to stream takes its place before it is answered, so a refusal (429 ``too_many_open_streams``)
comes before anything is created; the place is given back when the stream ends, or at once when the answer does
not stream (a 400, say).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..app import projects
from ..domain.deployment import RunDefaults
from ..errors import TooManyOpenStreams
from ..ports import Stores
from . import errors, streams

if TYPE_CHECKING:
    from .scope import Answer, Incoming, Next


def open_streams(incoming: Incoming, next: Next) -> Answer:
    """The stage: the rest of the front door answers, a streamed answer counted while it lasts; 429
    ``too_many_open_streams`` when the project has as many open as it may."""
    scope = incoming.scope
    try:
        defaults = scope.deps.settings.run_defaults
        return counted(scope.stores, defaults, incoming.event, scope.stream_seconds, lambda: next(incoming))
    except TooManyOpenStreams as refused:
        return errors.as_answer(errors.from_error(refused))


def counted(
    stores: Stores, defaults: RunDefaults, event: dict[str, Any], seconds: float, answer: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``answer()`` the request; a streamed one counted among the project's open streams while its events last.

    Raises :class:`~threadrunner.errors.TooManyOpenStreams` when the project has as many open as it may.
    """
    asks = not event.get("isBase64Encoded") and streams.wants_stream(event.get("body"))
    stream = projects.open_stream(stores, defaults, seconds) if asks else None
    try:
        answered = answer()
    except BaseException:
        if stream is not None:
            projects.close_stream(stores, stream)
        raise
    events = streams.streamed(answered)
    if events is not None and stream is not None:
        answered["body"] = events.closing(lambda: projects.close_stream(stores, stream))
    elif stream is not None:
        projects.close_stream(stores, stream)
    return answered
