"""A tenant's JSON schema fetches nothing, runs its patterns in linear time, and is checked when it arrives."""

from __future__ import annotations

import re
import urllib.request

import fastjsonschema
import pytest
from fastjsonschema.draft07 import CodeGeneratorDraft07

from threadrunner.domain import json_formats, json_schema


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


# Formats: checked on RE2 (linear in the value), and only on values of a bounded length -----------------------

# Values of every kind fastjsonschema knows a format for; on each, the project's check and fastjsonschema's own
# expression agree (none holds a newline, a non-ASCII digit or letter where RE2's ASCII classes would differ).
SAMPLES = [
    "",
    "a",
    "user@example.com",
    "first.last+tag@sub.example.org",
    ".user@example.com",
    "user.@example.com",
    "us..er@example.com",
    "us.er@exa..mple.com",
    "user@@example.com",
    "user@example",
    "user@.com",
    "user@example.",
    "δοκιμή@παράδειγμα.δοκιμή",
    "2024-01-31T12:00:00Z",
    "2024-01-31T12:00:00.5+02:00",
    "2024-02-30",
    "2024-01-31",
    "12:30:00",
    "12:30:00.123+02:00",
    "25:00",
    "example.com",
    "-bad.example.com",
    "xn--bcher-kva.example",
    "xn---x.com",
    "a_b.example",
    "a.b.c.d.example.co.uk",
    "192.168.0.1",
    "256.1.1.1",
    "::1",
    "::",
    "2001:db8::ff00:42:8329",
    "1:2:3:4:5:6:7:8",
    "1::2:3:4:5:6",
    "1:2::3:4:5:6",
    "1:2:3::4:5:6",
    "1:2:3:4::5:6",
    "1:2:3:4:5::6",
    "::ffff:192.0.2.1",
    "1:2:3:4:5:6:7:8:9",
    "https://example.com/path?q=1",
    "mailto:a@b.c",
    "no scheme",
    "https://例え.テスト/パス",
    "/a/b~0c~1d",
    "/a~2",
    "0/a",
    "1#",
    "http://example.com/{id}",
    "{+path}/x{?q,lang}",
    "{bad",
    "#fragment",
]


@pytest.mark.parametrize("name", sorted(json_formats.FORMATS))
def test_given_each_format_when_checked_then_the_linear_check_agrees_with_fastjsonschemas_expression(name):
    expression = CodeGeneratorDraft07.FORMAT_REGEXS.get(name)
    for value in SAMPLES:
        expected = bool(re.match(expression, value)) if expression else _compiles(value)
        assert json_formats.FORMATS[name](value) is expected, (name, value)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def test_given_a_format_when_validating_then_the_projects_check_runs(monkeypatch):
    checked: list[str] = []
    monkeypatch.setitem(json_formats.FORMATS, "email", lambda value: checked.append(value) or True)
    schema = {"type": "object", "properties": {"to": {"type": "string", "format": "email"}}}
    json_schema.check(schema)

    assert json_schema.problem(schema, {"to": "not an address"}) is None
    assert checked == ["not an address"]


@pytest.mark.parametrize(
    ("name", "value", "matches"),
    [
        # fastjsonschema's expressions backtrack on these (its email expression looks for ".." before "@" from
        # every dot; its idn-email one splits the domain at every dot): the checks here read each once.
        ("email", "a" + "." * 4000, False),
        ("email", "a" * 4000 + "@example.com", True),
        ("idn-email", "a@" + "." * 4000 + "@", False),
        ("idn-email", "a@" + "b." * 2000 + "c", True),
    ],
)
def test_given_long_adversarial_values_within_the_bound_when_checked_then_they_are_judged(name, value, matches):
    schema = {"type": "string", "format": name}

    assert (json_schema.problem(schema, value) is None) is matches


