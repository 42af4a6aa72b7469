"""The events a run puts on EventBridge when it ends or stops in ``requires_action`` (docs/users-and-events.md)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from .common import LastError, Usage
from .message import Message
from .run import RequiredAction, Run

SOURCE = "threadrunner"

DETAIL_TYPES = {
    status: f"threadrunner.run.{status}"
    for status in ("completed", "failed", "expired", "cancelled", "incomplete", "requires_action")
}
"""The detail-type of each run status that is announced."""

MAX_REPLY_BYTES = 32768
"""The most of a reply an event carries; the rest is read from the message (``message_id``)."""
MAX_ARGUMENTS_BYTES = 1024
"""The most of one tool call's arguments an event carries; the run has them whole."""


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut so that it takes at most ``limit`` bytes in the event's JSON, and whether it was cut.

    An event holds at most 256 KB: a longer one is refused, and a refused announcement would stall the
    user's queue. The size is the JSON's, not the text's: a control character takes six bytes there.
    """
    if _json_bytes(text) <= limit:
        return text, False
    fits, too_long = 0, min(len(text), limit) + 1  # every character takes at least one byte
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        fits, too_long = (middle, too_long) if _json_bytes(text[:middle]) <= limit else (fits, middle)
    return text[:fits], True


def _json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2  # without the quotes


class RunEventDetail(BaseModel):
    """The ``detail`` of a run event."""

    project: str
    run_id: str
    thread_id: str
    assistant_id: str
    user_id: str | None
    """The user whose thread it is, for a user's thread (``/v1/users``)."""
    status: str
    reply: str | None
    """The assistant's reply, for completed and incomplete runs: its first 32 KB."""
    reply_truncated: bool = False
    """Whether ``reply`` is cut; the whole reply is the message ``message_id``."""
    message_id: str | None = None
    """The message of the reply."""
    usage: Usage | None
    last_error: LastError | None
    required_action: RequiredAction | None
    """The calls the client must answer, for ``requires_action``; each call's arguments cut to 1 KB."""
    metadata: dict[str, str]
    """The run's metadata, for the consumer's correlation ids."""


class RunEvent(BaseModel):
    detail_type: str
    detail: RunEventDetail

    def entry(self) -> dict[str, Any]:
        """The event as ``PutEvents`` takes it (without the bus)."""
        return {"Source": SOURCE, "DetailType": self.detail_type, "Detail": self.detail.model_dump_json()}


def run_event(project: str, run: Run, user_id: str | None, reply: Message | None) -> RunEvent:
    text, truncated = _cut(reply.text, MAX_REPLY_BYTES) if reply is not None else (None, False)
    required = run.required_action.model_copy(deep=True) if run.required_action is not None else None
    for call in required.submit_tool_outputs.tool_calls if required is not None else []:
        call.function.arguments = _cut(call.function.arguments, MAX_ARGUMENTS_BYTES)[0]
    return RunEvent(
        detail_type=DETAIL_TYPES[run.status],
        detail=RunEventDetail(
            project=project,
            run_id=run.id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            user_id=user_id,
            status=run.status,
            reply=text,
            reply_truncated=truncated,
            message_id=reply.id if reply is not None else None,
            usage=run.usage,
            last_error=run.last_error,
            required_action=required,
            metadata=run.metadata,
        ),
    )
