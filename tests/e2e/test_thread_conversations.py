"""One history, two protocols: a thread written through the Assistants API reads as a conversation's items and is
continued by ``responses.create(conversation=thread_id)``; its runs then see what the response added."""

from __future__ import annotations

import openai
import pytest

from tests.e2e.helpers import WEATHER_FUNCTION, wait_for

MODEL = "gpt-4.1-mini"


def test_a_threads_history_reads_as_items_and_a_response_continues_it(project_client, model, marker):
    client, _ = project_client
    assistant = client.beta.assistants.create(model=MODEL, tools=[{"type": "function", "function": WEATHER_FUNCTION}])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"What's the weather in Paris? {marker}"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": '{"temperature": 18}'}]
    )
    assert run.status == "completed"

    items = list(client.conversations.items.list(thread.id, order="asc"))
    assert [item.type for item in items] == ["message", "function_call", "function_call_output", "message"]
    assert items[0].role == "user" and items[0].content[0].text == f"What's the weather in Paris? {marker}"
    assert (items[1].call_id, items[1].name, items[2].output) == (call.id, "get_weather", '{"temperature": 18}')
    assert items[3].role == "assistant" and "temperature: 18" in items[3].content[0].text
    assert client.conversations.retrieve(thread.id).id == thread.id

    answer = client.responses.create(model=MODEL, conversation=thread.id, input="What did I ask you before?")

    assert answer.output_text.startswith(f'Earlier you said: "What\'s the weather in Paris? {marker}"')
    sent = model.requests_about(marker)[-1]["input"]
    assert [item.get("type", "message") for item in sent] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
        "message",
    ]
    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in messages[-2:]] == [
        ("user", "What did I ask you before?"),
        ("assistant", answer.output_text),
    ]
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"
    assert model.requests_about(marker)[-1]["input"][-1]["content"] == answer.output_text  # the run read it


def test_a_thread_held_by_a_run_takes_no_response(project_client, model, marker):
    client, _ = project_client
    model.inject("slow", marker, seconds=60)  # the run holds its thread until the test releases its response
    assistant = client.beta.assistants.create(model=MODEL)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODEL, conversation=thread.id, input="Me too")
    assert run.id in refused.value.message
    wait_for(lambda: model.release(marker))  # once the run's response exists
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "completed"