@pytest.mark.parametrize("name", ["email", "idn-email", "uri", "date-time", "hostname"])
def test_given_a_value_longer_than_the_bound_when_checked_against_a_format_then_it_is_refused_saying_so(name):
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": name}}}
    long = "a" * (json_formats.MAX_FORMAT_CHARS - 12) + "@example.com"
    over = "a" * 65536 + "@example.com"

    assert json_schema.problem(schema, {"v": over}) == (
        f"data.v is longer than {json_formats.MAX_FORMAT_CHARS} characters, the most checked against a format"
    )
    assert "longer than" not in (json_schema.problem(schema, {"v": long}) or "")


# References that come back: a tree's children are trees; a reference to itself checks nothing, forever ---------

TREE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["name"],
}


def _tree(depth: int, leaf: object) -> dict:
    node: dict = {"name": leaf}
    for level in range(depth):
        node = {"name": f"n{level}", "children": [node]}
    return node


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"anyOf": [{"type": "string"}, {"$ref": "#"}]},
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
        {"definitions": {"a": {"not": {"$ref": "#/definitions/a"}}}, "properties": {"x": {"$ref": "#/definitions/a"}}},
        {"dependencies": {"x": {"$ref": "#"}}},
        {"if": {"$ref": "#/$defs/loop"}, "$defs": {"loop": {"then": {"$ref": "#/$defs/loop"}, "if": True}}},
        {"$id": "#node", "oneOf": [{"$ref": "#node"}]},
        {"$defs": {"a b/c": {"anyOf": [{"$ref": "#/$defs/a%20b~1c"}]}}, "$ref": "#/$defs/a%20b~1c"},
    ],
)
def test_given_a_reference_that_comes_back_without_nesting_when_checked_then_it_is_refused(schema):
    with pytest.raises(ValueError, match=r"\.\$ref leads back to itself without going into a property or an item"):
        json_schema.check(schema)


def test_given_a_chain_of_references_longer_than_the_bound_when_checked_then_it_is_refused():
    chain = {f"a{n}": {"$ref": f"#/$defs/a{n + 1}"} for n in range(json_schema.MAX_REFERENCE_CHAIN + 1)}
    schema = {"$defs": chain | {f"a{json_schema.MAX_REFERENCE_CHAIN + 1}": {"type": "string"}}, "$ref": "#/$defs/a0"}
    with pytest.raises(ValueError, match=f"a chain of more than {json_schema.MAX_REFERENCE_CHAIN} references in a row"):
        json_schema.check(schema)
    del schema["$defs"]["a0"], schema["$defs"]["a1"]
    schema["$ref"] = "#/$defs/a2"  # the bound's number of references, the root's included

    json_schema.check(schema)
    assert json_schema.problem(schema, "x") is None


def test_given_a_loop_when_refused_then_the_error_names_the_reference():
    schema = {"properties": {"x": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}]}}}
    with pytest.raises(ValueError) as refused:
        json_schema.check(schema)
    assert str(refused.value).startswith("$.$defs.a.anyOf[0].$ref leads back to itself")


@pytest.mark.parametrize(
    "schema",
    [
        TREE,
        {
            "$defs": {"list": {"type": ["object", "null"], "properties": {"next": {"$ref": "#/$defs/list"}}}},
            "$ref": "#/$defs/list",
        },
        {"additionalProperties": {"$ref": "#"}},
        {"definitions": {"a": {"not": {"$ref": "#"}}}, "properties": {"x": {"$ref": "#/definitions/a"}}},
        {
            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/c"}, "c": {"type": "string"}},
            "$ref": "#/$defs/a",
        },
        {"type": "object", "const": {"$ref": "#/const"}},  # a value, not a schema
    ],
)
def test_given_a_reference_that_comes_back_only_through_a_part_of_the_value_when_checked_then_it_is_taken(schema):
    json_schema.check(schema)


def test_given_a_recursive_schema_when_validating_then_every_level_is_checked_and_no_depth_crashes_it():
    json_schema.check(TREE)

    assert json_schema.problem(TREE, _tree(20, "leaf")) is None
    assert "must be string" in json_schema.problem(TREE, _tree(20, 7))
    assert json_schema.problem(TREE, _tree(5000, "leaf")) == (
        "the value is nested too deeply to be checked against its schema"
    )
