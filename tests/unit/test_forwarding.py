"""Forwarded calls on fakes: what reaches the provider, what comes back to the client, what is counted."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.fakes import fake_stores
from threadrunner.app.forwarding import Call, forward
from threadrunner.domain.budget import ProjectPolicy, today
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.forwarding import ProviderAnswer
from threadrunner.errors import InvalidRequest, ProviderUnreachable

CHAT = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "Hello"}]}
USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


class FakeProvider:
    """Answers what a test scripts, and keeps what it was sent."""

    def __init__(self, answer: ProviderAnswer | Exception) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, dict[str, Any] | None, bool]] = []

    def forward(
        self, method: str, path: str, body: dict[str, Any] | None, query: Mapping[str, str], stream: bool
    ) -> ProviderAnswer:
        self.sent.append((method, path, body, stream))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _chat(stores: Any, provider: FakeProvider, body: dict[str, Any] = CHAT) -> Any:
    return forward(stores, provider, RunDefaults(), Call("chat.completions", "POST", "/chat/completions", body))


def _json(status: int, body: Any) -> ProviderAnswer:
    return ProviderAnswer(status, "application/json", json.dumps(body).encode())


def _stream(*chunks: dict[str, Any]) -> ProviderAnswer:
    texts = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return ProviderAnswer(200, "text/event-stream", chunks=iter(texts))


def test_the_override_and_the_projects_models_apply_to_calls_that_generate_only():
    stores = fake_stores()
    provider = FakeProvider(_json(200, {"id": "chatcmpl-1", "usage": USAGE}))
    forward(stores, provider, RunDefaults(model_override="gpt-4.1"), Call("chat.completions", "POST", "/x", CHAT))
    forward(stores, provider, RunDefaults(model_override="gpt-4.1"), Call("embeddings", "POST", "/y", CHAT))
    assert [body["model"] for _, _, body, _ in provider.sent] == ["gpt-4.1", "gpt-4.1-mini"]

    stores.projects.set_policy(ProjectPolicy(models=["gpt-4.1"]))
    with pytest.raises(InvalidRequest) as refused:
        forward(stores, provider, RunDefaults(), Call("chat.completions", "POST", "/x", CHAT))
    assert refused.value.code == "model_not_allowed" and len(provider.sent) == 2


def test_what_a_call_used_is_counted_and_an_unreachable_provider_gives_the_reservation_back():
    stores = fake_stores()
    forward(
        stores, FakeProvider(_json(200, {"usage": USAGE})), RunDefaults(), Call("chat.completions", "POST", "/x", CHAT)
    )
    assert stores.usage.usage_today(today()).usage.total_tokens == 10

    with pytest.raises(ProviderUnreachable):
        forward(
            stores,
            FakeProvider(ProviderUnreachable("down")),
            RunDefaults(),
            Call("chat.completions", "POST", "/x", CHAT),
        )
    day = stores.usage.usage_today(today())
    assert (day.usage.total_tokens, day.reserved) == (10, 0)


def test_a_stream_is_counted_when_it_ends_and_the_usage_chunk_reaches_only_a_client_that_asked():
    stores = fake_stores()
    chunks = ({"choices": [{"delta": {"content": "Hi"}}], "usage": None}, {"choices": [], "usage": USAGE})
    body = CHAT | {"stream": True}
    provider = FakeProvider(_stream(*chunks))
    answer = _chat(stores, provider, body)
    relayed = "".join(answer.body)  # type: ignore[arg-type]
    assert provider.sent[0][2]["stream_options"] == {"include_usage": True}  # type: ignore[index]
    assert '"content": "Hi"' in relayed and '"choices": []' not in relayed and relayed.endswith("data: [DONE]\n\n")
    assert stores.usage.usage_today(today()).usage.total_tokens == 10

    asked = body | {"stream_options": {"include_usage": True}}
    answer = forward(
        stores, FakeProvider(_stream(*chunks)), RunDefaults(), Call("chat.completions", "POST", "/x", asked)
    )
    assert '"choices": []' in "".join(answer.body)  # type: ignore[arg-type]


def test_a_stream_the_client_leaves_is_charged_its_estimated_prompt():
    stores = fake_stores()
    provider = FakeProvider(_stream({"choices": [{"delta": {"content": "Hi"}}]}, {"choices": [], "usage": USAGE}))
    answer = _chat(stores, provider, CHAT | {"stream": True})
    events = answer.body
    assert isinstance(events, Iterator)
    next(events)
    events.close()  # the client went away after the first event

    day = stores.usage.usage_today(today())
    assert day.reserved == 0 and 0 < day.usage.total_tokens == day.usage.prompt_tokens


@pytest.mark.parametrize(
    ("status", "expected_status", "leaked"),
    [(401, 502, "sk-live"), (403, 502, "sk-live"), (429, 429, "org-Acme123")],
)
def test_the_providers_refusals_of_its_own_key_and_account_are_said_in_threadrunners_words(
    status, expected_status, leaked
):
    stores = fake_stores()
    message = "Incorrect API key provided: sk-live***abcd for org-Acme123"
    provider = FakeProvider(_json(status, {"error": {"message": message, "type": "x", "code": "invalid_api_key"}}))
    answer = _chat(stores, provider)

    assert answer.status == expected_status and leaked not in answer.body.decode()  # type: ignore[union-attr]
    assert stores.usage.usage_today(today()).reserved == 0


def test_a_client_error_keeps_its_status_and_body_without_the_operators_ids():
    stores = fake_stores()
    error = {"error": {"message": "Invalid value for 'n' (project proj_Abc123)", "type": "invalid_request_error"}}
    answer = forward(
        stores, FakeProvider(_json(400, error)), RunDefaults(), Call("chat.completions", "POST", "/x", CHAT)
    )
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["message"] == "Invalid value for 'n' (project [redacted])"  # type: ignore[arg-type]


def test_a_project_with_an_allow_list_sees_only_its_models():
    stores = fake_stores()
    listed = {"object": "list", "data": [{"id": "gpt-4.1", "object": "model"}, {"id": "o3", "object": "model"}]}
    models = lambda answer, path="/models": forward(  # noqa: E731
        stores, FakeProvider(_json(200, answer)), RunDefaults(), Call("models", "GET", path)
    )
    assert [m["id"] for m in json.loads(models(listed).body)["data"]] == ["gpt-4.1", "o3"]  # no allow-list: all

    stores.projects.set_policy(ProjectPolicy(models=["gpt-4.1"]))
    assert [m["id"] for m in json.loads(models(listed).body)["data"]] == ["gpt-4.1"]
    assert json.loads(models({"id": "gpt-4.1", "object": "model"}, "/models/gpt-4.1").body)["id"] == "gpt-4.1"
    hidden = models({"id": "o3", "object": "model"}, "/models/o3")
    assert hidden.status == 404 and json.loads(hidden.body)["error"]["code"] == "model_not_found"
