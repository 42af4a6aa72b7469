"""Bad input answers an OpenAI-style 4xx and writes nothing; a bad key answers 401: the API's contract, in-process.

Moved from tests/e2e/test_errors.py, which keeps what the HTTP server and the entry point prove (405s, unreadable
requests, the request id in the log lines)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.functional.conftest import Api


def _raw(api: Api, method: str, path: str, body: bytes | None, key: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "OpenAI-Beta": "assistants=v2"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return api.raw(method, path, body or b"", headers)


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
def test_bad_assistant_bodies_answer_400_and_write_nothing(api, project_client, body, message, param, code):
    client, project = project_client

    status, answer = _raw(api, "POST", "/assistants", body, client.api_key)

    assert status == 400
    assert answer["error"]["message"].startswith(message)
    assert (answer["error"]["type"], answer["error"]["param"], answer["error"]["code"]) == (
        "invalid_request_error",
        param,
        code,
    )
    assert api.written(project) == {}


TOOLS = [{"type": "file_search"}]


@pytest.mark.parametrize(
    ("message", "error", "param", "code"),
    [
        (
            {"attachments": [{}]},
            "Missing required parameter: 'attachments[0].file_id'.",
            "attachments[0].file_id",
            "missing_required_parameter",
        ),
        (
            {"attachments": [{"file_id": "file-x"}]},
            "Missing required parameter: 'attachments[0].tools'.",
            "attachments[0].tools",
            "missing_required_parameter",
        ),
        (
            {"attachments": [{"file_id": "", "tools": TOOLS}]},
            "Invalid value for 'attachments[0].file_id'",
            "attachments[0].file_id",
            "invalid_value",
        ),
        (
            {"attachments": [{"file_id": None, "tools": TOOLS}]},
            "Invalid type for 'attachments[0].file_id': expected a string, but got null instead.",
            "attachments[0].file_id",
            "invalid_type",
        ),
        (
            {"attachments": [{"file_id": "file-x", "tools": None}]},
            "Invalid type for 'attachments[0].tools': expected an array, but got null instead.",
            "attachments[0].tools",
            "invalid_type",
        ),
        (
            {"attachments": [{"file_id": "file-nope", "tools": [{"type": "code_interpreter"}]}]},
            "No file found with id 'file-nope'.",
            "attachments[0].file_id",
            None,
        ),
        (
            {"content": [{"type": "image_file", "image_file": {"file_id": "file-nope"}}]},
            "No file found with id 'file-nope'.",
            "content[0].image_file.file_id",
            None,
        ),
        (
            {"content": [{"type": "image_url", "image_url": {"url": ""}}]},
            "Invalid value for 'content[0].image_url.url': expected the URL of an image",
            "content[0].image_url.url",
            "invalid_value",
        ),
        (
            {"content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "not a url"}}]},
            "Invalid value for 'content[1].image_url.url': expected the URL of an image",
            "content[1].image_url.url",
            "invalid_value",
        ),
        (
            {"content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]},
            "Invalid value for 'content[0].image_url.url'",
            "content[0].image_url.url",
            "invalid_value",
        ),
    ],
)
def test_a_message_whose_attachments_or_images_are_not_files_and_urls_answers_400_and_writes_nothing(
    api, project_client, message, error, param, code
):
    client, _ = project_client
    thread = client.beta.threads.create()
    body = json.dumps({"role": "user", "content": "look", **message}).encode()

    status, answer = _raw(api, "POST", f"/threads/{thread.id}/messages", body, client.api_key)
    created, made = _raw(
        api,
        "POST",
        "/threads",
        json.dumps(
            {"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "look", **message}]}
        ).encode(),
        client.api_key,
    )

    assert status == 400 and answer["error"]["message"].startswith(error), answer
    assert (answer["error"]["param"], answer["error"]["code"]) == (param, code)
    assert created == 400 and made["error"]["param"] == f"messages[1].{param}"
    assert client.beta.threads.messages.list(thread.id).data == []
    assert [t for t in client.get("/threads", cast_to=dict)["data"] if t["id"] != thread.id] == []


def test_unknown_ids_answer_404_through_the_sdk_and_write_nothing(api, project_client):
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
    assert api.written(project) == {}


def test_a_run_on_a_real_thread_with_an_unknown_assistant_creates_nothing(api, project_client):
    client, project = project_client
    thread = client.beta.threads.create()

    with pytest.raises(openai.NotFoundError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_nope")

    written = api.written(project)
    assert list(written) == ["threads"] and list(written["threads"]) == [thread.id]
    assert (written["threads"][thread.id].runs, written["threads"][thread.id].messages) == ({}, {})


def test_a_missing_or_wrong_key_answers_401_before_the_body_is_read(api):
    status, answer = _raw(api, "POST", "/assistants", b"{not json", None)
    assert status == 401 and "didn't provide an API key" in answer["error"]["message"]

    status, answer = _raw(api, "POST", "/assistants", b"{not json", "sk-wrong-key-0000")
    assert status == 401
    assert answer["error"]["code"] == "invalid_api_key"
    assert "sk-wro***0000" in answer["error"]["message"] and "sk-wrong-key-0000" not in answer["error"]["message"]


def test_the_sdk_raises_authentication_error_for_a_wrong_key(api):
    wrong = api.client("sk-wrong-key-0000")
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.beta.assistants.list()
    assert caught.value.code == "invalid_api_key"


def test_an_unknown_path_answers_404(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.get("/no/such/path", cast_to=dict)
    assert caught.value.body["message"] == "Invalid URL (GET /v1/no/such/path)"


def test_a_form_sent_as_something_else_is_told_to_come_as_multipart_form_data(api, client):
    status, answer = api.raw(
        "POST",
        "/files",
        b"purpose=assistants",
        {"Content-Type": "text/plain", "Authorization": f"Bearer {client.api_key}"},
    )

    assert status == 415 and answer["error"]["code"] == "unsupported_media_type"
    assert answer["error"]["message"] == "Unsupported Content-Type 'text/plain': send the body as multipart/form-data."


def test_the_param_of_a_value_of_no_allowed_type_is_the_callers_path_without_pydantics_names(api, client):
    store = client.vector_stores.create(name="Params")
    thread = client.beta.threads.create()

    _, query = _raw(api, "POST", f"/vector_stores/{store.id}/search", b'{"query": 5}', client.api_key)
    _, empty = _raw(api, "POST", f"/vector_stores/{store.id}/search", b'{"query": ""}', client.api_key)
    _, listed = _raw(api, "POST", f"/vector_stores/{store.id}/search", b'{"query": ["a", 5]}', client.api_key)
    _, content = _raw(api, "POST", f"/threads/{thread.id}/messages", b'{"role": "user", "content": 5}', client.api_key)

    assert [e["error"]["param"] for e in (query, empty, listed, content)] == ["query", "query", "query[1]", "content"]
    assert content["error"]["message"] == "Invalid type for 'content': expected a string, but got an integer instead."


@pytest.mark.parametrize("effort", ["none", "minimal", "low", "medium", "high", "xhigh", "max"])
def test_every_reasoning_effort_of_openais_description_is_accepted(client, effort):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", reasoning_effort=effort)
    thread = client.beta.threads.create()

    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, reasoning_effort=effort)

    assert assistant.id.startswith("asst_") and run.id.startswith("run_")


def test_a_reasoning_effort_that_openais_description_does_not_list_answers_400(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.beta.assistants.create(model="gpt-4.1-mini", reasoning_effort="extreme")  # type: ignore[arg-type]

    assert (refused.value.code, refused.value.param) == ("invalid_value", "reasoning_effort")
