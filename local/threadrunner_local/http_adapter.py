"""HTTP on 127.0.0.1 for ApiFunction's code, as the deployed streaming endpoint serves it.

It plays the part ``sam local start-api`` plays: one request, one API Gateway HTTP API (payload v2)
event, one invocation of the real handler, its answer written back; a streamed run's events are
written as they come, as the StreamingApiFunction writes them (threadrunner.api.http_server, the
same server).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

from threadrunner.api.http_server import HTTPServer, handler_class

from .dispatch import Dispatcher, FunctionError


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
    """Serves ApiFunction's streaming entry point (``stream_handler``) on ``127.0.0.1:port`` in a background thread."""

    def __init__(self, dispatcher: Dispatcher, port: int, function: str = "ApiFunction") -> None:
        def answer(event: dict[str, Any], _request: BaseHTTPRequestHandler) -> dict[str, Any]:
            try:
                answered: dict[str, Any] = dispatcher.invoke(function, event, attribute="stream_handler")
            except FunctionError as error:
                raise RuntimeError(f"{error.payload['errorType']}: {error.payload['errorMessage']}") from error
            return answered

        super().__init__(port, handler_class(answer), "http-adapter")
