"""A tenant's JSON schema fetches nothing, runs its patterns in linear time, and is checked when it arrives."""

from __future__ import annotations

import urllib.request

import fastjsonschema
import pytest

from threadrunner.domain import json_schema


@pytest.fixture(autouse=True)
def no_fetching(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a schema fetched {args[0]!r}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize(
    "reference",
    ["http://169.254.169.254/latest/meta-data", "https://example.com/s.json", "file:///etc/passwd", "other.json"],
)
def test_given_a_reference_outside_the_schema_when_checked_then_it_is_refused(reference):
    with pytest.raises(ValueError, match="only references into the schema itself"):
        json_schema.check({"type": "object", "properties": {"a": {"$ref": reference}}})


def test_given_an_id_that_moves_the_base_uri_when_checked_then_it_is_refused():
    with pytest.raises(ValueError, match=r"\$id may not set a base URI"):
        json_schema.check({"$id": "http://example.com/root.json", "properties": {"a": {"$ref": "#/definitions/x"}}})


def test_given_a_schema_the_check_missed_when_validating_then_remote_references_still_fetch_nothing():
    with pytest.raises(fastjsonschema.JsonSchemaDefinitionException, match="refused"):
        json_schema.problem({"$ref": "http://example.com/s.json"}, {})


def test_given_local_references_when_validating_then_they_are_followed():
    schema = {
        "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "properties": {"c": {"$ref": "#/$defs/code"}},
    }
    json_schema.check(schema)
    assert json_schema.problem(schema, {"c": "ABC"}) is None
    assert "must match pattern" in json_schema.problem(schema, {"c": "abcd"})


def test_given_a_catastrophic_pattern_when_validating_a_long_answer_then_it_finishes():
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(x+x+)+y"}}}
    json_schema.check(schema)
    # Python's backtracking engine takes hours on this; RE2 is linear in the text.
    assert "must match pattern" in json_schema.problem(schema, {"s": "x" * 64})
    assert json_schema.problem(schema, {"s": "x" * 64 + "y"}) is None


def test_given_pattern_properties_when_validating_then_they_run_on_re2_too():
    schema = {"type": "object", "patternProperties": {"^(a+a+)+b$": {"type": "integer"}}}
    json_schema.check(schema)
    assert json_schema.problem(schema, {"a" * 40 + "b": "not an integer"}) is not None
    assert json_schema.problem(schema, {"a" * 40 + "c": "anything"}) is None


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)y"])
def test_given_a_pattern_re2_cannot_run_when_checked_then_it_is_refused(pattern):
    with pytest.raises(ValueError, match="not supported"):
        json_schema.check({"type": "string", "pattern": pattern})


def test_given_too_big_or_too_deep_or_invalid_schemas_when_checked_then_each_is_refused():
    with pytest.raises(ValueError, match="larger than"):
        json_schema.check({"enum": ["x" * 1000] * 70})
    deep: dict = {"type": "object"}
    for _ in range(40):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(ValueError, match="nested deeper"):
        json_schema.check(deep)
    with pytest.raises(ValueError, match="not valid"):
        json_schema.check({"type": "object", "minProperties": "many"})
