"""HTTP on 127.0.0.1 for ApiFunction's code: as API Gateway routes it, and as the streaming function's URL serves it.

It plays the part ``sam local start-api`` plays: one request, one API Gateway HTTP API (payload v2) event, one
invocation of the real handler, its answer written back; a streamed run's events are written as they come, as
the StreamingApiFunction writes them (threadrunner.api.http_server, the same server).

With ``routes`` (the template's HTTP API, :mod:`.routes`), a request reaches a function only through a route the
template declares, and the event carries that route's key and path parameters; any other request is answered
by API Gateway's own ``404 {"message":"Not Found"}``. Without, every path goes to the function, as a function
URL hands every request to its function.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import urlsplit

from threadrunner.api.http_server import BodyRefused, HTTPServer, handler_class, read_body

from .dispatch import Dispatcher, FunctionError
from .enforcement import attributed
from .routes import NOT_FOUND, Route, match


class LocalHTTPService:
    """An HTTP handler served on ``127.0.0.1:port`` (0: any free port) in a background thread."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = HTTPServer(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as ``base_url`` of an ``openai`` client takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HttpAdapter(LocalHTTPService):
    """Serves a function's streaming entry point (``stream_handler``) on ``127.0.0.1:port`` in a background thread:
    through ``routes`` as API Gateway does, or every request as a function URL does (``function``)."""

    def __init__(
        self, dispatcher: Dispatcher, port: int, routes: list[Route] | None = None, function: str = "ApiFunction"
    ) -> None:
        def answer(event: dict[str, Any], _request: BaseHTTPRequestHandler) -> dict[str, Any]:
            if dispatcher.meter is not None:
                dispatcher.meter.requested()
            target = function
            if routes is not None:
                found = match(routes, event["requestContext"]["http"]["method"], event["rawPath"])
                assert found is not None  # the handler below answered the others
                route, parameters = found
                target = route.function
                event["routeKey"] = event["requestContext"]["routeKey"] = route.key
                event.pop("pathParameters", None)
                if parameters:
                    event["pathParameters"] = parameters
            try:
                answered: dict[str, Any] = dispatcher.invoke(target, event, attribute="stream_handler")
            except FunctionError as error:
                raise RuntimeError(f"{error.payload['errorType']}: {error.payload['errorMessage']}") from error
            if isinstance(answered.get("body"), Iterator):  # read after the handler returned, as its calls
                answered["body"] = attributed(answered["body"], dispatcher.spec(target).logical_id)
            return answered

        served = handler_class(answer)
        if routes is not None:
            served = _routed(served, routes)
        super().__init__(port, served, "http-adapter" if routes is not None else "function-url")


def _routed(served: type[BaseHTTPRequestHandler], routes: list[Route]) -> type[BaseHTTPRequestHandler]:
    """``served`` behind API Gateway's route selection: a request no route matches never reaches it."""

    class Routed(served):  # type: ignore[valid-type,misc]
        def _serve(self) -> None:
            if match(routes, self.command, urlsplit(self.path).path) is not None:
                return super()._serve()
            try:
                read_body(self)
            except (BodyRefused, OSError):
                self.close_connection = True  # the unread body must not be taken for the next request
            self._write(404, {"Content-Type": "application/json"}, NOT_FOUND)
            return None

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    return Routed
