"""The Conversations API and ``responses.create(conversation=...)`` through the unmodified openai SDK: threadrunner
keeps the conversation and assembles each response's input, so the provider stores nothing; the same turns work
against the offline model with its response store off."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.e2e.helpers import WEATHER_FUNCTION, wait_for

MODEL = "gpt-4.1-mini"


@pytest.fixture(params=["stored", "store off"])
def provider_store(request: pytest.FixtureRequest, stack: Any) -> Iterator[str]:
    """The offline model with its response store (as OpenAI's), and without (as vLLM's by default)."""
    assert stack.model_server is not None
    model = stack.model_server.model
    model.store = request.param == "stored"
    try:
        yield request.param
    finally:
        model.store = True


def _texts(client: openai.OpenAI, conversation_id: str) -> list[tuple[str, str]]:
    """Each item's type, and the text of a message."""
    shown = []
    for item in client.conversations.items.list(conversation_id, order="asc", limit=100):
        text = "".join(getattr(part, "text", "") for part in item.content) if item.type == "message" else ""
        shown.append((item.type, text))
    return shown


def test_three_turns_on_a_conversation_the_third_answered_from_the_first(project_client, model, provider_store, marker):
    client, _ = project_client
    conversation = client.conversations.create(
        items=[
            {"type": "message", "role": "developer", "content": "Answer briefly."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Hello {marker}"}]},
        ],
        metadata={"topic": "colours"},
    )
    assert (conversation.object, conversation.metadata) == ("conversation", {"topic": "colours"})

    turns = ["My favourite colour is teal.", "I live in Lisbon.", "What colour did I say was my favourite, earlier?"]
    answers = [client.responses.create(model=MODEL, conversation=conversation.id, input=text) for text in turns]

    assert answers[2].output_text.startswith('Earlier you said: "My favourite colour is teal."')
    assert [answer.conversation.id for answer in answers] == [conversation.id] * 3
    items = _texts(client, conversation.id)
    assert items[:2] == [("message", "Answer briefly."), ("message", f"Hello {marker}")]
    assert [text for _, text in items[2::2]] == turns and [text for _, text in items[3::2]] == [
        answer.output_text for answer in answers
    ]
    sent = model.requests_about(marker)
    assert len(sent) == 3 and len(sent[-1]["input"]) == 7  # the whole conversation, and the new input
    assert all("previous_response_id" not in request and "conversation" not in request for request in sent)
    if provider_store == "store off":  # the provider kept nothing; threadrunner needed nothing of it
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(answers[0].id)
        with pytest.raises(openai.BadRequestError, match="response store"):
            client.responses.create(model=MODEL, input=f"In the background {marker}", background=True)


def test_a_function_call_is_answered_by_the_client_inside_the_conversation(project_client, provider_store):
    client, _ = project_client
    conversation = client.conversations.create()

    asked = client.responses.create(
        model=MODEL,
        conversation={"id": conversation.id},
        input="What's the weather in Paris?",
        tools=[{"type": "function", **WEATHER_FUNCTION}],
    )
    (call,) = [item for item in asked.output if item.type == "function_call"]
    answered = client.responses.create(
        model=MODEL,
        conversation=conversation.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature": 18}'}],
        tools=[{"type": "function", **WEATHER_FUNCTION}],
    )

    assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
    assert "temperature: 18" in answered.output_text
    listed = list(client.conversations.items.list(conversation.id, order="asc"))
    assert [item.type for item in listed] == ["message", "function_call", "function_call_output", "message"]
    assert listed[1].call_id == listed[2].call_id == call.call_id and listed[2].output == '{"temperature": 18}'


def test_a_streamed_turn_relays_the_providers_events_and_appends_at_the_end(project_client, provider_store):
    client, _ = project_client
    conversation = client.conversations.create(items=[{"type": "message", "role": "user", "content": "Hi"}])

    with client.responses.stream(model=MODEL, conversation=conversation.id, input="Stream this") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert len(deltas) > 1 and "".join(deltas) == final.output_text
    assert final.conversation.id == conversation.id
    assert _texts(client, conversation.id) == [
        ("message", "Hi"),
        ("message", "Stream this"),
        ("message", final.output_text),
    ]


def test_a_turn_retried_with_the_same_idempotency_key_adds_nothing_twice(project_client, model, marker):
    client, _ = project_client
    conversation = client.conversations.create()
    key = {"Idempotency-Key": "turn-" + secrets.token_hex(4)}

    first = client.responses.create(
        model=MODEL, conversation=conversation.id, input=f"Once {marker}", extra_headers=key
    )
    again = client.responses.create(
        model=MODEL, conversation=conversation.id, input=f"Once {marker}", extra_headers=key
    )
    streamed_key = {"Idempotency-Key": "turn-" + secrets.token_hex(4)}
    "".join(
        event.type
        for event in client.responses.create(
            model=MODEL,
            conversation=conversation.id,
            input=f"Streamed {marker}",
            stream=True,
            extra_headers=streamed_key,
        )
    )
    with pytest.raises(openai.ConflictError) as refused:
        client.responses.create(
            model=MODEL,
            conversation=conversation.id,
            input=f"Streamed {marker}",
            stream=True,
            extra_headers=streamed_key,
        )

    assert again.id == first.id and again.output_text == first.output_text
    assert refused.value.code == "idempotency_answer_unavailable"
    assert len(model.requests_about(marker)) == 2  # neither retry reached the provider
    assert [text for _, text in _texts(client, conversation.id)][::2] == [f"Once {marker}", f"Streamed {marker}"]


def test_items_are_listed_in_pages_both_ways_and_read_and_deleted_one_by_one(project_client):
    client, _ = project_client
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": f"m{n}"} for n in range(20)]
    )
    added = client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": f"m{n}"} for n in range(20, 25)]
    )

    first = client.conversations.items.list(conversation.id, limit=10, order="asc")
    every = [item.id for item in client.conversations.items.list(conversation.id, limit=10, order="asc")]
    newest = [item.id for item in client.conversations.items.list(conversation.id, limit=7)]

    assert len(first.data) == 10 and first.has_more and first.last_id == first.data[-1].id
    assert len(every) == 25 and every[-5:] == [item.id for item in added.data]
    assert newest == every[::-1]
    assert client.conversations.items.retrieve(every[3], conversation_id=conversation.id).content[0].text == "m3"
    assert client.conversations.items.delete(every[3], conversation_id=conversation.id).id == conversation.id
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(every[3], conversation_id=conversation.id)
    updated = client.conversations.update(conversation.id, metadata={"stage": "two"})
    assert updated.metadata == {"stage": "two"} == client.conversations.retrieve(conversation.id).metadata
    assert client.conversations.delete(conversation.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)


