"""Prompts that broke on 2026-11-30 run again: ``responses.create(prompt=...)`` with the unmodified openai SDK names a
prompt kept in threadrunner (made through the ``/v1/prompts`` extension) or an assistant."""

from __future__ import annotations

import openai
import pytest

from tests.e2e.helpers import WEATHER_FUNCTION

MODEL = "gpt-4.1-mini"


def test_a_prompt_made_through_the_extension_is_used_with_variables_and_versions(stack, project_client, model, marker):
    client, _ = project_client
    status, made = stack.api(
        "POST",
        "/prompts",
        {"name": "desk", "instructions": "You are the {{desk}} desk of " + marker + ".", "model": MODEL},
        key=client.api_key,
    )
    assert status == 200 and (made["object"], made["version"], made["variables"]) == ("prompt", "1", ["desk"])

    answer = client.responses.create(prompt={"id": made["id"], "variables": {"desk": "weather"}}, input="Hello")
    status, second = stack.api(
        "POST",
        f"/prompts/{made['id']}/versions",
        {"instructions": f"Version two of {marker}.", "model": MODEL},
        key=client.api_key,
    )
    latest = client.responses.create(prompt={"id": made["id"]}, input="Hello again")
    pinned = client.responses.create(
        prompt={"id": made["id"], "version": "1", "variables": {"desk": "news"}}, input="Hello once more"
    )

    sent = model.requests_about("Hello")
    assert [request["instructions"] for request in sent[-3:]] == [
        f"You are the weather desk of {marker}.",
        f"Version two of {marker}.",
        f"You are the news desk of {marker}.",
    ]
    assert (answer.prompt.id, answer.prompt.version, latest.prompt.version, pinned.prompt.version) == (
        made["id"],
        "1",
        "2",
        "1",
    )
    status, versions = stack.api("GET", f"/prompts/{made['id']}/versions?order=asc", key=client.api_key)
    assert status == 200 and [v["version"] for v in versions["data"]] == ["1", "2"] and second["version"] == "2"
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(prompt={"id": made["id"], "version": "1"}, input="No variables")
    assert refused.value.param == "prompt.variables"


def test_an_assistants_id_is_a_prompt_of_its_instructions_model_and_tools(project_client, model, marker):
    client, _ = project_client
    assistant = client.beta.assistants.create(
        model=MODEL,
        instructions=f"You are the weather desk {marker}.",
        tools=[{"type": "function", "function": WEATHER_FUNCTION}],
    )

    answer = client.responses.create(prompt={"id": assistant.id}, input="What's the weather in Paris?")

    (sent,) = model.requests_about("What's the weather in Paris?")[-1:]
    assert sent["instructions"] == f"You are the weather desk {marker}." and sent["model"] == MODEL
    (call,) = [item for item in answer.output if item.type == "function_call"]
    assert (call.name, call.arguments) == ("get_weather", '{"city": "Paris"}')
    assert answer.prompt.id == assistant.id
