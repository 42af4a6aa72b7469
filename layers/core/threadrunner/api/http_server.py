"""The API as an HTTP server: each request made an API Gateway HTTP API (payload v2) event, each answer written back,
a streamed run's events written as they come (chunked, flushed per event).

Two places serve with it: the local stack (``make run``, the tests), and the StreamingApiFunction on AWS, where
the Lambda Web Adapter hands each invocation of its function URL to this server as an HTTP request
(``functions/api/serve.py``). So the path that streams is the same code on both.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..observability import logger
from . import console, errors
from .errors import SERVER_ERROR

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The largest body read: API Gateway's payload limit."""

Answer = Callable[[dict[str, Any], BaseHTTPRequestHandler], dict[str, Any]]
"""Answers an event (the request's handler at hand for what the event does not carry): the handler's answer."""


_LINE_ENDS = re.compile(r"[\r\n\x00]")
"""What ends a header line, or the answer, wherever it stands in a header."""


def _unwritable_header(headers: dict[str, str]) -> str | None:
    """The name of the first header that cannot be written as it is, if any: one holding CR, LF or NUL (written,
    they would add headers or end the answer early, leaving a forged one on a kept-alive connection), or a
    character outside Latin-1 (a header's charset)."""
    for name, value in headers.items():
        text = f"{name}:{value}"
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return name
        if _LINE_ENDS.search(text):
            return name
    return None


class BodyRefused(Exception):
    """A request whose body is not read: a bad or too large ``Content-Length``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body(handler: BaseHTTPRequestHandler, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, as its ``Content-Length`` announces it, if that is a sane number."""
    announced = handler.headers.get("Content-Length") or "0"
    if not announced.isdigit():  # negative or not a number: reading would fail or hang
        raise BodyRefused(400, f"Invalid Content-Length: {announced[:20]!r}.")
    if int(announced) > limit:  # read before refusing, a huge value would exhaust the memory
        raise BodyRefused(413, f"The request body of {announced} bytes is larger than {limit} bytes.")
    return handler.rfile.read(int(announced))


def http_event(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API v2 event of one request (route ``ANY /v1/{proxy+}``, or the console's).

    Repeated headers are joined with commas, as API Gateway joins them.
    """
    parts = urlsplit(target)
    if console.serves(parts.path):
        route, proxy = ("GET /console", None) if parts.path == console.ROOT else ("GET /console/{proxy+}", "/console/")
    else:
        route, proxy = "ANY /v1/{proxy+}", "/v1/"
    lowered: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if proxy is not None:
        event["pathParameters"] = {"proxy": parts.path.removeprefix(proxy)}
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = text
    return event


def handler_class(
    answer: Answer, request_id: Callable[[BaseHTTPRequestHandler], str | None] = lambda _: None
) -> type[BaseHTTPRequestHandler]:
    """A request handler that serves ``answer``; ``request_id`` names a request's id where the caller knows it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            try:
                body = read_body(self)
            except BodyRefused as refused:
                self.close_connection = True  # the unread body must not be taken for the next request
                return self._error(refused.status, str(refused), "invalid_request")
            # /v1 without its slash reaches the API too: its 404 says what to change in the client's base_url.
            if not (self.path.startswith("/v1") or console.serves(urlsplit(self.path).path)):
                return self._error(404, f"Invalid URL ({self.command} {self.path})", "unknown_url")
            event = http_event(
                self.command, self.path, self.headers.items(), body, self.client_address[0], request_id(self)
            )
            try:
                answered = answer(event, self)
            except Exception as exc:  # what API Gateway answers when the integration fails
                print(f"ApiFunction failed: {type(exc).__name__}: {exc}")
                return self._write(500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
            payload = answered.get("body") or ""
            if isinstance(payload, Iterator):
                return self._stream(answered.get("statusCode", 200), answered.get("headers") or {}, payload)
            data = base64.b64decode(payload) if answered.get("isBase64Encoded") else payload.encode()
            return self._write(answered.get("statusCode", 200), answered.get("headers") or {}, data)

        def _error(self, status: int, message: str, code: str | None, kind: str = "invalid_request_error") -> None:
            error = {"message": message, "type": kind, "param": None, "code": code}
            self._write(status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode())

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """What http.server answers itself (a method with no handler, a request line or headers it cannot
            read), in OpenAI's JSON shape rather than its HTML page; the connection closes, its rest unread."""
            self.close_connection = True
            if code == HTTPStatus.NOT_IMPLEMENTED and self.command and not hasattr(self, f"do_{self.command}"):
                refused = errors.method_not_allowed(self.command)
                allowed = {name: str(value) for name, value in refused.headers.items()}
                headers = {"Content-Type": "application/json", "Connection": "close", **allowed}
                status, data = refused.status_code, str(refused.body).encode()
            else:
                status, headers = code, {"Content-Type": "application/json", "Connection": "close"}
                reason = message or self.responses.get(code, ("Bad request",))[0]
                error = {"message": reason, "type": "invalid_request_error", "param": None, "code": None}
                data = json.dumps({"error": error}).encode()
            if not self._head(status, headers):
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD request is answered without a body
                self.wfile.write(data)

        def _head(self, status: int, headers: dict[str, str]) -> bool:
            """Start the answer; False, and a 500 written instead, when a header cannot be written as it is."""
            refused = _unwritable_header(headers)
            if refused is not None:
                # The value is not logged: it may be a tenant's data (a file's name).
                logger.error("answer with an unwritable header refused", extra={"header": refused, "status": status})
                self._error(500, SERVER_ERROR, None, kind="server_error")
                return False
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(name, value)
            return True

        def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
            if not self._head(status, headers):
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, status: int, headers: dict[str, str], chunks: Iterator[str]) -> None:
            try:
                if not self._head(status, headers):
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in chunks:
                    data = chunk.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client left: the run goes on without its stream
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    return Handler


class HTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server with a listen backlog for many clients at once."""

    daemon_threads = True
    request_queue_size = 256  # the default of 5 resets connections under load

    def finish_request(self, request: Any, client_address: Any) -> None:
        # A client that announces more than it sends does not hold a thread forever.
        request.settimeout(60)
        # Headers and body go in separate writes: without this, Nagle holds the second until the first is
        # acknowledged, which a client delays (up to 40 ms on Linux) on every answer of a kept-alive connection.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves mid-request is routine; anything else goes to the structured log, not stderr.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        logger.exception("request handling failed")
