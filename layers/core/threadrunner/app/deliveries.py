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

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ..domain.common import problems
from ..domain.deployment import RunDefaults
from ..domain.run import Run
from ..domain.user import user_ref
from ..errors import ThreadrunnerError
from ..observability import log_keys
from ..ports import RunControl, Stores
from . import users
from .requests.users import UserMessageRequested

DELIVERY_RECORD_HOURS = 24
"""How long a delivery's record is kept: a duplicate of it within that time posts nothing."""


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


class Deliveries:
    """Users' messages from the producers ``bound`` to projects (``producer=project``), each posted once per
    delivery: a Powertools idempotency record of its id in ``records``."""

    def __init__(
        self,
        bound: dict[str, str],
        stores_for: Callable[[str], Stores],
        control: RunControl,
        defaults: RunDefaults,
        records: BasePersistenceLayer,
    ) -> None:
        self._bound = bound
        self._config = IdempotencyConfig(
            event_key_jmespath="delivery_id", expires_after_seconds=DELIVERY_RECORD_HOURS * 3600
        )
        once = idempotent_function(data_keyword_argument="delivery", persistence_store=records, config=self._config)

        def post(delivery: dict[str, Any]) -> dict[str, Any]:
            request, project = UserMessageRequested.model_validate(delivery["request"]), delivery["project"]
            log_keys(project=project, user=user_ref(request.user_id))
            answer = users.post_user_message(stores_for(project), control, request.user_id, request, defaults)
            return summary(answer)

        # Records are keyed by the module and name of the function that posts: these are the ones it had before it
        # moved here from threadrunner.bootstrap, so a duplicate delivered across that deploy still posts nothing.
        post.__module__, post.__qualname__ = "threadrunner.bootstrap", "deliveries.<locals>.post"
        self._post = once(post)

    def deliver(self, delivery_id: str, payload: Any, producer: str, lambda_context: LambdaContext) -> dict[str, Any]:
        """The delivery posted once (:func:`deliver`), within the invocation of ``lambda_context``."""
        self._config.register_lambda_context(lambda_context)
        return deliver(delivery_id, payload, producer, self._bound, self._post)
