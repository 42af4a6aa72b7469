"""The API resolver: routers, error answers, and the one entry point :func:`handle`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..config import Settings
from ..domain.api_keys import key_hash, redact
from ..errors import ThreadrunnerError
from ..observability import logger
from ..ports import ApiKeys, RunLoopControl, Store
from . import assistants, errors, runs, threads, users

app = APIGatewayHttpResolver(enable_validation=True)
for module in (assistants, threads, runs, users):
    app.include_router(module.router)


@app.exception_handler(ThreadrunnerError)
def _threadrunner_error(exc: ThreadrunnerError) -> Response:
    return errors.from_error(exc)


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    try:
        body = app.current_event.json_body
    except ValueError:
        body = None
    return errors.from_validation(exc, body)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return errors.error_response(
        500, "The server had an error while processing your request. Sorry about that!", kind="server_error"
    )


@app.not_found
def _not_found(_exc: Exception) -> Response:
    event = app.current_event
    return errors.error_response(404, f"Invalid URL ({event.http_method} {event.path})", code="unknown_url")


@dataclass
class ApiDeps:
    """The adapters the API runs on; the handler builds them once per container."""

    settings: Settings
    store_for: Callable[[str], Store]
    """The store of one project."""
    loop: RunLoopControl
    keys: ApiKeys
    key_cache_seconds: float = 60.0
    _known: dict[str, tuple[str | None, float]] = field(default_factory=dict)

    def project_for(self, api_key: str) -> str | None:
        """The project of a key; answers are cached briefly, so a revoked key stops working within a minute."""
        digest = key_hash(api_key)
        project, checked_at = self._known.get(digest, (None, float("-inf")))
        if time.monotonic() - checked_at > self.key_cache_seconds:
            project = self.keys.project_for(digest)
            self._known[digest] = (project, time.monotonic())
        return project


def handle(event: dict[str, Any], lambda_context: LambdaContext, deps: ApiDeps) -> dict[str, Any]:
    """Answer one API Gateway HTTP API event. The key is checked before anything parses the request."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    scheme, _, api_key = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        return _reject(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    project = deps.project_for(api_key.strip())
    if project is None:
        return _reject(f"Incorrect API key provided: {redact(api_key.strip())}.", code="invalid_api_key")
    logger.append_keys(project=project)
    app.append_context(store=deps.store_for(project), loop=deps.loop, settings=deps.settings)
    return app.resolve(event, lambda_context)


def _reject(message: str, code: str | None = None) -> dict[str, Any]:
    body = errors.error_response(401, message, code=code).body
    return {"statusCode": 401, "headers": {"Content-Type": "application/json"}, "body": body, "isBase64Encoded": False}
