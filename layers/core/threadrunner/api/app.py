"""The API's front door: every request goes through these stages, in this order, then to its route
(docs/architecture.md, "The API's front door").

Each stage is ``stage(incoming, next)`` in a module of its own: it answers the request itself (an open path, a
refusal) or passes it on to the rest with ``next``, and may change the answer that comes back (a stream's place
given back when it ends).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..errors import StoreUnavailable
from ..observability import logger
from . import errors, gate, idempotency, routes, stream_limits, users
from .scope import Answer, ApiDeps, Incoming, Stage

__all__ = ["STAGES", "ApiDeps", "handle"]

STAGES: tuple[Stage, ...] = (
    gate.admit,  # open paths (405, /v1/openapi.json, /console, /v1/webhooks); the key (401), rate, body (413, 415, 400)
    stream_limits.open_streams,  # a streamed answer holds one of the project's open-stream places (429)
    idempotency.answer_once,  # a POST with an Idempotency-Key is answered once, a retry gets that answer (409, 400)
)
"""What a request goes through before its route answers it (:func:`routes.resolve`: the routers, each route's
dependencies declared in api/dependencies.py; a route that streams returns a ``streams.StreamAnswer``)."""


def handle(event: dict[str, Any], lambda_context: LambdaContext, deps: ApiDeps, stream_seconds: float) -> Answer:
    """Answer one API Gateway HTTP API event, with the headers the hosted API put on every answer.

    ``x-request-id`` is API Gateway's request id, the ``correlation_id`` of the request's log lines;
    ``openai-processing-ms`` is the time the function spent on it. A streamed run's answer has for body an
    iterator of its events' text, lasting at most ``stream_seconds`` (the entry point writes or joins it).
    """
    started = time.perf_counter()
    try:
        answer = _through(Incoming(event, lambda_context, deps, stream_seconds), STAGES)
    except (StoreUnavailable, IdempotencyPersistenceLayerError) as unavailable:
        # The table failed outside the resolver (key check, limits, idempotency records): else API Gateway would
        # answer its own bare 500, without a request id.
        logger.warning("table unavailable", extra={"error": type(unavailable).__name__})
        answer = errors.as_answer(errors.from_error(StoreUnavailable("The service is unavailable; retry shortly.")))
    headers = answer.get("headers") or {}
    headers["x-request-id"] = event.get("requestContext", {}).get("requestId") or lambda_context.aws_request_id
    headers["openai-processing-ms"] = str(round((time.perf_counter() - started) * 1000))
    # Every answer leaves a line, refusals too (without the key): what a support ticket's request id finds.
    http = event.get("requestContext", {}).get("http", {})
    path = users.without_user_ids(http.get("path", ""))
    logger.info("request", extra={"method": http.get("method"), "path": path, "status": answer["statusCode"]})
    return {**answer, "headers": headers}


def _through(incoming: Incoming, stages: tuple[Stage, ...]) -> Answer:
    """``incoming`` through ``stages``, then to its route."""
    if not stages:
        return routes.resolve(incoming)
    return stages[0](incoming, lambda passed: _through(passed, stages[1:]))