def test_another_projects_conversation_answers_404(client, project_client, model, marker):
    theirs, _ = project_client
    conversation = theirs.conversations.create(items=[{"type": "message", "role": "user", "content": "private"}])

    for attempt in (
        lambda: client.conversations.retrieve(conversation.id),
        lambda: client.conversations.items.list(conversation.id),
        lambda: client.conversations.items.create(conversation.id, items=[{"role": "user", "content": "x"}]),
        lambda: client.conversations.delete(conversation.id),
        lambda: client.responses.create(model=MODEL, conversation=conversation.id, input=f"Read it {marker}"),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert model.requests_about(marker) == []
    assert _texts(theirs, conversation.id) == [("message", "private")]


def test_two_responses_at_once_on_one_conversation_do_not_interleave(project_client, model, marker):
    client, _ = project_client
    conversation = client.conversations.create()
    model.inject("slow", f"first {marker}", seconds=60)  # the first holds the conversation until released
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(
            client.responses.create(model=MODEL, conversation=conversation.id, input=f"first {marker}")
        )
    )
    first.start()
    wait_for(lambda: model.requests_about(f"first {marker}"))  # the first holds the conversation: it reached the model

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODEL, conversation=conversation.id, input=f"second {marker}")
    assert model.release(f"first {marker}") == 1
    first.join()

    assert refused.value.code == "conversation_locked"
    assert [text for _, text in _texts(client, conversation.id)] == [f"first {marker}", answers[0].output_text]
    client.responses.create(model=MODEL, conversation=conversation.id, input=f"second {marker}")  # free again


def test_hosted_tools_whose_items_a_conversation_cannot_hold_are_refused(stack, project_client, model, marker):
    client, project = project_client
    from threadrunner.domain.budget import ProjectPolicy

    stack.stores(project).projects.set_policy(ProjectPolicy(hosted_tools=["code_interpreter", "image_generation"]))
    conversation = client.conversations.create()

    for tool in ({"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "image_generation"}):
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(model=MODEL, conversation=conversation.id, input=f"Draw {marker}", tools=[tool])
        assert refused.value.param == "tools[0].type"
    assert model.requests_about(marker) == [] and _texts(client, conversation.id) == []
