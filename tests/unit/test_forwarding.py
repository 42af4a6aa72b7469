"""Forwarded calls on fakes: what reaches the provider, what comes back to the client, what is counted."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.fakes import FakeUnsettled, World, fake_stores
from threadrunner.app.forwarding import Call, Swept, forward, settle_unsettled
from threadrunner.domain.budget import OUTPUT_RESERVE_TOKENS, ProjectPolicy, estimate_tokens, today
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.forwarding import HOSTED_TOOLS, ProviderAnswer
from threadrunner.errors import InvalidRequest, NotFound, ProviderUnreachable

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


RESPONSE = {"model": "gpt-4.1-mini", "input": "Hello"}
FUNCTION = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def _create(stores: Any, provider: FakeProvider, body: dict[str, Any], kind: str = "responses") -> Any:
    path = {"responses": "/responses", "responses.input_tokens": "/responses/input_tokens"}.get(kind, "/x")
    return forward(stores, provider, RunDefaults(), Call(kind, "POST", path, body))  # type: ignore[arg-type]


def _file(part: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "input_text", "text": "See"}, {"type": part, "file_id": "file-theirs"}],
    }


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": [{"role": "user", "content": "Hi"}, {"type": "item_reference", "id": "msg_theirs"}]}, "input[1]"),
        ({"input": [_file("input_file")]}, "input[0].content[1].file_id"),
        ({"input": [_file("input_image")]}, "input[0].content[1].file_id"),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": _file("input_image")["content"]}]},
            "input[0].output[1].file_id",
        ),
        ({"tools": [FUNCTION, {"type": "file_search", "vector_store_ids": ["vs_theirs"]}]}, "tools[1].type"),
        (
            {"tools": [FUNCTION, {"type": "mcp", "server_label": "x", "server_url": "http://10.0.0.8/"}]},
            "tools[1].type",
        ),
        ({"tools": [{"type": "mcp", "server_label": "mail", "connector_id": "connector_gmail"}]}, "tools[0].type"),
        ({"tools": [{"type": "a_tool_of_next_year"}]}, "tools[0].type"),
        ({"tools": [{"type": "code_interpreter", "container": "cntr_theirs"}]}, "tools[0].container"),
        (
            {"tools": [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-theirs"]}}]},
            "tools[0].container.file_ids",
        ),
        (
            {"tools": [{"type": "image_generation", "input_image_mask": {"file_id": "file-theirs"}}]},
            "tools[0].input_image_mask.file_id",
        ),
    ],
)
def test_a_response_that_names_what_every_project_shares_is_refused_before_the_provider(fields, param):
    stores = fake_stores()
    stores.projects.set_policy(ProjectPolicy(hosted_tools=sorted(HOSTED_TOOLS)))  # even with every hosted tool
    provider = FakeProvider(_json(200, {"id": "resp_1", "status": "completed", "usage": None}))

    for kind in ("responses", "responses.input_tokens"):
        with pytest.raises(InvalidRequest) as refused:
            _create(stores, provider, RESPONSE | fields, kind)
        assert refused.value.param == param
        assert "threadrunner does not forward it" in refused.value.message or "not forwarded" in refused.value.message

    assert provider.sent == [] and stores.usage.usage_today(today()).reserved == 0


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": {"id": "pmpt_operators", "version": "2"}}, "prompt.version"),
        ({"prompt": {"id": "pmpt_operators"}}, "prompt.id"),
        ({"conversation": "conv_theirs"}, "conversation"),
        ({"conversation": {"id": "conv_theirs"}}, "conversation"),
    ],
)
def test_a_prompt_or_conversation_of_the_providers_account_is_one_threadrunner_does_not_have(fields, param):
    stores = fake_stores()
    provider = FakeProvider(_json(200, {"id": "resp_1", "status": "completed", "usage": None}))

    for kind in ("responses", "responses.input_tokens"):
        with pytest.raises(NotFound) as refused:
            _create(stores, provider, RESPONSE | fields, kind)
        assert refused.value.param == param

    assert provider.sent == [] and stores.usage.usage_today(today()).reserved == 0


@pytest.mark.parametrize(
    ("tool", "named"),
    [
        ({"type": "web_search"}, "web_search"),
        ({"type": "web_search_preview_2025_03_11"}, "web_search_preview"),
        ({"type": "image_generation", "size": "1024x1024"}, "image_generation"),
        ({"type": "code_interpreter", "container": {"type": "auto"}}, "code_interpreter"),
    ],
)
def test_a_hosted_tool_priced_per_call_is_forwarded_only_for_a_project_allowed_it(tool, named):
    stores = fake_stores()
    provider = FakeProvider(_json(200, {"id": "resp_1", "status": "completed", "usage": None}))
    with pytest.raises(InvalidRequest) as refused:
        _create(stores, provider, RESPONSE | {"tools": [FUNCTION, tool]})
    assert (refused.value.param, refused.value.code) == ("tools[1].type", "tool_not_allowed")
    assert f"'{named}' is not allowed for this project" in refused.value.message and provider.sent == []

    stores.projects.set_policy(ProjectPolicy(hosted_tools=[named]))
    answer = _create(stores, provider, RESPONSE | {"tools": [FUNCTION, tool]})

    assert answer.status == 200 and provider.sent[0][2]["tools"] == [FUNCTION, tool]  # type: ignore[index]


def test_a_chat_completion_may_search_the_web_only_when_allowed_and_names_no_provider_file():
    stores = fake_stores()
    provider = FakeProvider(_json(200, {"id": "chatcmpl-1", "usage": USAGE}))
    with pytest.raises(InvalidRequest) as refused:
        _chat(stores, provider, CHAT | {"web_search_options": {}})
    assert (refused.value.param, refused.value.code) == ("web_search_options", "tool_not_allowed")
    named = [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-theirs"}}]}]
    with pytest.raises(InvalidRequest) as refused:
        _chat(stores, provider, CHAT | {"messages": named})
    assert refused.value.param == "messages[0].content[0].file.file_id" and provider.sent == []

    stores.projects.set_policy(ProjectPolicy(hosted_tools=["web_search"]))
    assert _chat(stores, provider, CHAT | {"web_search_options": {}}).status == 200


def test_a_response_without_max_output_tokens_reserves_the_most_a_response_writes():
    stores = fake_stores()
    provider = FakeProvider(_json(200, {"id": "resp_bg", "status": "queued", "usage": None}))
    prompt = estimate_tokens(json.dumps(["Hello", None, None]))

    _create(stores, provider, RESPONSE | {"background": True})
    assert stores.usage.usage_today(today()).reserved == prompt + OUTPUT_RESERVE_TOKENS == prompt + 32_768

    defaults = RunDefaults(output_reserve_tokens=100_000)  # a deployment whose models write more
    forward(stores, provider, defaults, Call("responses", "POST", "/responses", RESPONSE | {"background": True}))
    limited = RESPONSE | {"background": True, "max_output_tokens": 500}
    forward(stores, provider, defaults, Call("responses", "POST", "/responses", limited))
    assert stores.usage.usage_today(today()).reserved == 3 * prompt + 32_768 + 100_000 + 500


# the sweep of background responses ----------------------------------------------------------------------


class RoutedProvider(FakeProvider):
    """Answers each path as a test scripts it (``answers``); a 404 for the others."""

    def __init__(self, answers: dict[str, ProviderAnswer | Exception]) -> None:
        super().__init__(_json(404, {"error": {"message": "No response found.", "type": "invalid_request_error"}}))
        self.answers = answers

    def forward(
        self, method: str, path: str, body: dict[str, Any] | None, query: Mapping[str, str], stream: bool
    ) -> ProviderAnswer:
        self.answer = self.answers.get(path, self.answer)
        return super().forward(method, path, body, query, stream)


def _response(response_id: str, status: str, used: tuple[int, int] | None = None) -> ProviderAnswer:
    usage = {"input_tokens": used[0], "output_tokens": used[1], "total_tokens": sum(used)} if used else None
    return _json(200, {"id": response_id, "object": "response", "status": status, "usage": usage})


def _sweep(world: World, provider: FakeProvider, *others: World, more: Any = lambda: True) -> Any:
    stores = {w.project: fake_stores(w) for w in (world, *others)}
    return settle_unsettled(FakeUnsettled(world.unsettled), stores.__getitem__, provider, more)


def test_a_background_response_nobody_asks_about_is_counted_by_the_sweep_once_it_ended():
    world = World()
    stores = fake_stores(world)
    _create(stores, RoutedProvider({"/responses": _response("resp_bg", "queued")}), RESPONSE | {"background": True})
    reserved = stores.usage.usage_today(today()).reserved

    running = _sweep(world, RoutedProvider({"/responses/resp_bg": _response("resp_bg", "in_progress")}))
    assert (running.running, running.settled) == (1, 0) and stores.usage.usage_today(today()).reserved == reserved

    ended = RoutedProvider({"/responses/resp_bg": _response("resp_bg", "completed", (11, 20_004))})
    swept = _sweep(world, ended)
    again = _sweep(world, ended)

    day = stores.usage.usage_today(today())
    assert swept.settled == 1 and (day.usage.total_tokens, day.reserved) == (20_015, 0)  # what it used, not reserved
    assert again == Swept() and world.unsettled == {} and ended.sent == [("GET", "/responses/resp_bg", None, False)]


def test_the_sweep_charges_a_lost_response_its_whole_reservation_and_looks_again_at_one_the_provider_did_not_say():
    acme, globex = World(), World(project="globex")
    globex.unsettled = acme.unsettled  # one deployment's list
    created = RoutedProvider({"/responses": _response("resp_deleted", "queued")})
    _create(fake_stores(acme), created, RESPONSE | {"background": True})
    created.answers["/responses"] = _response("resp_unknown", "in_progress")
    _create(fake_stores(globex), created, RESPONSE | {"background": True, "max_output_tokens": 900})

    swept = _sweep(acme, RoutedProvider({"/responses/resp_unknown": ProviderUnreachable("down")}), globex)

    lost = fake_stores(acme).usage.usage_today(today())  # the provider answered 404: deleted while it ran
    assert (swept.settled, swept.unanswered) == (1, 1) and lost.reserved == 0
    assert lost.usage.completion_tokens == OUTPUT_RESERVE_TOKENS and lost.usage.prompt_tokens > 0
    assert list(acme.unsettled) == [("globex", "resp_unknown")]  # looked at again next time
    bounded = _sweep(acme, RoutedProvider({}), globex, more=lambda: False)
    assert bounded == Swept() and list(acme.unsettled) == [("globex", "resp_unknown")]


def test_a_background_stream_the_client_leaves_is_counted_by_the_sweep_not_charged_its_prompt():
    world = World()
    stores = fake_stores(world)
    created = {"type": "response.created", "response": {"id": "resp_st", "status": "queued"}}
    provider = FakeProvider(_stream(created, {"type": "response.in_progress", "response": {"id": "resp_st"}}))
    answer = _create(stores, provider, RESPONSE | {"background": True, "stream": True})
    events = answer.body
    assert isinstance(events, Iterator)
    next(events)
    events.close()  # the client left; the response goes on at the provider
    assert stores.usage.usage_today(today()).usage.total_tokens == 0 and list(world.unsettled) == [("acme", "resp_st")]

    _sweep(world, RoutedProvider({"/responses/resp_st": _response("resp_st", "completed", (11, 3_000))}))

    day = stores.usage.usage_today(today())
    assert (day.usage.total_tokens, day.reserved) == (3_011, 0)
