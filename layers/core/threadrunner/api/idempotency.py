"""Answering once: a POST with an ``Idempotency-Key`` is answered once, and a retry with the same key gets that
answer and creates nothing new (Powertools idempotency, its records in the table for ``IDEMPOTENCY_HOURS``).

A success is kept for retries as it is, packed when it is large, or, when even packed it is too large for one
record, as where its object is read back; a streamed answer as the run its stream shows (the retry streams it
again). A failure is not kept: a retry tries again. A retry while the first request is still answered gets 409,
the same key with another request 400.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from ..errors import ThreadrunnerError
from . import errors, streams

if TYPE_CHECKING:
    from .scope import Answer, Incoming, Next

KEPT_ANSWER_BYTES = 256 * 1024
"""The largest answer body kept as it is for retries: an idempotency record is one DynamoDB item (400 KB)."""

_READ_BACK = {
    "assistant": "/v1/assistants/{id}",
    "thread": "/v1/threads/{id}",
    "thread.message": "/v1/threads/{thread_id}/messages/{id}",
    "thread.run": "/v1/threads/{thread_id}/runs/{id}",
}
"""Where an object of each kind is read: a retry of a request whose answer was too large to keep reads it back."""


def answer_once(incoming: Incoming, next: Next) -> Answer:
    """The stage: a POST with an ``Idempotency-Key`` through :class:`AnswerOnce`; any other request on as it is."""
    key = incoming.headers.get("idempotency-key")
    if incoming.method != "POST" or not key:
        return next(incoming)
    return incoming.deps.answer_once.answer(incoming, key, next)


class AnswerOnce:
    """The answers kept for retries, in ``store``, for ``hours``."""

    def __init__(self, store: BasePersistenceLayer, hours: int) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="[project, key]",
            payload_validation_jmespath="[method, path, query, body]",
            expires_after_seconds=hours * 3600,
        )
        self._once = idempotent_function(data_keyword_argument="request", persistence_store=store, config=self._config)(
            _answer_once
        )

    def answer(self, incoming: Incoming, key: str, next: Next) -> Answer:
        """The request answered now (its whole answer), or the kept answer of the first request with ``key``."""
        self._config.register_lambda_context(incoming.lambda_context)
        event = incoming.event
        request = {
            "project": incoming.scope.project,
            "key": key,
            "method": incoming.method,
            "path": event.get("rawPath"),
            "query": event.get("rawQueryString"),
            "body": event.get("body"),
        }
        answering = _Answering(lambda: next(incoming))
        try:
            kept = self._once(request=request, answering=answering)
            return answering.answer or _replayed(kept, incoming, next)
        except _NotRemembered as failed:
            return failed.answer
        except IdempotencyAlreadyInProgressError:
            message = "A request with this Idempotency-Key is still being processed; retry later."
            return _refusal(409, message, "idempotency_key_in_use")
        except IdempotencyValidationError:
            message = "This Idempotency-Key was already used with a different request."
            return _refusal(400, message, "idempotency_key_reused", param="Idempotency-Key")


@dataclass
class _Answering:
    """How the request is answered, and its answer once it has one (a retry's is the kept one instead)."""

    resolve: Callable[[], Answer]
    answer: Answer | None = None


class _NotRemembered(Exception):
    """An answer that is not a success: returned to the caller, not kept for a retry with the same key."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.get("statusCode"))
        self.answer = answer


def _answer_once(request: dict[str, Any], answering: _Answering) -> dict[str, Any]:
    """Answer a request and return what is kept for its retries: the answer, packed when it is large."""
    answer = answering.resolve()
    if not 200 <= answer["statusCode"] < 300:
        raise _NotRemembered(answer)
    answering.answer = answer
    events = streams.streamed(answer)
    if events is not None:  # kept as the run the stream shows: a retry streams it again
        if events.view is None:  # a forwarded call's stream: the provider's, nothing to give again
            raise _NotRemembered(answer)
        return {"statusCode": answer["statusCode"], "stream": events.view}
    body = answer.get("body") or ""
    if len(body) <= KEPT_ANSWER_BYTES:
        return answer
    packed = base64.b64encode(zlib.compress(body.encode())).decode()
    if len(packed) <= KEPT_ANSWER_BYTES:
        return {**answer, "body": packed, "packed": True}
    created = json.loads(body)  # too big even packed: keep where the object is read back
    path = _READ_BACK.get(created["object"])
    if path is None:  # an object with no GET of its own (a queued user message): a retry is told, not served twice
        return {"statusCode": answer["statusCode"], "unkept": {"object": created["object"], "id": created["id"]}}
    return {
        "statusCode": answer["statusCode"],
        "read_back": path.format(id=created["id"], thread_id=created.get("thread_id")),
    }


# Records are keyed by the module and name of the function they answer for: these are the ones it had before the
# front door was cut into stages, so a retry sent across that deploy still finds the record its request wrote.
_answer_once.__module__ = "threadrunner.api.app"


def _replayed(kept: dict[str, Any], incoming: Incoming, next: Next) -> Answer:
    """A kept answer as a retry gets it: unpacked, streamed again, or the object read back as it is now."""
    if kept.get("packed"):
        answer = {key: value for key, value in kept.items() if key != "packed"}
        return {**answer, "body": zlib.decompress(base64.b64decode(kept["body"])).decode()}
    if "unkept" in kept:
        return _refusal(
            409,
            f"The request with this Idempotency-Key succeeded ({kept['unkept']['object']} {kept['unkept']['id']}), "
            "but its answer was too large to keep for a retry.",
            "idempotency_answer_unavailable",
            param="Idempotency-Key",
        )
    if "stream" in kept:
        again: Response
        try:
            again = streams.events_in_body(incoming.scope.run_streams().again(kept["stream"]))
        except ThreadrunnerError as gone:  # the thread was deleted since
            again = errors.from_error(gone)
        return errors.as_answer(again)
    if "read_back" in kept:
        event = incoming.event
        http = {**event["requestContext"]["http"], "method": "GET", "path": kept["read_back"]}
        read = {**event, "rawPath": kept["read_back"], "body": None, "rawQueryString": ""}
        read["requestContext"] = {**event["requestContext"], "http": http}
        return next(replace(incoming, event=read))
    return kept


def _refusal(status: int, message: str, code: str, param: str | None = None) -> Answer:
    return errors.as_answer(errors.error_response(status, message, code=code, param=param))
