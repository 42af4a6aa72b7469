"""Function tools are the client's, whatever their names; server tools are chosen by name (``threadrunner:``)."""

from __future__ import annotations

import json

import openai
import pytest

import tests.support.tools  # noqa: F401 - registers the test tools the stack's ToolFunction serves
import threadrunner.tools  # noqa: F401 - registers the examples
from tests.e2e.helpers import reply, server_tool, steps
from threadrunner.domain.tools import default_registry

CLIENT_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get current weather for a location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City and state"}},
            "required": ["location"],
        },
    },
}
"""The client's own get_weather, with arguments the server's get_weather does not take."""


def test_a_client_function_named_like_a_server_tool_stays_the_clients(client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[CLIENT_WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Lisbon?"}])

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"location": "Lisbon"})
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": '{"celsius": 21}'}]
    )
    assert done.status == "completed" and "celsius: 21" in reply(client, thread).content[0].text.value


def test_an_assistant_that_names_the_server_tool_has_it_run_on_the_server(client, model, marker):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("get_weather")])
    assert assistant.tools[0].function.name == "threadrunner:get_weather"
    text = f"What's the weather in Lisbon? ({marker})"
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "completed"
    (step,) = [step for step in steps(client, run) if step.type == "tool_calls"]
    (call,) = step.step_details.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.output)["city"] == "Lisbon"
    sent = model.requests_about(marker)[0]
    # The model sees the registry's name, description and schema.
    expected = default_registry.definition("get_weather")
    (offered,) = sent["tools"]
    assert (offered["name"], offered["description"], offered["parameters"]) == (
        "get_weather",
        expected.description,
        expected.parameters,
    )


def test_a_run_can_swap_the_assistants_client_function_for_the_server_tool(client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[CLIENT_WEATHER])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "What's the weather in Oslo?"}]},
        tools=[server_tool("get_weather")],
    )
    assert run.status == "completed" and [tool.function.name for tool in run.tools] == ["threadrunner:get_weather"]


def test_a_tool_choice_can_force_a_server_tool_and_must_name_a_declared_function(client, model, marker):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("get_weather")])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello there, Lisbon ({marker})"}])
    forced = {"type": "function", "function": {"name": "threadrunner:get_weather"}}

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, tool_choice=forced)

    assert run.status == "completed" and run.tool_choice.function.name == "threadrunner:get_weather"
    first, following = [r for r in model.requests() if r.get("metadata", {}).get("run_id") == run.id]
    assert first["tool_choice"] == {"type": "function", "name": "get_weather"}  # the name the model knows
    assert following["tool_choice"] == "auto"  # the answer to the outputs may reply
    with pytest.raises(openai.BadRequestError) as refused:
        client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},  # not the declared name
        )
    assert refused.value.body["param"] == "tool_choice"


def test_server_tools_are_checked_when_they_are_declared(client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create()
    cases = [
        (lambda: client.beta.assistants.create(model="m", tools=[server_tool("no_such_tool")]), "No server tool"),
        (
            lambda: client.beta.assistants.update(assistant.id, tools=[CLIENT_WEATHER, server_tool("nope")]),
            "No server tool named 'nope'",
        ),
        (
            lambda: client.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=assistant.id, tools=[server_tool("nope")]
            ),
            "No server tool",
        ),
        (
            lambda: client.beta.assistants.create(model="m", tools=[CLIENT_WEATHER, server_tool("get_weather")]),
            "unique names: get_weather",
        ),
        (
            lambda: client.beta.assistants.create(
                model="m",
                tools=[{"type": "function", "function": {"name": "threadrunner:get_weather", "parameters": {}}}],
            ),
            "declare it by name only",
        ),
    ]
    for call, message in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert message in caught.value.message
    assert client.beta.assistants.retrieve(assistant.id).tools == []  # the refused update changed nothing
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []


def test_the_catalogue_lists_the_registry(stack):
    status, catalogue = stack.api("GET", "/server_tools")

    assert status == 200 and catalogue["object"] == "list" and not catalogue["has_more"]
    # The deployment's tools (the project's own Lambda tools, which other tests register, are listed too).
    listed = {tool["id"]: tool for tool in catalogue["data"] if tool["scope"] == "deployment"}
    assert set(listed) == {f"threadrunner:{d.name}" for d in default_registry.definitions()}
    weather = default_registry.definition("get_weather")
    assert listed["threadrunner:get_weather"] == {
        "id": "threadrunner:get_weather",
        "object": "server_tool",
        "name": "get_weather",
        "description": weather.description,
        "parameters": weather.parameters,
        "scope": "deployment",
        **dict.fromkeys(("function_arn", "timeout_seconds", "retry", "output_schema", "created_at")),
    }
