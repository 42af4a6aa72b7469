"""Validation problems answered in the hosted API's words, naming the parameter as the caller wrote it."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from threadrunner.api.errors import from_validation
from threadrunner.app.requests.assistants import AssistantCreate
from threadrunner.app.requests.messages import MessageCreate
from threadrunner.app.requests.vector_stores import VectorStoreSearch


def _error(model: type[BaseModel], body: dict) -> dict:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    problems = [dict(e, loc=("body", *e["loc"])) for e in raised.value.errors()]  # as the resolver locates them
    return json.loads(from_validation(RequestValidationError(problems), body).body)["error"]


@pytest.mark.parametrize(
    ("model", "body", "param", "message"),
    [
        (MessageCreate, {"role": "user", "content": 5}, "content", "Invalid type for 'content': expected a string"),
        (
            MessageCreate,
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            "content[0].image_url.url",
            "Invalid value for 'content[0].image_url.url': expected the URL of an image",
        ),
        (VectorStoreSearch, {"query": 5}, "query", "Invalid type for 'query': expected a string"),
        (VectorStoreSearch, {"query": ["a", 5]}, "query[1]", "Invalid type for 'query[1]': expected a string"),
        (AssistantCreate, {"model": "m", "metadata": {"str": 5}}, "metadata.str", "Invalid type for 'metadata.str'"),
    ],
)
def test_a_value_of_no_member_of_a_union_is_named_without_pydantics_names_of_the_members(model, body, param, message):
    error = _error(model, body)

    assert error["param"] == param and error["message"].startswith(message)


def test_two_problems_in_one_tool_report_the_first():
    body = {"model": "m", "tools": [{"type": "function", "function": {"description": 5}}]}

    assert _error(AssistantCreate, body)["param"] == "tools[0].function.name"
