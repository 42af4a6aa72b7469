"""The local stack is a server people leave running: it holds bounded memory and answers every request."""

from __future__ import annotations

import http.client
import json

import pytest

from threadrunner.api.http_server import http_event
from threadrunner_local.model_policy import decide
from threadrunner_local.model_server import OfflineModelServer
from threadrunner_local.model_store import MAX_REQUESTS, MAX_RESPONSES, OfflineModel


def test_given_many_responses_when_created_then_the_offline_model_keeps_a_bounded_number():
    model = OfflineModel(latency=0)
    for index in range(MAX_RESPONSES + 50):
        model.create({"model": "m", "input": f"hello {index}"})
    assert len(model.responses) == MAX_RESPONSES and len(model.requests) == MAX_REQUESTS
    assert model.requests[-1]["input"] == f"hello {MAX_RESPONSES + 49}"


def test_given_a_schema_whose_properties_are_not_schemas_when_deciding_then_the_policy_still_answers():
    tool = {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": "string"}},
    }
    assert decide([tool], "What's the weather in Paris?", []).calls == [("get_weather", {})]
    odd = {"type": "function", "name": "get_weather", "parameters": {"properties": [], "required": "city"}}
    assert decide([odd], "weather", []).calls == [("get_weather", {})]


@pytest.fixture(scope="module")
def server():
    served = OfflineModelServer(latency=0).start()
    yield served
    served.stop()


def _post(server: OfflineModelServer, body: bytes, length: str) -> tuple[int, dict]:
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.putrequest("POST", "/v1/responses")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    connection.send(body)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def test_given_bad_lengths_or_bodies_when_posted_then_the_offline_model_answers_instead_of_hanging(server):
    assert _post(server, b"{}", "-5")[0] == 400
    assert _post(server, b"{}", str(10**12))[0] == 413
    assert _post(server, b"not json", "8")[0] == 400
    bad_tool = {"model": "m", "input": "weather", "tools": [{"type": "function", "name": "weather", "parameters": 7}]}
    data = json.dumps(bad_tool).encode()
    assert _post(server, data, str(len(data)))[0] == 200


def test_given_a_repeated_header_when_turned_into_an_event_then_its_values_are_joined_as_api_gateway_joins_them():
    event = http_event("GET", "/v1/assistants?a=1&a=2", [("X-Trace", "one"), ("x-trace", "two")], b"")
    assert event["headers"]["x-trace"] == "one,two" and event["queryStringParameters"] == {"a": "1,2"}


def _embed(server: OfflineModelServer, texts: list[str]) -> tuple[int, dict]:
    data = json.dumps({"model": "text-embedding-3-small", "input": texts, "dimensions": 8}).encode()
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request(
        "POST", "/v1/embeddings", data, {"Authorization": "Bearer x", "Content-Type": "application/json"}
    )
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def test_the_offline_models_embeddings_hold_openais_limits_counted_as_threadrunner_counts_tokens(server):
    status, fits = _embed(server, ["漢" * 4000])  # 6,000 tokens as threadrunner counts them
    assert status == 200 and fits["usage"]["prompt_tokens"] == 6000

    for texts, why in (
        (["漢" * 6000], "maximum context length is 8192 tokens"),  # 9,000 tokens, though 1,500 words of four
        (["word"] * 2049, "at most 2048"),
        (["a" * 32_000] * 40, "at most 300000"),
    ):
        status, refused = _embed(server, texts)
        assert (status, refused["error"]["type"]) == (400, "invalid_request_error") and why in refused["error"][
            "message"
        ]
