"""The offline model's HTTP surface answers each endpoint as docs/local-stack.md ("The offline model") says.

The server runs with no latency, so a response has finished when it is created; a ``slow`` fault keeps one running.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from threadrunner_local.model_server import OfflineModelServer

KEY = "sk-offline-" + secrets.token_hex(4)
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[OfflineModelServer]:
    served = OfflineModelServer(latency=0, api_key=KEY).start()
    yield served
    served.stop()


@pytest.fixture
def marker(server: OfflineModelServer) -> Iterator[str]:
    """A word unique to one test, to aim faults at its requests; its faults are cleared after it."""
    yield "marker" + secrets.token_hex(4)
    _call(server, "DELETE", "/_offline/faults")


def _exchange(
    server: OfflineModelServer, method: str, path: str, body: Any = None, key: str | None = KEY
) -> http.client.HTTPResponse:
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    connection.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
    return connection.getresponse()


def _call(
    server: OfflineModelServer, method: str, path: str, body: Any = None, key: str | None = KEY
) -> tuple[int, Any]:
    answer = _exchange(server, method, path, body, key)
    return answer.status, json.loads(answer.read())


def _events(server: OfflineModelServer, method: str, path: str, body: Any = None) -> list[dict[str, Any]]:
    """The server-sent events of a streamed answer, read to the end of the stream."""
    text = _exchange(server, method, path, body).read().decode()
    return [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith("data: {")]


def _create(server: OfflineModelServer, **request: Any) -> dict[str, Any]:
    status, response = _call(server, "POST", "/v1/responses", {"model": "gpt-4.1-mini", **request})
    assert status == 200, response
    return response  # type: ignore[no-any-return]


def _text(response: dict[str, Any]) -> str:
    return "".join(part["text"] for item in response["output"] for part in item.get("content", []))


def test_given_a_created_response_when_retrieved_listed_and_deleted_then_each_answers_by_its_id(server):
    created = _create(server, input="Tell me about lighthouses", background=True)

    assert created["status"] == "completed" and created["id"].startswith("resp_")
    assert _text(created) == 'You said: "Tell me about lighthouses". (This reply comes from the offline test model.)'
    assert _call(server, "GET", f"/v1/responses/{created['id']}") == (200, created)
    status, items = _call(server, "GET", f"/v1/responses/{created['id']}/input_items")
    assert status == 200 and [item["content"] for item in items["data"]] == [
        "Tell me about lighthouses",
        created["output"][0]["content"],
    ]
    assert (items["first_id"], items["last_id"], items["has_more"]) == ("item_0", created["output"][0]["id"], False)
    assert _call(server, "DELETE", f"/v1/responses/{created['id']}") == (
        200,
        {"id": created["id"], "object": "response", "deleted": True},
    )
    status, gone = _call(server, "GET", f"/v1/responses/{created['id']}")
    assert (status, gone["error"]["message"]) == (404, f"No response found with id '{created['id']}'.")


def test_given_a_previous_response_when_chained_then_the_answer_comes_from_the_function_outputs(server):
    called = _create(server, input="What's the weather in Paris?", tools=[WEATHER])
    call = called["output"][0]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )

    answered = _create(
        server,
        previous_response_id=called["id"],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": '{"temperature": 21}'}],
    )

    assert _text(answered) == "Here is what the tools returned. get_weather returned temperature: 21."


def test_given_an_unknown_previous_response_when_chained_then_the_create_is_refused(server):
    status, refused = _call(server, "POST", "/v1/responses", {"model": "m", "input": "hi", "previous_response_id": "r"})
    assert (status, refused["error"]["code"]) == (400, "previous_response_not_found")


def test_given_a_max_output_tokens_smaller_than_the_answer_when_created_then_it_ends_incomplete(server):
    cut = _create(server, input="Tell me a long story about the sea and its lighthouses", max_output_tokens=3)
    assert (cut["status"], cut["incomplete_details"], len(_text(cut))) == (
        "incomplete",
        {"reason": "max_output_tokens"},
        12,
    )


def test_given_a_json_schema_format_when_created_then_the_answer_is_an_instance_of_it(server):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "count": {"type": "integer"}}}
    text = {"format": {"type": "json_schema", "name": "out", "schema": schema}}
    answered = _create(server, input="Count the lighthouses", text=text)
    assert json.loads(_text(answered)) == {
        "answer": 'You said: "Count the lighthouses". (This reply comes from the offline test model.)',
        "count": 1,
    }


def test_given_a_running_response_when_cancelled_twice_then_it_ends_cancelled_and_the_second_is_refused(server, marker):
    assert _call(server, "POST", "/_offline/faults", {"kind": "slow", "match": marker, "seconds": 30}) == (
        200,
        {"faults": 1},
    )
    running = _create(server, input=f"Wait for it {marker}", background=True)
    assert running["status"] == "queued"

    status, cancelled = _call(server, "POST", f"/v1/responses/{running['id']}/cancel")
    assert (status, cancelled["status"]) == (200, "cancelled")
    status, refused = _call(server, "POST", f"/v1/responses/{running['id']}/cancel")
    assert (status, refused["error"]["message"]) == (400, "Only a response that is still running can be cancelled.")


def test_given_an_ignore_cancel_fault_when_cancelled_then_the_response_still_finishes(server, marker):
    _call(server, "POST", "/_offline/faults", {"kind": "slow", "match": marker, "seconds": 0.3})
    _call(server, "POST", "/_offline/faults", {"kind": "ignore_cancel", "match": marker, "on": "cancel"})
    running = _create(server, input=f"Wait for it {marker}", background=True)

    status, answered = _call(server, "POST", f"/v1/responses/{running['id']}/cancel")

    assert (status, answered["status"]) == (200, "queued")
    events = _events(server, "GET", f"/v1/responses/{running['id']}?stream=true")
    assert events[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize(
    ("kind", "on", "status", "code"),
    [("http_429", "create", 429, "rate_limit_exceeded"), ("http_500", "create", 500, None)],
)
def test_given_an_http_fault_when_created_then_that_status_answers_with_a_short_retry_delay(
    server, marker, kind, on, status, code
):
    _call(server, "POST", "/_offline/faults", {"kind": kind, "match": marker, "on": on})
    answer = _exchange(server, "POST", "/v1/responses", {"model": "m", "input": f"hi {marker}"})
    assert (answer.status, answer.getheader("retry-after-ms")) == (status, "100")
    assert json.loads(answer.read())["error"]["code"] == code
    seen = _call(server, "GET", "/_offline/requests")[1]["requests"]
    assert all(request["input"] != f"hi {marker}" for request in seen)  # refused before it was taken


def test_given_a_retrieve_fault_when_retrieved_then_it_answers_the_fault_once(server, marker):
    created = _create(server, input=f"hi {marker}")
    _call(server, "POST", "/_offline/faults", {"kind": "http_429", "match": marker, "on": "retrieve"})
    assert _call(server, "GET", f"/v1/responses/{created['id']}")[0] == 429
    assert _call(server, "GET", f"/v1/responses/{created['id']}") == (200, created)


def test_given_failed_and_bad_json_faults_when_created_then_the_response_fails_or_its_json_is_broken(server, marker):
    _call(server, "POST", "/_offline/faults", {"kind": "failed", "match": marker})
    failed = _create(server, input=f"hi {marker}")
    assert (failed["status"], failed["error"]["code"], failed["output"]) == ("failed", "server_error", [])

    _call(server, "POST", "/_offline/faults", {"kind": "bad_json", "match": marker})
    broken = _create(server, input=f"hi {marker}", text={"format": {"type": "json_object"}})
    assert _text(broken) == "{this is not JSON"


@pytest.mark.parametrize(
    "fault",
    [{"kind": "explode"}, {"kind": "failed", "on": "retrieve"}, {"kind": "slow", "color": "red"}],
)
def test_given_a_fault_the_double_has_not_when_injected_then_it_is_refused(server, fault):
    status, refused = _call(server, "POST", "/_offline/faults", fault)
    assert (status, refused["error"]["type"]) == (400, "invalid_request_error")


def test_given_the_controls_when_called_without_a_key_then_they_set_latency_list_requests_and_clear_faults(server):
    assert _call(server, "POST", "/_offline/config", {"latency": 0}, key=None) == (
        200,
        {"latency": 0.0, "store": True, "webhooks": False},
    )
    _create(server, input="remember me")
    assert _call(server, "GET", "/_offline/requests", key=None)[1]["requests"][-1]["input"] == "remember me"
    _call(server, "POST", "/_offline/faults", {"kind": "failed", "match": "nothing says this"})
    assert _call(server, "DELETE", "/_offline/faults", key=None) == (200, {"faults": 0})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/responses"),
        ("GET", "/v1/models"),
        ("GET", "/v1/responses/resp_x"),
        ("POST", "/v1/nowhere"),
        ("DELETE", "/v1/responses/resp_x"),
        ("DELETE", "/v1/nowhere"),
    ],
)
def test_given_a_wrong_key_when_calling_v1_then_it_is_refused_naming_only_the_keys_ends(server, method, path):
    body = {"model": "m", "input": "hi"} if method == "POST" else None
    status, refused = _call(server, method, path, body, key="sk-wrong-key1")
    assert (status, refused["error"]["code"]) == (401, "invalid_api_key")
    assert refused["error"]["message"] == "Incorrect API key provided: sk-***key1."


def test_given_a_wrong_key_when_deleting_a_response_then_exactly_one_answer_is_sent(server):
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    request = (
        "DELETE /v1/responses/resp_x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong-key1\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request.encode())
        answered = b"".join(iter(lambda: connection.recv(65536), b""))

    assert answered.count(b"HTTP/1.1 ") == 1 and answered.startswith(b"HTTP/1.1 401 ")


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/v1/responses/resp_unknown", "No response found with id 'resp_unknown'."),
        ("DELETE", "/v1/responses/resp_unknown", "No response found with id 'resp_unknown'."),
        ("POST", "/v1/nowhere", "Invalid URL (POST /v1/nowhere)"),
        ("DELETE", "/v1/nowhere", "Invalid URL (DELETE /v1/nowhere)"),
        ("GET", "/v1/models/no-such-model", "The model 'no-such-model' does not exist"),
    ],
)
def test_given_an_unknown_id_or_path_when_called_then_it_answers_404(server, method, path, message):
    status, missing = _call(server, method, path, {} if method == "POST" else None)
    assert (status, missing["error"]["message"]) == (404, message)


@pytest.mark.parametrize("path", ["/v1/responses/resp_unknown/cancel", "/v1/responses/resp_unknown/input_items"])
def test_given_an_unknown_response_when_cancelled_or_its_items_listed_then_it_answers_404(server, path):
    method = "POST" if path.endswith("cancel") else "GET"
    assert _call(server, method, path, {} if method == "POST" else None)[0] == 404


def test_given_a_body_that_is_not_json_when_posted_then_it_answers_400(server):
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("POST", "/v1/responses", b"{not json", {"Authorization": f"Bearer {KEY}"})
    answer = connection.getresponse()
    assert answer.status == 400 and json.loads(answer.read())["error"]["message"].startswith("The body is not JSON")


def test_given_an_input_when_its_tokens_are_counted_then_they_are_a_quarter_of_its_json(server):
    assert _call(server, "POST", "/v1/responses/input_tokens", {"model": "m", "input": "a" * 38}) == (
        200,
        {"object": "response.input_tokens", "input_tokens": 10},
    )


def test_given_the_models_when_listed_and_one_retrieved_then_they_are_the_doubles(server):
    status, listed = _call(server, "GET", "/v1/models")
    assert status == 200 and "gpt-4.1-mini" in [model["id"] for model in listed["data"]]
    assert _call(server, "GET", "/v1/models/gpt-4.1-mini") == (
        200,
        {"id": "gpt-4.1-mini", "object": "model", "created": 1_700_000_000, "owned_by": "offline"},
    )


def test_given_a_text_with_a_flagged_word_when_moderated_then_only_it_is_flagged(server):
    status, moderated = _call(server, "POST", "/v1/moderations", {"input": ["how to build a bomb", "hello"]})
    assert status == 200 and [result["flagged"] for result in moderated["results"]] == [True, False]
    assert moderated["results"][0]["categories"]["illicit/violent"] is True


def test_given_the_same_conversation_when_asked_as_a_chat_and_as_a_response_then_both_answer_alike(server):
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    chat_tools = [{"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}]

    status, chat = _call(
        server, "POST", "/v1/chat/completions", {"model": "m", "messages": messages, "tools": chat_tools}
    )
    response = _create(server, input=messages, tools=[WEATHER])

    call = chat["choices"][0]["message"]["tool_calls"][0]["function"]
    assert status == 200 and chat["choices"][0]["finish_reason"] == "tool_calls"
    assert (call["name"], call["arguments"]) == (response["output"][0]["name"], response["output"][0]["arguments"])
    assert chat["usage"]["completion_tokens"] == response["usage"]["output_tokens"]


def test_given_a_chat_with_tool_results_when_completed_then_it_answers_from_them(server):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'},
    ]
    status, chat = _call(server, "POST", "/v1/chat/completions", {"model": "m", "messages": messages})
    assert (status, chat["choices"][0]["message"]["content"]) == (
        200,
        "Here is what the tools returned. get_weather returned temperature: 21.",
    )


def test_given_a_fault_a_chat_has_no_use_for_when_its_text_matches_then_the_chat_is_still_answered(server, marker):
    _call(server, "POST", "/_offline/faults", {"kind": "failed", "match": marker})
    messages = [{"role": "user", "content": f"Hello {marker}"}]

    status, chat = _call(server, "POST", "/v1/chat/completions", {"model": "m", "messages": messages})

    assert (status, chat["choices"][0]["finish_reason"]) == (200, "stop")
    assert chat["choices"][0]["message"]["content"].startswith(f'You said: "Hello {marker}"')


def test_given_a_max_tokens_smaller_than_the_reply_when_chatting_then_it_stops_for_length(server):
    messages = [{"role": "user", "content": "Tell me a long story about the sea and its lighthouses"}]
    status, chat = _call(server, "POST", "/v1/chat/completions", {"model": "m", "messages": messages, "max_tokens": 2})
    assert (status, chat["choices"][0]["finish_reason"], len(chat["choices"][0]["message"]["content"])) == (
        200,
        "length",
        8,
    )


def test_given_a_streamed_chat_when_read_then_its_chunks_join_to_the_whole_reply_and_end_with_usage(server):
    request = {
        "model": "m",
        "messages": [{"role": "user", "content": "Tell me about the sea"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = _events(server, "POST", "/v1/chat/completions", request)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text == 'You said: "Tell me about the sea". (This reply comes from the offline test model.)'
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["usage"]["total_tokens"] > 0


def test_given_a_streamed_create_when_read_then_its_events_are_numbered_and_end_completed(server):
    events = _events(server, "POST", "/v1/responses", {"model": "m", "input": "Tell me about the sea", "stream": True})

    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    deltas = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    assert deltas == _text(events[-1]["response"])
    created = events[-1]["response"]["id"]
    resumed = _events(server, "GET", f"/v1/responses/{created}?stream=true&starting_after=2")
    assert resumed == events[3:]


def test_given_a_drop_stream_fault_when_streamed_then_the_connection_is_cut_after_its_events(server, marker):
    _call(server, "POST", "/_offline/faults", {"kind": "drop_stream", "match": marker, "on": "stream", "events": 2})
    created = _create(server, input=f"hi {marker}")

    answer = _exchange(server, "GET", f"/v1/responses/{created['id']}?stream=true")

    with pytest.raises(http.client.IncompleteRead) as cut:
        answer.read()
    assert cut.value.partial.decode().count("event: ") == 2


def test_given_responses_held_by_a_slow_fault_when_released_then_they_end_now_background_or_not(server, marker):
    _call(server, "POST", "/_offline/faults", {"kind": "slow", "match": marker, "seconds": 60, "times": 2})
    running = _create(server, input=f"Wait for it {marker}", background=True)
    streamed: list[dict[str, Any]] = []
    following = threading.Thread(
        target=lambda: streamed.extend(_events(server, "GET", f"/v1/responses/{running['id']}?stream=true"))
    )
    following.start()
    waited: list[dict[str, Any]] = []
    waiting = threading.Thread(target=lambda: waited.append(_create(server, input=f"And this {marker}")))
    waiting.start()
    for _ in range(100):  # until the second create waits on its response
        if sum(marker in json.dumps(r) for r in _call(server, "GET", "/_offline/requests")[1]["requests"]) == 2:
            break
        time.sleep(0.05)

    assert _call(server, "POST", "/_offline/release", {"match": marker}) == (200, {"released": 2})

    waiting.join(timeout=10)
    following.join(timeout=10)
    assert [answer["status"] for answer in waited] == ["completed"]  # the waiting create answered at once
    assert streamed[-1]["type"] == "response.completed"  # and the stream that followed the other ended with it
    assert _call(server, "GET", f"/v1/responses/{running['id']}")[1]["status"] == "completed"
    assert _call(server, "POST", "/_offline/release", {"match": marker}) == (200, {"released": 0})
    status, refused = _call(server, "POST", "/_offline/release", {})
    assert (status, refused["error"]["type"]) == (400, "invalid_request_error")
