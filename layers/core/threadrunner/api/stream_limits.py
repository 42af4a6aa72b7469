"""Streamed answers counted per project (``PROJECT_MAX_OPEN_STREAMS``): each holds a function instance while it
lasts, so a project may keep only so many open at once, whichever containers serve them (docs/streaming.md).

A request that asks to stream takes its place before it is answered, so a refusal (429 ``too_many_open_streams``)
comes before anything is created; the place is given back when the stream ends, or at once when the answer does
not stream (a 400, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..app import projects
from ..domain.deployment import RunDefaults
from ..ports import Stores
from . import streams


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
        events = streams.taken()
    except BaseException:
        if stream is not None:
            projects.close_stream(stores, stream)
        raise
    if events is not None and answered["statusCode"] == 200:
        answered["body"] = events if stream is None else _closing(events, lambda: projects.close_stream(stores, stream))
    elif stream is not None:
        projects.close_stream(stores, stream)
    return answered


def _closing(chunks: Iterator[str], close: Callable[[], None]) -> Iterator[str]:
    try:
        yield from chunks
    finally:
        close()
