"""The offline model's policy is deterministic and does what its documentation says."""

from __future__ import annotations

import json

from threadrunner_local.model_policy import decide, entities, formatted

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}


def test_names_become_one_call_each():
    assert entities("What's the weather in San Francisco and New York?") == ["San Francisco", "New York"]
    decision = decide([WEATHER], "Weather in Paris and Tokyo, in fahrenheit please", [])
    assert decision.calls == [
        ("get_weather", {"city": "Paris", "unit": "fahrenheit"}),
        ("get_weather", {"city": "Tokyo", "unit": "fahrenheit"}),
    ]
    assert len(decide([WEATHER], "Weather in Paris and Tokyo", [], parallel=False).calls) == 1


def test_no_matching_tool_or_tool_choice_none_gives_text():
    assert decide([WEATHER], "Tell me a joke", []).text.startswith('You said: "Tell me a joke"')
    assert decide([WEATHER], "Weather in Paris", [], tool_choice="none").calls == []


def test_outputs_become_the_answer_and_a_next_cursor_pages_on():
    answer = decide([WEATHER], "", [("get_weather", {"city": "Oslo"}, '{"city": "Oslo", "temperature": 3}')])
    assert answer.text == "Here is what the tools returned. get_weather returned city: Oslo, temperature: 3."
    again = decide([], "", [("paginate", {"topic": "x"}, '{"items": [], "next_cursor": 2}')])
    assert again.calls == [("paginate", {"topic": "x", "cursor": 2})]


def test_json_formats_are_valid_json():
    assert json.loads(formatted("hi", {"type": "json_object"})) == {"reply": "hi"}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}}}
    assert json.loads(formatted("hi", {"type": "json_schema", "name": "x", "schema": schema})) == {
        "answer": "hi",
        "score": 1,
    }
