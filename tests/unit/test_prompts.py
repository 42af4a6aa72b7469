"""Prompts on fakes: versions, and ``prompt`` in a response's request filled from them or from an assistant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import fake_stores
from tests.unit.test_conversations import MODEL, Provider, _response
from threadrunner.app import prompts
from threadrunner.app.forwarding import Call, forward
from threadrunner.app.requests.prompts import PromptCreate
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import ProjectPolicy
from threadrunner.domain.common import now
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.ids import new_id
from threadrunner.errors import InvalidRequest, NotFound
from threadrunner.ports import Stores

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}


def _respond(stores: Stores, provider: Provider, **body: Any) -> dict[str, Any]:
    answer = forward(stores, provider, RunDefaults(), Call("responses", "POST", "/responses", body))
    return json.loads(answer.body)  # type: ignore[arg-type]


def _prompt(stores: Stores) -> str:
    made = prompts.create_prompt(
        stores,
        PromptCreate(instructions="You answer for {{ city }} in {{tone}} words.", model="gpt-4.1", tools=[WEATHER]),
    )
    assert made.variables == ["city", "tone"] and made.version == "1"
    return made.id


def test_a_prompt_fills_the_instructions_and_gives_its_model_and_tools_where_the_request_gives_none():
    stores = fake_stores()
    prompt_id = _prompt(stores)
    provider = Provider(_response("ok"), _response("ok"))
    reference = {"id": prompt_id, "variables": {"city": "Lisbon", "tone": {"type": "input_text", "text": "few"}}}

    shown = _respond(stores, provider, prompt=reference, input="Weather?")
    _respond(stores, provider, prompt=reference, input="Weather?", model=MODEL, tools=[], instructions="Mine.")

    first, second = provider.sent
    assert "prompt" not in first
    assert (first["instructions"], first["model"], first["tools"]) == (
        "You answer for Lisbon in few words.",
        "gpt-4.1",
        [WEATHER],
    )
    assert (second["instructions"], second["model"], second["tools"]) == ("Mine.", MODEL, [])
    assert shown["prompt"] == reference | {"version": "1"}


def test_a_prompt_uses_its_latest_version_unless_the_request_names_one():
    stores = fake_stores()
    prompt_id = _prompt(stores)
    prompts.add_version(stores, prompt_id, PromptCreate(instructions="Version two.", model="gpt-4.1"))
    provider = Provider(_response("ok"), _response("ok"))

    latest = _respond(stores, provider, prompt={"id": prompt_id})
    _respond(stores, provider, prompt={"id": prompt_id, "version": "1", "variables": {"city": "Oslo", "tone": "no"}})

    assert [sent["instructions"] for sent in provider.sent] == ["Version two.", "You answer for Oslo in no words."]
    assert latest["prompt"]["version"] == "2"


@pytest.mark.parametrize(
    ("reference", "error", "param"),
    [
        ({"id": "PROMPT", "variables": {"city": "Oslo"}}, InvalidRequest, "prompt.variables"),
        (
            {"id": "PROMPT", "variables": {"city": "Oslo", "tone": "dry", "extra": "x"}},
            InvalidRequest,
            "prompt.variables",
        ),
        (
            {
                "id": "PROMPT",
                "variables": {"city": {"type": "input_image", "image_url": "https://x/y.png"}, "tone": "a"},
            },
            InvalidRequest,
            "prompt.variables.city",
        ),
        ({"id": "PROMPT", "version": "7"}, NotFound, "prompt.version"),
        ({"id": "pmpt_operators_dashboard"}, NotFound, "prompt.id"),
        ({"id": "asst_unknown"}, NotFound, "prompt.id"),
        ({"version": "1"}, InvalidRequest, "prompt.id"),
        ({"id": "PROMPT", "version": 2}, InvalidRequest, "prompt.version"),
    ],
)
def test_a_prompt_that_cannot_be_filled_is_refused_before_the_provider(reference, error, param):
    stores = fake_stores()
    prompt_id = _prompt(stores)
    provider = Provider()
    reference = {key: prompt_id if value == "PROMPT" else value for key, value in reference.items()}

    with pytest.raises(error) as refused:
        _respond(stores, provider, prompt=reference, input="x")
    assert refused.value.param == param and provider.sent == []


def _assistant(stores: Stores, **fields: Any) -> Assistant:
    assistant = Assistant.model_validate(
        {
            "id": new_id("asst"),
            "created_at": now(),
            "model": "gpt-4.1",
            "instructions": "You are {{ the }} weather desk.",
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        }
        | fields
    )
    stores.assistants.put_assistant(assistant)
    return assistant


def test_an_assistants_id_is_a_prompt_of_its_instructions_model_and_tools():
    stores = fake_stores()
    assistant = _assistant(stores)
    provider = Provider(_response("ok"))

    shown = _respond(stores, provider, prompt={"id": assistant.id}, input="Weather in Oslo?")

    (sent,) = provider.sent
    assert (sent["instructions"], sent["model"]) == ("You are {{ the }} weather desk.", "gpt-4.1")
    assert sent["tools"] == [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    assert shown["prompt"] == {"id": assistant.id, "version": None, "variables": None}


def test_an_assistant_whose_tools_only_runs_serve_is_refused_as_a_prompt_and_its_code_interpreter_needs_leave():
    stores = fake_stores()
    searching = _assistant(stores, tools=[{"type": "file_search"}])
    serving = _assistant(stores, tools=[{"type": "function", "function": {"name": "threadrunner:get_weather"}}])
    coding = _assistant(stores, tools=[{"type": "code_interpreter"}])
    provider = Provider(_response("ok"))

    for assistant, used in ((searching, "file_search"), (serving, "threadrunner:get_weather")):
        with pytest.raises(InvalidRequest, match=used) as refused:
            _respond(stores, provider, prompt={"id": assistant.id})
        assert refused.value.param == "prompt.id"
    with pytest.raises(InvalidRequest) as refused:
        _respond(stores, provider, prompt={"id": coding.id})
    assert refused.value.code == "tool_not_allowed" and provider.sent == []
    stores.projects.set_policy(ProjectPolicy(hosted_tools=["code_interpreter"]))
    _respond(stores, provider, prompt={"id": coding.id})
    assert provider.sent[0]["tools"] == [{"type": "code_interpreter", "container": {"type": "auto"}}]
    with pytest.raises(InvalidRequest):
        _respond(stores, provider, prompt={"id": coding.id, "version": "1"})


def test_a_prompts_variables_are_filled_once_so_a_value_holding_braces_stays_text():
    stores = fake_stores()
    prompt_id = _prompt(stores)
    provider = Provider(_response("ok"))

    _respond(stores, provider, prompt={"id": prompt_id, "variables": {"city": "{{tone}}", "tone": "plain"}})

    assert provider.sent[0]["instructions"] == "You answer for {{tone}} in plain words."
