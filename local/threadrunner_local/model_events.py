"""The events a response of the offline model streams, as the Responses API streams them, each with the time it
happens: ``response.created`` when it is created, ``response.in_progress`` when it starts, then its output items
(added, their text or arguments in deltas, done) spread until it finishes, and the final ``response.completed`` (or
``failed``, ``incomplete``) when it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .model_store import OfflineModel, StoredResponse

DELTAS_PER_TEXT = 6
"""Into how many deltas a text (or a call's arguments) is cut when it streams."""
DELTAS_PER_ARGUMENTS = 3
"""Into how many deltas a call's arguments are cut when they stream."""
_ENDINGS = {"completed": "response.completed", "incomplete": "response.incomplete"}
"""The last event of a response by its final status; any other ends ``response.failed``."""


def text_pieces(text: str, count: int = DELTAS_PER_TEXT) -> list[str]:
    """``text`` in about ``count`` pieces that join back to it, cut after spaces where it has them."""
    if not text:
        return []
    words = re.findall(r"\S*\s*", text)[:-1] or [text]
    size = -(-len(words) // count)
    return ["".join(words[start : start + size]) for start in range(0, len(words), size)]


def timeline(model: OfflineModel, stored: StoredResponse) -> list[tuple[float, dict[str, Any]]]:
    """Every event the response streams, with the time it happens, numbered by ``sequence_number``.

    A cancelled response streams what happened before the cancel, and no end.
    """
    start, begun = stored.created, stored.begun_at
    final = model.view(replace(stored, cancelled_at=None), at=stored.finish_at)
    shown = {key: value for key, value in final.items() if key not in ("output", "usage")}
    events: list[tuple[float, dict[str, Any]]] = [
        (start, {"type": "response.created", "response": shown | {"status": "queued", "output": [], "usage": None}}),
        (
            begun,
            {
                "type": "response.in_progress",
                "response": shown | {"status": "in_progress", "output": [], "usage": None},
            },
        ),
    ]
    items = [event for index, item in enumerate(final["output"]) for event in _item_events(index, item)]
    for position, event in enumerate(items):
        events.append((begun + (stored.finish_at - begun) * (position + 1) / (len(items) + 1), event))
    ending = _ENDINGS.get(final["status"], "response.failed")
    events.append((stored.finish_at, {"type": ending, "response": final}))
    numbered = [(at, event | {"sequence_number": number}) for number, (at, event) in enumerate(events)]
    if stored.cancelled_at is not None:
        return [(at, event) for at, event in numbered if at <= stored.cancelled_at]
    return numbered


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of the output item at ``index``: how it is written (by its type), then ``output_item.done``."""
    written = _WRITTEN.get(item["type"], lambda index, item: [])
    return [*written(index, item), {"type": "response.output_item.done", "output_index": index, "item": item}]


def _message_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """A message added, its text part added, the text in deltas, then the text and the part done."""
    text = "".join(part.get("text", "") for part in item["content"])
    part = {"type": "output_text", "text": "", "annotations": []}
    at = {"item_id": item["id"], "output_index": index, "content_index": 0}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": item | {"status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": part},
        *({"type": "response.output_text.delta", **at, "delta": piece} for piece in text_pieces(text)),
        {"type": "response.output_text.done", **at, "text": text},
        {"type": "response.content_part.done", **at, "part": part | {"text": text}},
    ]


def _call_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """A function call added, its arguments in deltas, then the arguments done."""
    at = {"item_id": item["id"], "output_index": index}
    pieces = text_pieces(item["arguments"], DELTAS_PER_ARGUMENTS)
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": item | {"status": "in_progress", "arguments": ""},
        },
        *({"type": "response.function_call_arguments.delta", **at, "delta": piece} for piece in pieces),
        {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]},
    ]


_WRITTEN: dict[str, Callable[[int, dict[str, Any]], list[dict[str, Any]]]] = {
    "message": _message_events,
    "function_call": _call_events,
}
"""How each type of output item is written in a stream, before it is done."""
