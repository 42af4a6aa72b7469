"""Users' messages that arrive as events (EventBridge, SQS) instead of HTTP requests.

Both take the body of ``POST /v1/users/{user_id}/messages`` plus ``user_id`` and go through the
same :func:`threadrunner.app.users.post_user_message`. Each delivery is posted at most once: the
event id or SQS message id is the key of a Powertools idempotency record in the table, so a
duplicate delivery returns the first answer and posts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ..domain.common import problems
from ..domain.run import Run
from ..errors import ThreadrunnerError
from .requests.users import UserMessageRequested


class InvalidEvent(ThreadrunnerError):
    """A delivery whose payload is not a user's message: nothing is written for it."""


def parse_request(payload: Any) -> UserMessageRequested:
    """The user's message in an event's ``detail`` or a queue message's body, or a clear :class:`InvalidEvent`."""
    try:
        if isinstance(payload, str):
            payload = json.loads(payload)
        return UserMessageRequested.model_validate(payload)
    except (ValueError, ValidationError) as exc:
        why = problems(exc, "payload") if isinstance(exc, ValidationError) else f"not JSON: {exc}"
        raise InvalidEvent(f"The payload is not a user's message ({why}).") from exc


def summary(answer: Any) -> dict[str, Any]:
    """What a delivery produced, small enough to keep as its idempotency record."""
    if isinstance(answer, Run):
        return {"run_id": answer.id, "thread_id": answer.thread_id, "status": answer.status}
    return {"queued_message_id": answer.id, "thread_id": answer.thread_id, "position": answer.position}


def bindings(setting: str) -> dict[str, str]:
    """``producer=project,...`` (``EVENT_SOURCE_PROJECTS``, ``QUEUE_PROJECTS``) as a mapping."""
    pairs = (entry.strip().rpartition("=") for entry in setting.split(",") if entry.strip())
    return {producer: project for producer, _, project in pairs if producer and project}


def deliver(
    delivery_id: str, payload: Any, producer: str, bound: dict[str, str], post: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Validate a delivery, then post it through the idempotent ``post(delivery=...)``, as its producer's project.

    ``producer`` is what AWS says sent it (an event's ``source``, a record's queue ARN), never the payload:
    a producer acts for the one project it is bound to, and a payload naming another is refused.
    """
    project = bound.get(producer)
    if project is None:
        raise InvalidEvent(f"{producer!r} is bound to no project; nothing from it is posted.")
    request = parse_request(payload)
    if request.project not in (None, project):
        raise InvalidEvent(f"{producer!r} may post for the project {project!r} only, not {request.project!r}.")
    return post(delivery={"delivery_id": delivery_id, "project": project, "request": request.model_dump(mode="json")})
