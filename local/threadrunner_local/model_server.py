"""The offline model server: a test double of the Responses API, on loopback.

It speaks the subset threadrunner uses (``POST /v1/responses`` in background mode,
``GET /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel``, ``/v1/embeddings``) and what threadrunner
forwards (chat completions, moderations, models, the rest of ``/v1/responses``), and decides with
:mod:`threadrunner_local.model_policy`, a deterministic policy, never a language model.
A response is ``queued``, then ``in_progress``, and finishes ``latency`` seconds after it
was created, so callers really poll (:mod:`threadrunner_local.model_store`). It streams as the Responses API does: a
create with ``stream: true`` answers its events (server-sent, each with its ``sequence_number``), and
``GET /v1/responses/{id}?stream=true&starting_after=N`` resumes them; the text arrives in
several deltas spread over the latency (:mod:`threadrunner_local.model_events`). Faults can be injected through
``/_offline/faults`` (HTTP 429, HTTP 500, a response that ends ``failed``, a stream that drops), each for a number
of requests and optionally only for requests whose text contains a marker, so tests can
target one run (:mod:`threadrunner_local.model_faults`).

Each endpoint is one function, found by its method and path in :data:`threadrunner_local.model_routes.ROUTES`;
here a request is parsed, its key checked and its errors answered, each in one place (:class:`_Handler`).
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from threadrunner.api.http_server import BodyRefused, read_body

from .http_adapter import LocalHTTPService
from .model_events import text_pieces
from .model_responses import function_call_item
from .model_routes import Endpoint, Refused, Request, Stream, StreamCut, find, not_found
from .model_store import OfflineModel

__all__ = ["OfflineModel", "OfflineModelServer", "function_call_item", "text_pieces"]
"""What the stack, the sample world and the tests take from here (each is defined in the module that holds it)."""


class _Handler(BaseHTTPRequestHandler):
    """Answers each request by its route: the request parsed and the key checked before, errors answered after."""

    protocol_version = "HTTP/1.1"
    model: OfflineModel
    """The double it serves, set on the class each server makes (:class:`OfflineModelServer`)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        try:
            endpoint, request = self._parsed()
            reply = endpoint(self.model, request)
            if isinstance(reply, dict):
                self._send(200, reply)
            else:
                self._send_stream(reply)
        except Refused as refused:
            self._error(refused.status, refused.message, refused.code)
        except BodyRefused as refused:
            self.close_connection = True  # the unread body must not be taken for the next request
            self._error(refused.status, str(refused))
        except ValueError as exc:  # a value of the request the double cannot read
            self._error(400, f"The request is not valid: {exc}")
        except Exception as exc:  # a double answers whatever it is sent; a dropped connection explains nothing
            self._error(500, f"The offline model failed on this request: {type(exc).__name__}: {exc}")

    def _parsed(self) -> tuple[Endpoint, Request]:
        """The request's endpoint and the request as it reads it; refused when no route serves it or the key is
        wrong."""
        method, path = self.command, self.path.split("?")[0]
        body = self._body() if method == "POST" else {}
        found = find(method, path)
        if found is None or found[0].keyed:
            self._check_key()
        if found is None:
            raise Refused(404, not_found(method, path))
        route, params = found
        return route.endpoint, Request(method, path, params, dict(parse_qsl(urlsplit(self.path).query)), body)

    def _body(self) -> Any:
        try:
            return json.loads(read_body(self) or b"{}")
        except ValueError as exc:
            raise Refused(400, f"The body is not JSON: {exc}") from exc

    def _check_key(self) -> None:
        presented = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.model.api_key and presented != self.model.api_key:
            # Worded as OpenAI words it, with the start and end of the key: what must never reach a tenant.
            raise Refused(401, f"Incorrect API key provided: {presented[:3]}***{presented[-4:]}.", "invalid_api_key")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        # retry-after-ms keeps the SDK's retries of injected faults short.
        headers = {"retry-after-ms": "100"} if status in (429, 500) else None
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        self._send(status, {"error": error}, headers)

    def _send_stream(self, events: Stream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for text in events:
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except StreamCut:
            self.close_connection = True  # no last chunk: the reader sees the connection drop
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the reader left: the response goes on without it


class OfflineModelServer(LocalHTTPService):
    """The double, served on ``127.0.0.1`` in a background thread."""

    def __init__(
        self, latency: float = 1.0, api_key: str = "", port: int = 0, kept_in: Path | None = None, store: bool = True
    ) -> None:
        self.model = OfflineModel(latency=latency, api_key=api_key, kept_in=kept_in, store=store)
        handler = type("OfflineModelHandler", (_Handler,), {"model": self.model})
        super().__init__(port, handler, "offline-model")
