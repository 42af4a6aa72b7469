"""The offline model reads a whole conversation sent as input (a response threadrunner assembled from a
conversation): it answers the last turn, remembers what the user said earlier, and can do without its store."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.test_offline_model_policy import WEATHER
from threadrunner_local.model_recall import recall
from threadrunner_local.model_server import OfflineModel

TOOL = WEATHER


def _said(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def _reply(model: OfflineModel, items: list[dict[str, Any]], **request: Any) -> dict[str, Any]:
    stored = model.create({"model": "m", "input": items, **request})
    return model.view(stored, at=stored.finish_at)


def _text(response: dict[str, Any]) -> str:
    return "".join(part["text"] for item in response["output"] if item["type"] == "message" for part in item["content"])


def test_a_question_about_an_earlier_turn_is_answered_from_the_whole_conversation():
    history = [
        _said("user", "My favourite colour is teal."),
        _said("assistant", "Noted."),
        _said("user", "I live in Lisbon."),
        _said("assistant", "Nice."),
        _said("user", "What colour did I say was my favourite, earlier?"),
    ]

    answer = _text(_reply(OfflineModel(latency=0), history))

    assert answer.startswith('Earlier you said: "My favourite colour is teal."')
    assert recall(["I live in Lisbon.", "Where do I live?"]) is None  # no cue that points back
    assert recall(["Where do I live? Remember?"]) is None  # nothing earlier


def test_only_the_outputs_after_the_users_last_message_are_answered():
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    earlier = [
        _said("user", "Weather in Paris?"),
        call,
        {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature": 21}'},
        _said("assistant", "get_weather returned temperature: 21."),
    ]
    model = OfflineModel(latency=0)

    answered = _text(_reply(model, earlier[:3], tools=[TOOL]))
    later = _reply(model, [*earlier, _said("user", "Tell me a joke")], tools=[TOOL])

    assert "temperature: 21" in answered
    assert _text(later).startswith('You said: "Tell me a joke"')


def test_without_its_store_it_answers_and_forgets():
    model = OfflineModel(latency=0, store=False)

    response = _reply(model, [_said("user", "Hello")])

    assert _text(response).startswith('You said: "Hello"') and response["store"] is False
    assert model.responses == {}
    assert json.loads(json.dumps(response))["status"] == "completed"


def test_it_starts_with_its_store_off_when_the_stack_is_told_so(monkeypatch):
    from threadrunner_local.model_server import OfflineModelServer
    from threadrunner_local.stack import StackConfig

    monkeypatch.setenv("OFFLINE_MODEL_STORE", "off")
    assert StackConfig.from_environment().model_store is False
    monkeypatch.setenv("OFFLINE_MODEL_STORE", "on")
    assert StackConfig.from_environment().model_store is True
    assert OfflineModelServer(store=False).model.store is False
