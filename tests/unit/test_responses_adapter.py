"""The Responses API adapter reads the provider's answers itself: what it reads, and what it does with the rest."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from threadrunner.adapters.responses import ResponsesModelClient
from threadrunner.domain.model_turn import TurnRequest
from threadrunner.errors import ModelRequestRejected, ModelUnavailable

COMPLETED = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "It is 18 degrees ", "annotations": []},
                {"type": "refusal", "refusal": "no"},
                {"type": "output_text", "text": "in Paris.", "annotations": []},
            ],
        },
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": '{"c": 1}'},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    ],
    "usage": {"input_tokens": 20, "output_tokens": 8, "total_tokens": 28, "output_tokens_details": {}},
    "error": None,
    "some_future_field": {"anything": True},
}


class _Cut(httpx2.SyncByteStream):
    """A body that breaks off after ``data``, as a dropped connection does."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self):
        yield self.data
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


def _sse(*events: dict[str, Any], cut: bool = False) -> Any:
    """A server-sent event stream of ``events`` (numbered in order); ``cut``: the connection drops after them."""
    body = b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event | {'sequence_number': number})}\n\n".encode()
        for number, event in enumerate(events)
    )
    return _Cut(body) if cut else body


def _client(
    answer: Any, status: int = 200, seen: list[httpx2.Request] | None = None, streaming: bool = False
) -> ResponsesModelClient:
    def respond(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(answer, bytes | _Cut):
            body = {"stream": answer} if isinstance(answer, _Cut) else {"content": answer}
            return httpx2.Response(status, headers={"content-type": "text/event-stream"}, **body)
        if isinstance(answer, str):
            return httpx2.Response(status, text=answer, headers={"content-type": "text/html"})
        return httpx2.Response(status, json=answer)

    sdk = openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(respond)),
    )
    return ResponsesModelClient(sdk, streaming=streaming)


def test_a_response_is_read_into_a_turn():
    turn = _client(COMPLETED).retrieve("resp_1")
    assert turn.id == "resp_1" and turn.status == "completed"
    assert turn.output_text == "It is 18 degrees in Paris."
    assert [(call.call_id, call.name, call.arguments) for call in turn.function_calls] == [
        ("call_1", "get_weather", '{"c": 1}')
    ]
    assert turn.usage is not None and (turn.usage.prompt_tokens, turn.usage.total_tokens) == (20, 28)


def test_a_create_posts_the_request_in_background_mode():
    seen: list[httpx2.Request] = []
    request = TurnRequest(model="gpt-4.1-mini", messages=[], metadata={"run_id": "run_1"})
    _client({**COMPLETED, "status": "queued", "output": []}, seen=seen).create(request)
    assert seen[0].method == "POST" and seen[0].url.path == "/v1/responses"
    body = json.loads(seen[0].content)
    assert body["background"] is True and body["store"] is True and body["model"] == "gpt-4.1-mini"
    assert seen[0].headers["authorization"] == "Bearer sk-test"


def test_a_response_id_cannot_leave_its_path():
    seen: list[httpx2.Request] = []
    _client(COMPLETED, seen=seen).cancel("../files/x?y=1")
    assert seen[0].url.raw_path.decode() == "/v1/responses/..%2Ffiles%2Fx%3Fy%3D1/cancel"


def test_a_failed_response_keeps_the_providers_words_out_of_last_error():
    failed = {**COMPLETED, "status": "failed", "error": {"code": "server_error", "message": "acct 42 over quota"}}
    turn = _client(failed).retrieve("resp_1")
    assert turn.error is not None and "acct 42" not in turn.error.message


@pytest.mark.parametrize("answer", ["<html>bad gateway</html>", {"no": "id"}, {"id": "r", "output": "nonsense"}])
def test_an_answer_that_cannot_be_read_is_the_provider_being_unavailable(answer):
    with pytest.raises(ModelUnavailable, match="could not be read"):
        _client(answer).retrieve("resp_1")


def test_a_refusal_and_an_outage_are_told_apart():
    with pytest.raises(ModelRequestRejected):
        _client({"error": {"message": "bad"}}, status=400).retrieve("resp_1")
    with pytest.raises(ModelUnavailable, match="HTTP 503"):
        _client({"error": {"message": "down"}}, status=503).retrieve("resp_1")


QUEUED = {**COMPLETED, "status": "queued", "output": [], "usage": None}
STARTED = {**QUEUED, "status": "in_progress"}


def test_a_streaming_create_leaves_the_stream_once_the_response_has_started():
    seen: list[httpx2.Request] = []
    stream = _sse(
        {"type": "response.created", "response": QUEUED},
        {"type": "response.in_progress", "response": STARTED},
        {"type": "response.completed", "response": COMPLETED},
    )
    turn = _client(stream, seen=seen, streaming=True).create(TurnRequest(model="m"))
    assert (turn.id, turn.status) == ("resp_1", "in_progress")
    body = json.loads(seen[0].content)
    assert body["stream"] is True and body["background"] is True


def test_a_create_whose_stream_breaks_once_the_response_exists_keeps_that_response():
    stream = _sse({"type": "response.created", "response": QUEUED}, cut=True)
    turn = _client(stream, streaming=True).create(TurnRequest(model="m"))
    assert (turn.id, turn.status) == ("resp_1", "queued")  # it runs in the background: no second one


def test_a_responses_stream_is_read_into_turn_events_from_where_it_is_taken_up():
    seen: list[httpx2.Request] = []
    stream = _sse(
        {"type": "response.in_progress", "response": STARTED},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "m1"}},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "It is "},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"type": "function_call", "call_id": "c1", "name": "f"},
        },
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a"'},
        {"type": "response.completed", "response": COMPLETED},
    )
    events = list(_client(stream, seen=seen).events("resp_1", after=7))
    assert [(e.kind, e.output_index, e.text, e.call_id, e.name) for e in events] == [
        ("other", 0, "", "", ""),
        ("message", 0, "", "", ""),
        ("text", 0, "It is ", "", ""),
        ("function_call", 1, "", "c1", "f"),
        ("arguments", 1, '{"a"', "", ""),
        ("ended", 0, "", "", ""),
    ]
    assert [e.sequence_number for e in events] == [0, 1, 2, 3, 4, 5]
    assert seen[0].url.params["stream"] == "true" and seen[0].url.params["starting_after"] == "7"


def test_a_stream_that_breaks_is_the_provider_being_unavailable_after_what_it_gave():
    stream = _sse({"type": "response.output_text.delta", "delta": "It"}, cut=True)
    received = []
    with pytest.raises(ModelUnavailable, match="stream broke"):
        for event in _client(stream).events("resp_1"):
            received.append(event.text)
    assert received == ["It"]
