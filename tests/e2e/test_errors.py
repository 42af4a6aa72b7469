"""What the HTTP server and the entry point add to the API's errors: the base URL's missing slash, the request id of
the log lines, methods the API does not serve, requests the server cannot read. The API's own error contract is
proven in-process (tests/functional/test_errors.py)."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest

from threadrunner_local.stack import LocalStack


def _raw(stack: LocalStack, method: str, path: str, body: bytes | None, key: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "OpenAI-Beta": "assistants=v2"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(stack.api_url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_base_url_without_its_trailing_slash_in_the_module_level_style_gets_a_404_that_says_what_to_change(
    stack, monkeypatch
):
    # openai.base_url = ".../v1" (or openai -b .../v1): the module-level client keeps the URL as given, so the SDK
    # asks for /v1assistants.
    monkeypatch.setattr(openai, "api_key", stack.config.api_key)
    monkeypatch.setattr(openai, "base_url", stack.api_url.removesuffix("/"))
    monkeypatch.setattr(openai, "max_retries", 0)

    with pytest.raises(openai.NotFoundError) as caught:
        openai.beta.assistants.list()
    with pytest.raises(openai.NotFoundError) as other:
        openai.beta.threads.runs.retrieve("run_x", thread_id="thread_x")

    assert caught.value.code == "unknown_url" and caught.value.body["message"].startswith(
        "Invalid URL (GET /v1assistants): the slash after /v1 is missing."
    )
    assert 'base_url must end in "/v1/"' in caught.value.body["message"]
    assert "/v1/" in other.value.body["message"] and other.value.body["message"].startswith(
        "Invalid URL (GET /v1threads/thread_x/runs/run_x): the slash after /v1 is missing."
    )
    status, answer = _raw(stack, "GET", "nothing-here", None, stack.config.api_key)  # glued to no route: no hint
    assert (status, answer["error"]["message"]) == (404, "Invalid URL (GET /v1nothing-here)")


@pytest.fixture
def api_log_lines():
    """The JSON log lines the API writes while the test runs, at INFO."""
    import logging

    from threadrunner.observability import logger

    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    collector = Collect()
    collector.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(collector)
    logger.setLevel("INFO")
    yield lines
    logger.removeHandler(collector)
    logger.setLevel(level)


def test_every_answer_carries_the_request_id_of_its_log_lines_and_its_processing_time(stack, client, api_log_lines):
    created = client.beta.assistants.with_raw_response.create(model="gpt-4.1-mini")
    with pytest.raises(openai.NotFoundError) as missing:
        client.beta.assistants.retrieve("asst_missing")
    with pytest.raises(openai.AuthenticationError) as refused:
        openai.OpenAI(base_url=stack.api_url, api_key="sk-wrong", max_retries=0).beta.assistants.list()

    ids = [created.headers["x-request-id"], missing.value.request_id, refused.value.request_id]
    assert created.parse()._request_id == ids[0]
    assert all(ids) and len(set(ids)) == 3
    assert int(created.headers["openai-processing-ms"]) >= 0
    logged = {line.get("correlation_id") for line in api_log_lines}
    assert set(ids) <= logged  # errors and refusals are logged under the same id


def _send(stack: LocalStack, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    host, port = stack.api_url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, path, headers=headers)
    return connection.getresponse()


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "QUERY", "PUT", "PATCH", "BREW"])
def test_a_method_the_api_does_not_serve_answers_405_in_openais_shape_with_the_allowed_ones(stack, method):
    answer = _send(stack, method, "/v1/assistants", {"Authorization": f"Bearer {stack.config.api_key}"})

    assert (answer.status, answer.getheader("Allow"), answer.getheader("Content-Type")) == (
        405,
        "GET, POST, DELETE",
        "application/json",
    )
    assert json.loads(answer.read())["error"] == {
        "message": f"The method {method} is not allowed: the API answers GET, POST, DELETE.",
        "type": "invalid_request_error",
        "param": None,
        "code": "method_not_allowed",
    }


def test_a_browsers_cors_preflight_gets_405_without_cors_headers_so_other_origins_are_not_served(stack):
    # No key: a preflight never carries one. The console is served from the API's own origin and needs none.
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}

    answer = _send(stack, "OPTIONS", "/v1/threads/thread_x/runs?stream=true", preflight)

    assert answer.status == 405 and answer.getheader("Access-Control-Allow-Origin") is None
    assert json.loads(answer.read())["error"]["code"] == "method_not_allowed"


def test_head_answers_405_without_a_body_and_a_request_the_server_cannot_read_answers_json(stack):
    head = _send(stack, "HEAD", "/v1/assistants", {})
    host, port = stack.api_url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /v1/assistants HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n")
        unreadable = raw.makefile("rb").read()

    assert (head.status, head.getheader("Allow"), head.read()) == (405, "GET, POST, DELETE", b"")
    answer_head, _, body = unreadable.partition(b"\r\n\r\n")
    assert answer_head.startswith(b"HTTP/1.1 431") and b"Content-Type: application/json" in answer_head
    assert json.loads(body)["error"]["message"] == "Too many headers"
