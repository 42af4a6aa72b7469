"""Bad input, fuzzed: schemathesis drives every operation of the API's OpenAPI document against the running stack."""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from threadrunner_local.stack import LocalStack

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "12"))
"""Per operation and mode. In `make test` the examples are fixed (derandomized), so CI is repeatable;
set FUZZ_EXAMPLES for a longer, random search."""
RANDOM = "FUZZ_EXAMPLES" in os.environ


@pytest.fixture(scope="session")
def fuzz_key(stack: LocalStack) -> str:
    key = "sk-fuzz-" + secrets.token_hex(8)
    stack.seed_api_key(key, project="p_fuzz")
    return key


@pytest.fixture(scope="session")
def api_schema(stack: LocalStack) -> schemathesis.BaseSchema:
    with urllib.request.urlopen(stack.api_url + "/openapi.json") as answer:  # served without a key
        return schemathesis.openapi.from_dict(json.loads(answer.read()))


def test_no_request_crashes_the_api_and_every_error_has_the_openai_shape(
    api_schema: schemathesis.BaseSchema, stack: LocalStack, fuzz_key: str
):
    base_url = stack.api_url.removesuffix("/v1")
    checked = 0
    # Driven through Hypothesis directly: schemathesis' pytest plugin does not run on pytest 9 yet.
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=not RANDOM,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: schemathesis.Case) -> None:
                response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {fuzz_key}"})
                where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:300]}"
                assert response.status_code < 500, f"{where}: {response.text[:500]}"
                if response.status_code >= 400:
                    error = response.json()["error"]
                    assert set(error) == {"message", "type", "param", "code"} and error["message"], where

            fuzz()
            checked += 1
    assert checked >= 50  # every operation of the document, both ways


def test_oversized_and_non_json_bodies_are_refused(stack: LocalStack):
    def post(body: bytes, content_type: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            stack.api_url + "/threads",
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "Authorization": f"Bearer {stack.config.api_key}"},
        )
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, answer = post(json.dumps({"metadata": {"k": "x" * 3_000_000}}).encode(), "application/json")
    assert status == 413 and answer["error"]["code"] == "request_too_large"
    status, answer = post(b"messages=hello", "application/x-www-form-urlencoded")
    assert status == 415 and answer["error"]["code"] == "unsupported_media_type"
    status, answer = post(b"{}", "application/json; charset=utf-8")
    assert status == 200 and answer["object"] == "thread"
