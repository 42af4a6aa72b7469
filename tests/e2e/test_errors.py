"""Bad input answers an OpenAI-style 4xx and writes nothing; a bad key answers 401."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [
        (b"{not json", "We could not parse the JSON body of your request.", None, None),
        (b"{}", "Missing required parameter: 'model'.", "model", "missing_required_parameter"),
        (
            b'{"model": "m", "name": 7}',
            "Invalid type for 'name': expected a string, but got an integer instead.",
            "name",
            "invalid_type",
        ),
        (
            b'{"model": "m", "colour": "red"}',
            "Unrecognized request argument supplied: colour",
            "colour",
            "unknown_parameter",
        ),
        (b'{"model": "m", "temperature": 3}', "Invalid value for 'temperature'", "temperature", "invalid_value"),
        (
            b'{"model": "m", "tools": [{"type": "function", "function": {}}]}',
            "Missing required parameter: 'tools[0].function.name'.",
            "tools[0].function.name",
            "missing_required_parameter",
        ),
        (
            b'{"model": "m", "response_format": [null, {}]}',
            "Invalid type for 'response_format': expected a string or an object, but got an array instead.",
            "response_format",
            "invalid_type",
        ),
        (
            b'{"model": "m", "response_format": {"type": "json_schema"}}',
            "Missing required parameter: 'response_format.json_schema'.",
            "response_format.json_schema",
            "missing_required_parameter",
        ),
        (
            b'{"model": "m", "tools": [{"type": "file_search", "file_search": {"": true}}]}',
            "Unrecognized request argument supplied: tools[0].file_search.",
            "tools[0].file_search.",
            "unknown_parameter",
        ),
        (
            b'{"model": "m", "tool_resources": {"file_search": {"vector_stores": [{"file_ids": ["file-nope"]}]}}}',
            "No file found with id 'file-nope'.",
            "file_ids[0]",
            None,
        ),
    ],
)
def test_bad_assistant_bodies_answer_400_and_write_nothing(stack, project_client, body, message, param, code):
    client, project = project_client

    status, answer = _raw(stack, "POST", "/assistants", body, client.api_key)

    assert status == 400
    assert answer["error"]["message"].startswith(message)
    assert (answer["error"]["type"], answer["error"]["param"], answer["error"]["code"]) == (
        "invalid_request_error",
        param,
        code,
    )
    assert stack.table_items(f"P#{project}#") == []


def test_unknown_ids_answer_404_through_the_sdk_and_write_nothing(stack, project_client):
    client, project = project_client
    calls = [
        (lambda: client.beta.assistants.retrieve("asst_nope"), "No assistant found with id 'asst_nope'."),
        (lambda: client.beta.threads.retrieve("thread_nope"), "No thread found with id 'thread_nope'."),
        (
            lambda: client.beta.threads.messages.create("thread_nope", role="user", content="hi"),
            "No thread found with id 'thread_nope'.",
        ),
        (lambda: client.beta.threads.messages.list("thread_nope"), "No thread found with id 'thread_nope'."),
        (
            lambda: client.beta.threads.runs.create(thread_id="thread_nope", assistant_id="asst_nope"),
            "No assistant found with id 'asst_nope'.",
        ),
        (
            lambda: client.beta.threads.runs.retrieve("run_nope", thread_id="thread_nope"),
            "No run found with id 'run_nope'.",
        ),
        (
            lambda: client.beta.threads.runs.steps.list("run_nope", thread_id="thread_nope"),
            "No run found with id 'run_nope'.",
        ),
    ]
    for call, message in calls:
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert caught.value.status_code == 404
        assert caught.value.body["message"] == message
        assert caught.value.body["type"] == "invalid_request_error"
    assert stack.table_items(f"P#{project}#") == []


def test_a_run_on_a_real_thread_with_an_unknown_assistant_creates_nothing(stack, project_client):
    client, project = project_client
    thread = client.beta.threads.create()

    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_nope")

    assert [item["SK"]["S"] for item in stack.table_items(f"P#{project}#")] == ["THREAD"]


def test_a_missing_or_wrong_key_answers_401_before_the_body_is_read(stack):
    status, answer = _raw(stack, "POST", "/assistants", b"{not json", None)
    assert status == 401 and "didn't provide an API key" in answer["error"]["message"]

    status, answer = _raw(stack, "POST", "/assistants", b"{not json", "sk-wrong-key-0000")
    assert status == 401
    assert answer["error"]["code"] == "invalid_api_key"
    assert "sk-wro***0000" in answer["error"]["message"] and "sk-wrong-key-0000" not in answer["error"]["message"]


def test_the_sdk_raises_authentication_error_for_a_wrong_key(stack):
    wrong = openai.OpenAI(base_url=stack.api_url, api_key="sk-wrong-key-0000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.beta.assistants.list()
    assert caught.value.code == "invalid_api_key"


def test_an_unknown_path_answers_404(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.get("/no/such/path", cast_to=dict)
    assert caught.value.body["message"] == "Invalid URL (GET /v1/no/such/path)"


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
