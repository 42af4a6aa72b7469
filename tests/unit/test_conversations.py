"""The Conversations API and responses bound to conversations, on fakes: what the provider is sent, what joins the
conversation (once, in order), and what is refused before the provider sees anything."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.fakes import fake_stores
from threadrunner.app import conversations
from threadrunner.app.forwarding import Call, forward
from threadrunner.app.requests.conversations import ConversationCreate, ItemsCreate
from threadrunner.domain.budget import Budget, ProjectPolicy, estimate_tokens, today
from threadrunner.domain.common import now
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.forwarding import ProviderAnswer
from threadrunner.domain.ids import new_id
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run import Run
from threadrunner.domain.thread import Thread
from threadrunner.errors import (
    BudgetExceeded,
    ConversationLocked,
    InvalidRequest,
    NotFound,
    RunActive,
    TurnAnswered,
)
from threadrunner.ports import Stores

MODEL = "gpt-4.1-mini"


def _response(text: str, status: str = "completed", **more: Any) -> dict[str, Any]:
    message = {
        "type": "message",
        "id": "msg_provider1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    usage = {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
    return {"id": new_id("resp"), "object": "response", "status": status, "output": [message], "usage": usage} | more


class Provider:
    """Answers each call with the next scripted answer, and keeps what it was sent."""

    def __init__(self, *answers: ProviderAnswer | dict[str, Any]) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def forward(
        self, method: str, path: str, body: dict[str, Any] | None, query: Mapping[str, str], stream: bool
    ) -> ProviderAnswer:
        self.sent.append(body or {})
        answer = self.answers.pop(0)
        if isinstance(answer, dict):
            return ProviderAnswer(200, "application/json", json.dumps(answer).encode())
        return answer


def _respond(
    stores: Stores, provider: Provider, key: str | None = None, defaults: RunDefaults | None = None, **body: Any
) -> Any:
    call = Call("responses", "POST", "/responses", {"model": MODEL, **body}, idempotency_key=key)
    return forward(stores, provider, defaults or RunDefaults(), call)


def _conversation(stores: Stores, *texts: str) -> str:
    body = ConversationCreate(items=[{"role": "user", "content": text} for text in texts])
    return conversations.create_conversation(stores, body).id


def _texts(stores: Stores, conversation_id: str) -> list[str]:
    items = stores.conversations.list_items(conversation_id, PageRequest(order="asc", limit=100)).data
    return [part.get("text", "") for item in items for part in item.data.get("content", [])]


# The Conversations API ----------------------------------------------------------------------------------------


def test_items_are_stored_as_the_api_shows_them_and_each_wrong_one_is_named():
    stores = fake_stores()
    conversation_id = _conversation(stores, "Hello!")
    added = conversations.add_items(
        stores,
        conversation_id,
        ItemsCreate(
            items=[
                {"type": "message", "role": "assistant", "content": "Hi."},
                {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
            ]
        ),
    )

    assert [item.wire() for item in added] == [
        {
            "id": added[0].id,
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi.", "annotations": []}],
            "status": "completed",
        },
        {
            "id": added[1].id,
            "role": "developer",
            "content": [{"type": "input_text", "text": "Be brief."}],
            "type": "message",
            "status": "completed",
        },
    ]
    assert [item.id[:4] for item in added] == ["msg_", "msg_"]
    for items, param in (
        ([{"role": "user", "content": "ok"}, {"role": "robot", "content": "x"}], "items[1].role"),
        ([{"type": "item_reference", "id": "msg_theirs"}], "items[0]"),
        (
            [{"role": "user", "content": [{"type": "input_file", "file_id": "file-theirs"}]}],
            "items[0].content[0].file_id",
        ),
        ([{"type": "function_call", "call_id": "c", "name": "f"}], "items[0].arguments"),
        ([{"type": "function_call_output", "call_id": "c", "output": 3}], "items[0].output"),
        (["text"], "items[0]"),
    ):
        with pytest.raises(InvalidRequest) as refused:
            conversations.add_items(stores, conversation_id, ItemsCreate(items=items))
        assert refused.value.param == param
    assert _texts(stores, conversation_id) == ["Hello!", "Hi.", "Be brief."]  # nothing of a refused request


def test_deleting_an_item_answers_the_conversation_and_an_unknown_conversation_is_404_before_its_items_are_read():
    stores = fake_stores()
    conversation_id = _conversation(stores, "one", "two")
    first = stores.conversations.list_items(conversation_id, PageRequest(order="asc")).data[0]

    assert conversations.delete_item(stores, conversation_id, first.id).id == conversation_id
    assert _texts(stores, conversation_id) == ["two"]
    with pytest.raises(NotFound):
        conversations.add_items(stores, "conv_unknown", ItemsCreate(items=["not even an item"]))


# Responses bound to a conversation ---------------------------------------------------------------------------


def test_a_bound_response_sends_the_history_and_appends_its_input_and_output_once_in_order():
    stores = fake_stores()
    conversation_id = _conversation(stores, "My name is Ada.")
    provider = Provider(_response("Hello Ada."))

    answer = _respond(stores, provider, conversation={"id": conversation_id}, input="Who am I?", truncation="auto")

    (sent,) = provider.sent
    assert "conversation" not in sent and "truncation" not in sent
    assert [item["content"][0]["text"] for item in sent["input"]] == ["My name is Ada.", "Who am I?"]
    assert all("id" not in item for item in sent["input"])  # the client's items go without threadrunner's ids
    shown = json.loads(answer.body)
    assert shown["conversation"] == {"id": conversation_id} and shown["output"][0]["id"] == "msg_provider1"
    assert _texts(stores, conversation_id) == ["My name is Ada.", "Who am I?", "Hello Ada."]
    output = stores.conversations.list_items(conversation_id, PageRequest()).data[0]
    assert output.id != "msg_provider1" and output.for_provider()["id"] == "msg_provider1"

    provider.answers.append(_response("You are Ada."))
    _respond(stores, provider, conversation=conversation_id, input="Again?")
    assert [item["content"][0]["text"] for item in provider.sent[1]["input"]] == [
        "My name is Ada.",
        "Who am I?",
        "Hello Ada.",
        "Again?",
    ]
    assert provider.sent[1]["input"][2]["id"] == "msg_provider1"  # the provider's own item, by its id


def test_a_client_function_call_and_its_output_continue_the_conversation():
    stores = fake_stores()
    conversation_id = _conversation(stores)
    call = {"type": "function_call", "id": "fc_p", "call_id": "call_7", "name": "get_weather", "arguments": "{}"}
    provider = Provider(
        _response("", output=[call | {"status": "completed"}]),
        _response("It is sunny."),
    )
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    _respond(stores, provider, conversation=conversation_id, input="Weather?", tools=tools)
    _respond(
        stores,
        provider,
        conversation=conversation_id,
        input=[{"type": "function_call_output", "call_id": "call_7", "output": "sunny"}],
        tools=tools,
    )

    types = [item.get("type", "message") for item in provider.sent[1]["input"]]
    assert types == ["message", "function_call", "function_call_output"]
    listed = stores.conversations.list_items(conversation_id, PageRequest(order="asc")).data
    assert [item.type for item in listed] == ["message", "function_call", "function_call_output", "message"]


def test_a_second_response_on_a_held_conversation_is_refused_before_the_provider():
    stores = fake_stores()
    conversation_id = _conversation(stores, "Hi")
    provider = Provider()
    hold_of_another = {"conversation": conversation_id, "input": "first"}
    from threadrunner.app import conversation_turns

    turn, _ = conversation_turns.begin(stores, conversation_id, {"model": MODEL, **hold_of_another}, None, 30, 128_000)

    with pytest.raises(ConversationLocked) as refused:
        _respond(stores, provider, conversation=conversation_id, input="second")
    assert refused.value.code == "conversation_locked" and provider.sent == []
    with pytest.raises(ConversationLocked):
        conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "x"}]))
    conversation_turns.finish(stores, turn, _response("ok"))
    assert _texts(stores, conversation_id) == ["Hi", "first", "ok"]


def test_a_turn_is_appended_once_per_idempotency_key_and_a_retry_does_not_reach_the_provider():
    stores = fake_stores()
    conversation_id = _conversation(stores)
    provider = Provider(_response("Once."))
    _respond(stores, provider, key="retry-1", conversation=conversation_id, input="Say it once")

    with pytest.raises(TurnAnswered) as refused:
        _respond(stores, provider, key="retry-1", conversation=conversation_id, input="Say it once")
    assert refused.value.code == "idempotency_answer_unavailable" and len(provider.sent) == 1
    assert _texts(stores, conversation_id) == ["Say it once", "Once."]


@pytest.mark.parametrize(
    "answer",
    [
        ProviderAnswer(400, "application/json", b'{"error": {"message": "bad", "type": "invalid_request_error"}}'),
        _response("", status="failed"),
    ],
)
def test_a_response_the_provider_refused_or_failed_adds_nothing_and_lets_the_conversation_go(answer):
    stores = fake_stores()
    conversation_id = _conversation(stores, "Hi")

    _respond(stores, Provider(answer), conversation=conversation_id, input="lost")

    assert _texts(stores, conversation_id) == ["Hi"]
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


def test_a_conversation_past_the_context_is_refused_unless_truncation_is_auto_which_drops_the_oldest():
    stores = fake_stores()
    conversation_id = _conversation(stores, "a" * 4000, "b" * 4000, "c" * 4000)
    small = RunDefaults(context_tokens=4096 + 2500)  # the reply's room and about two of the items

    with pytest.raises(InvalidRequest) as refused:
        _respond(stores, Provider(), defaults=small, conversation=conversation_id, input="d")
    assert (refused.value.code, refused.value.param) == ("context_length_exceeded", "input")
    provider = Provider(_response("ok"))
    _respond(stores, provider, defaults=small, conversation=conversation_id, input="d", truncation="auto")
    assert [item["content"][0]["text"][0] for item in provider.sent[0]["input"]] == ["b", "c", "d"]
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


def test_truncation_never_sends_a_calls_output_without_its_call():
    stores = fake_stores()
    conversation_id = _conversation(stores, "x" * 8000)
    conversations.add_items(
        stores,
        conversation_id,
        ItemsCreate(
            items=[
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{" + " " * 6000 + "}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "done"},
                {"role": "assistant", "content": "Done."},
            ]
        ),
    )
    provider = Provider(_response("ok"))
    _respond(
        stores,
        provider,
        defaults=RunDefaults(context_tokens=4096 + 200),
        conversation=conversation_id,
        input="next",
        truncation="auto",
    )

    assert [item.get("type", "message") for item in provider.sent[0]["input"]] == ["message", "message"]


def test_a_bound_response_reserves_for_its_whole_history_and_a_spent_budget_lets_the_conversation_go():
    stores = fake_stores()
    conversation_id = _conversation(stores, "history " * 500)
    reserved: list[int] = []

    class Watching(Provider):
        def forward(self, *args: Any) -> ProviderAnswer:
            reserved.append(stores.usage.usage_today(today()).reserved)
            return super().forward(*args)

    provider = Watching(_response("ok"))
    _respond(stores, provider, conversation=conversation_id, input="hi", max_output_tokens=100)
    assert reserved[0] >= estimate_tokens("history " * 500) + 100
    assert stores.usage.usage_today(today()).usage.total_tokens == 15

    stores.projects.set_policy(ProjectPolicy(budget=Budget(daily_tokens=15)))
    with pytest.raises(BudgetExceeded):
        _respond(stores, provider, conversation=conversation_id, input="more")
    assert len(provider.sent) == 1
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}, "tools[0].type"),
        ({"tools": [{"type": "image_generation"}]}, "tools[0].type"),
        ({"background": True}, "background"),
        ({"previous_response_id": "resp_x"}, "previous_response_id"),
        ({"truncation": "sometimes"}, "truncation"),
        ({"conversation": 7}, "conversation"),
    ],
)
def test_what_a_conversation_cannot_hold_is_refused_before_anything_is_held(fields, param):
    stores = fake_stores()
    stores.projects.set_policy(ProjectPolicy(hosted_tools=["code_interpreter", "image_generation", "web_search"]))
    conversation_id = _conversation(stores, "Hi")
    provider = Provider()

    with pytest.raises(InvalidRequest) as refused:
        _respond(stores, provider, **({"conversation": conversation_id, "input": "x"} | fields))
    assert refused.value.param == param and provider.sent == []
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


def test_web_search_is_served_in_a_bound_response_when_the_project_may_use_it():
    stores = fake_stores()
    stores.projects.set_policy(ProjectPolicy(hosted_tools=["web_search"]))
    conversation_id = _conversation(stores)
    search = {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "q"},
    }
    provider = Provider(_response("Found.", output=[search]))

    _respond(stores, provider, conversation=conversation_id, input="Search", tools=[{"type": "web_search"}])

    assert [item.type for item in stores.conversations.newest_items(conversation_id)] == ["web_search_call", "message"]


def _events(*events: dict[str, Any], ending: bool = True) -> Iterator[str]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


def _streamed(text: str, ending: bool = True) -> ProviderAnswer:
    final = _response(text)
    events = [
        {"type": "response.created", "response": final | {"status": "in_progress", "output": []}},
        {"type": "response.output_text.delta", "delta": text},
    ]
    if ending:
        events.append({"type": "response.completed", "response": final})
    return ProviderAnswer(200, "text/event-stream", chunks=_events(*events))


def test_a_streamed_turn_relays_the_events_and_appends_at_the_end():
    stores = fake_stores()
    conversation_id = _conversation(stores, "Hi")

    answer = _respond(stores, Provider(_streamed("Hello!")), conversation=conversation_id, input="Stream", stream=True)
    assert isinstance(answer.body, Iterator)
    first = next(answer.body)
    assert _texts(stores, conversation_id) == ["Hi"]  # not before the end
    rest = "".join(answer.body)

    assert (
        first.startswith("event: response.created\ndata: ") and f'"conversation":{{"id":"{conversation_id}"}}' in first
    )
    assert "response.completed" in rest and _texts(stores, conversation_id) == ["Hi", "Stream", "Hello!"]


def test_a_client_that_leaves_a_streamed_turn_still_gets_it_appended_but_a_broken_stream_adds_nothing():
    stores = fake_stores()
    conversation_id = _conversation(stores)
    answer = _respond(stores, Provider(_streamed("Kept.")), conversation=conversation_id, input="Leave", stream=True)
    assert isinstance(answer.body, Iterator)
    next(answer.body)
    answer.body.close()  # the client went away after the first event
    assert _texts(stores, conversation_id) == ["Leave", "Kept."]
    assert stores.usage.usage_today(today()).usage.total_tokens == 15  # counted as the provider ended it

    broken = _respond(
        stores, Provider(_streamed("Lost.", ending=False)), conversation=conversation_id, input="Break", stream=True
    )
    "".join(broken.body)
    assert _texts(stores, conversation_id) == ["Leave", "Kept."]
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


def test_counting_a_bound_responses_input_tokens_sends_its_history_and_holds_nothing():
    stores = fake_stores()
    conversation_id = _conversation(stores, "Earlier")
    provider = Provider({"object": "response.input_tokens", "input_tokens": 3})
    call = Call(
        "responses.input_tokens",
        "POST",
        "/responses/input_tokens",
        {"model": MODEL, "conversation": conversation_id, "input": "Now"},
    )

    forward(stores, provider, RunDefaults(), call)

    assert [item["content"][0]["text"] for item in provider.sent[0]["input"]] == ["Earlier", "Now"]
    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))


# Threads as conversations -------------------------------------------------------------------------------------


def _thread(stores: Stores) -> Thread:
    thread = Thread(id=new_id("thread"), created_at=now())
    message = Message(
        id=new_id("msg"), created_at=now(), thread_id=thread.id, role="user", content=text_content("My name is Ada.")
    )
    stores.threads.create_thread(thread, [message])
    return thread


def test_a_response_continues_a_thread_whose_messages_the_assistants_api_then_shows():
    stores = fake_stores()
    thread = _thread(stores)
    provider = Provider(_response("Hello Ada."))

    _respond(stores, provider, conversation=thread.id, input="Who am I?")

    assert [item["content"][0]["text"] for item in provider.sent[0]["input"]] == ["My name is Ada.", "Who am I?"]
    shown = stores.threads.list_messages(thread.id, PageRequest(order="asc")).data
    assert [(m.role, m.text) for m in shown] == [
        ("user", "My name is Ada."),
        ("user", "Who am I?"),
        ("assistant", "Hello Ada."),
    ]


def test_a_thread_with_an_active_run_takes_no_response():
    stores = fake_stores()
    thread = _thread(stores)
    stores.runs.create_run(
        Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="asst_x", model=MODEL)
    )
    provider = Provider()

    with pytest.raises(RunActive):
        _respond(stores, provider, conversation=thread.id, input="Now?")
    assert provider.sent == []


def test_a_threads_image_file_is_left_out_of_what_a_response_sends_the_provider():
    stores = fake_stores()
    thread = Thread(id=new_id("thread"), created_at=now())
    content = [
        {"type": "text", "text": {"value": "Look", "annotations": []}},
        {"type": "image_file", "image_file": {"file_id": "file-threadrunners", "detail": "auto"}},
    ]
    message = Message.model_validate(
        {"id": new_id("msg"), "created_at": now(), "thread_id": thread.id, "role": "user", "content": content}
    )
    stores.threads.create_thread(thread, [message])
    provider = Provider(_response("ok"))

    _respond(stores, provider, conversation=thread.id, input="And?")

    assert provider.sent[0]["input"][0]["content"] == [{"type": "input_text", "text": "Look"}]
    listed = stores.conversations.list_items(thread.id, PageRequest(order="asc")).data[0]
    assert listed.data["content"][1] == {"type": "input_image", "file_id": "file-threadrunners", "detail": "auto"}


def test_a_turn_the_table_cannot_hold_is_refused_and_leaves_the_conversation_free(monkeypatch):
    stores = fake_stores()
    conversation_id = _conversation(stores, "Hi")

    def too_large(*args: Any) -> bool:
        raise InvalidRequest("The request holds data that cannot be stored: an object over 400 KB.")

    monkeypatch.setattr(stores.conversations, "append_turn", too_large)
    with pytest.raises(InvalidRequest):
        _respond(stores, Provider(_response("x" * 10)), conversation=conversation_id, input="Big")
    monkeypatch.undo()

    conversations.add_items(stores, conversation_id, ItemsCreate(items=[{"role": "user", "content": "free"}]))
    assert _texts(stores, conversation_id) == ["Hi", "free"]


def test_updating_metadata_replaces_it_and_null_leaves_it():
    from threadrunner.app.requests.conversations import ConversationUpdate

    stores = fake_stores()
    conversation_id = conversations.create_conversation(stores, ConversationCreate(metadata={"a": "1"})).id

    assert conversations.update_conversation(stores, conversation_id, ConversationUpdate(metadata=None)).metadata == {
        "a": "1"
    }
    changed = conversations.update_conversation(stores, conversation_id, ConversationUpdate(metadata={"b": "2"}))
    assert changed.metadata == {"b": "2"}
    with pytest.raises(ValueError):
        ConversationUpdate.model_validate({})  # the spec requires it
