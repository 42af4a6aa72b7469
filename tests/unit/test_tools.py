"""The tool registry: schemas from pydantic models, and every failure turned into an output."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import BaseModel, Field

from threadrunner.domain.tools import ToolRegistry


class Args(BaseModel):
    city: str = Field(description="A city")
    days: int = Field(1, ge=1, le=7)


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool(timeout_seconds=0.2)
    def forecast(args: Args) -> dict:
        """Forecast the weather.

        More text that the model does not see.
        """
        if args.city == "Atlantis":
            raise LookupError("no such city")
        if args.city == "Slowtown":
            time.sleep(2)
        if args.city == "Loopville":
            loop: dict = {"city": args.city}
            loop["self"] = loop  # not JSON on purpose
            return loop
        return {"city": args.city, "days": args.days}

    return registry


def test_the_definition_comes_from_the_docstring_and_the_model(registry):
    (definition,) = registry.definitions()
    assert definition.name == "forecast"
    assert definition.description == "Forecast the weather."
    assert definition.parameters["required"] == ["city"]
    assert definition.parameters["properties"]["days"]["maximum"] == 7


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Oslo", "days": 2}', {"city": "Oslo", "days": 2}),
        (
            '{"city": "Oslo", "days": 9}',
            {"error": "invalid arguments for forecast: days: Input should be less than or equal to 7"},
        ),
        ("{not json", None),
        ('{"city": "Atlantis"}', {"error": "forecast raised LookupError: no such city"}),
        ('{"city": "Slowtown"}', {"error": "forecast timed out after 0.2 s"}),
        ("{}", {"error": "invalid arguments for forecast: city: Field required"}),
    ],
)
def test_every_failure_becomes_an_error_output(registry, arguments, expected):
    result = registry.execute("forecast", arguments)
    output = json.loads(result.output)
    if expected is None:
        assert result.is_error and output["error"].startswith("invalid arguments for forecast: arguments: Invalid JSON")
    else:
        assert output == expected
        assert result.is_error == ("error" in expected)


def test_unknown_tools_and_unserialisable_results_are_errors(registry):
    assert json.loads(registry.execute("nope", "{}").output) == {"error": "no server-side tool named 'nope'"}
    result = registry.execute("forecast", '{"city": "Loopville"}')
    assert result.is_error and "not JSON" in json.loads(result.output)["error"]


def test_a_tool_must_take_one_pydantic_model_and_names_are_unique(registry):
    with pytest.raises(TypeError):
        registry.tool()(lambda city: city)
    with pytest.raises(ValueError, match="already registered"):

        @registry.tool(name="forecast")
        def other(args: Args) -> str:
            return ""
