"""The resolver: the routers of every resource, the answers to what they raise, and the last stage of the front
door, :func:`resolve`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from ..errors import ThreadrunnerError
from ..observability import logger
from . import (
    assistants,
    conversations,
    errors,
    files,
    forwarding,
    prompts,
    runs,
    server_tools,
    streams,
    threads,
    usage,
    users,
    vector_stores,
)
from .dependencies import SCOPE
from .resolver import ConcurrentResolver
from .scope import Answer, Incoming

app = ConcurrentResolver(enable_validation=True)
for module in (
    assistants,
    threads,
    runs,
    files,
    vector_stores,
    users,
    usage,
    server_tools,
    conversations,
    prompts,
    forwarding,
):
    app.include_router(module.router)


def resolve(incoming: Incoming) -> Answer:
    """The last stage: the route of the request answers it, on the request's scope (api/dependencies.py)."""
    app.append_context(**{SCOPE: incoming.scope})
    return app.resolve(incoming.event, incoming.lambda_context)


def _stream_answers(resolver: ConcurrentResolver, next_middleware: NextMiddleware) -> Response:
    # Outside the validation of answers, which would read a stream's events to their end (api/streams.py).
    return streams.events_in_body(next_middleware(resolver))


app.use(middlewares=[_stream_answers])


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
    return errors.error_response(500, errors.SERVER_ERROR, kind="server_error")


@app.not_found
def _not_found(_exc: Exception) -> Response:
    event = app.current_event
    # A base_url without its trailing slash, as the SDK's module-level client keeps it, glues /v1 to the route.
    glued = event.path.startswith("/v1") and not event.path.startswith("/v1/") and app.serves(f"/v1/{event.path[3:]}")
    return errors.unknown_url(event.http_method, event.path, glued)
