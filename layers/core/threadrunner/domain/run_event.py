"""The events a run puts on EventBridge when it ends or stops in ``requires_action`` (docs/users-and-events.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .common import LastError, Usage
from .run import RequiredAction, Run

SOURCE = "threadrunner"

DETAIL_TYPES = {
    status: f"threadrunner.run.{status}"
    for status in ("completed", "failed", "expired", "cancelled", "incomplete", "requires_action")
}
"""The detail-type of each run status that is announced."""


class RunEventDetail(BaseModel):
    """The ``detail`` of a run event."""

    project: str
    run_id: str
    thread_id: str
    assistant_id: str
    user_id: str | None
    """The user whose thread it is, for per-user conversations."""
    status: str
    reply: str | None
    """The assistant's reply, for completed and incomplete runs."""
    usage: Usage | None
    last_error: LastError | None
    required_action: RequiredAction | None
    """The calls the client must answer, for ``requires_action``."""
    metadata: dict[str, str]
    """The run's metadata, for the consumer's correlation ids."""


class RunEvent(BaseModel):
    detail_type: str
    detail: RunEventDetail

    def entry(self) -> dict[str, Any]:
        """The event as ``PutEvents`` takes it (without the bus)."""
        return {"Source": SOURCE, "DetailType": self.detail_type, "Detail": self.detail.model_dump_json()}


def run_event(project: str, run: Run, user_id: str | None, reply: str | None) -> RunEvent:
    return RunEvent(
        detail_type=DETAIL_TYPES[run.status],
        detail=RunEventDetail(
            project=project,
            run_id=run.id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            user_id=user_id,
            status=run.status,
            reply=reply,
            usage=run.usage,
            last_error=run.last_error,
            required_action=run.required_action,
            metadata=run.metadata,
        ),
    )
