"""HTTP on 127.0.0.1 turned into API Gateway HTTP API (payload v2) events for ApiFunction.

It plays the part ``sam local start-api`` plays: one request, one event, one invocation of
the real handler, its answer written back.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from .dispatch import Dispatcher, FunctionError
from .template import ACCOUNT

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The largest body the local servers read: API Gateway's payload limit."""


class BodyRefused(Exception):
    """A request whose body the local servers do not read: a bad or too large ``Content-Length``."""

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
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str = "127.0.0.1"
) -> dict:
    """The API Gateway HTTP API v2 event of one request (route ``ANY /v1/{proxy+}``).

    Repeated headers are joined with commas, as API Gateway joins them.
    """
    parts = urlsplit(target)
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
        "routeKey": "ANY /v1/{proxy+}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT,
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
            "requestId": str(uuid.uuid4()),
            "routeKey": "ANY /v1/{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": {"proxy": parts.path.removeprefix("/v1/")},
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = text
    return event


def _handler(dispatcher: Dispatcher, function: str) -> type[BaseHTTPRequestHandler]:
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
            if not self.path.startswith("/v1/"):
                return self._error(404, f"Invalid URL ({self.command} {self.path})", "unknown_url")
            event = http_event(self.command, self.path, self.headers.items(), body, self.client_address[0])
            try:
                answer = dispatcher.invoke(function, event)
            except FunctionError as error:
                # What API Gateway answers when the integration fails.
                print(f"ApiFunction failed: {error.payload['errorType']}: {error.payload['errorMessage']}")
                return self._write(500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
            payload = answer.get("body") or ""
            data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
            return self._write(answer.get("statusCode", 200), answer.get("headers") or {}, data)

        def _error(self, status: int, message: str, code: str) -> None:
            error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
            self._write(status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode())

        def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    return Handler


class LocalHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server on loopback with a listen backlog for many clients at once."""

    daemon_threads = True
    request_queue_size = 256  # the default of 5 resets connections under load

    def finish_request(self, request: Any, client_address: Any) -> None:
        # A client that announces more than it sends does not hold a thread forever.
        request.settimeout(60)
        super().finish_request(request, client_address)


class LocalHTTPService:
    """An HTTP handler served on ``127.0.0.1:port`` (0: any free port) in a background thread."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = LocalHTTPServer(("127.0.0.1", port), handler)
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
    """Serves ApiFunction on ``127.0.0.1:port`` in a background thread."""

    def __init__(self, dispatcher: Dispatcher, port: int, function: str = "ApiFunction") -> None:
        super().__init__(port, _handler(dispatcher, function), "http-adapter")
