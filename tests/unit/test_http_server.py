"""The API's HTTP server writes no header value that would end its header or its answer (docs/operations.md)."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from threadrunner.api.http_server import HTTPServer, handler_class


@pytest.fixture
def serve() -> Iterator[Any]:
    """Serves the answers a test gives, by path: ``serve({"/v1/x": answer, ...})`` is the server's port."""
    servers: list[HTTPServer] = []

    def start(answers: dict[str, dict[str, Any]]) -> int:
        server = HTTPServer(("127.0.0.1", 0), handler_class(lambda event, _: answers[event["rawPath"]]))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _answer(headers: dict[str, str], body: str = "the bytes") -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain", **headers}, "body": body}


FORGED = "x\r\nSet-Cookie: session=stolen\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
"""A value that, written raw, sets a cookie, ends the answer early and leaves a forged second one."""


@pytest.mark.parametrize(
    "value",
    [FORGED, "line\nbreak", "carriage\rreturn", "nul\x00byte", "文件.txt"],
    ids=["crlf", "lf", "cr", "nul", "not-latin-1"],
)
def test_given_an_answer_with_an_unwritable_header_value_when_served_then_a_500_is_written_instead(
    serve, caplog, value
):
    port = serve({"/v1/bad": _answer({"Content-Disposition": value}), "/v1/good": _answer({"X-Fine": "yes"})})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    connection.request("GET", "/v1/bad")
    refused = connection.getresponse()
    error = json.loads(refused.read())["error"]
    connection.request("GET", "/v1/good")  # the same kept-alive connection
    following = connection.getresponse()

    assert refused.status == 500 and refused.getheader("Content-Disposition") is None
    assert refused.getheader("Set-Cookie") is None
    assert error == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert (following.status, following.read(), following.getheader("X-Fine")) == (200, b"the bytes", "yes")
    (logged,) = [r for r in caplog.records if r.getMessage() == "answer with an unwritable header refused"]
    assert logged.header == "Content-Disposition" and value not in caplog.text  # the name, never the value


def test_given_a_streamed_answer_with_an_unwritable_header_value_when_served_then_no_event_is_written(serve):
    class Events:
        """A run's events, endless: none of them may be written."""

        def __init__(self) -> None:
            self.closed = threading.Event()

        def __iter__(self) -> Events:
            return self

        def __next__(self) -> str:
            return "event: thread.run.created\ndata: {}\n\n"

        def close(self) -> None:
            self.closed.set()

    events = Events()
    port = serve({"/v1/stream": {"statusCode": 200, "headers": {"X-Bad": "a\r\nSet-Cookie: x=y"}, "body": events}})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    connection.request("GET", "/v1/stream")
    refused = connection.getresponse()

    assert refused.status == 500 and refused.getheader("Set-Cookie") is None
    assert json.loads(refused.read())["error"]["type"] == "server_error"
    assert events.closed.wait(5)  # the stream's view of its run is let go


def test_given_a_client_that_resets_its_connection_mid_request_when_served_then_nothing_is_printed_or_logged(
    capfd, caplog
):
    server = HTTPServer(("127.0.0.1", 0), handler_class(lambda event, _: _answer({})))
    try:
        leaving = socket.create_connection(server.server_address[:2])
        leaving.sendall(b"GET /v1/go")  # half a request line, then a reset instead of the rest
        leaving.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        leaving.close()
        request, address = server.get_request()
        server.process_request_thread(request, address)  # in this thread, so its end is this line's end
    finally:
        server.server_close()

    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_given_a_fault_other_than_a_client_leaving_when_handled_then_it_is_logged_with_its_traceback(caplog):
    server = HTTPServer(("127.0.0.1", 0), handler_class(lambda event, _: _answer({})))
    try:
        try:
            raise ValueError("a fault in the server")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()

    (logged,) = [r for r in caplog.records if r.getMessage() == "request handling failed"]
    assert logged.exc_info[0] is ValueError
