"""What an attacker or a careless tenant can do through the API, and the bounds that hold (docs/operations.md)."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import openai
import pytest

from tests.conftest import api_call
from tests.e2e.helpers import wait_for
from threadrunner.domain.user import user_ref


@pytest.fixture
def api(stack):
    return lambda method, path, body=None, key=None: api_call(stack, method, path, body, key)


@pytest.fixture
def log_lines():
    """The JSON log lines of the functions while the test runs, at INFO."""
    from threadrunner.observability import logger

    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    collector = Collect()
    collector.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(collector)
    logger.setLevel("INFO")
    yield lines
    logger.removeHandler(collector)
    logger.setLevel(level)


def _schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


# 1: a tenant's JSON schema fetches nothing and cannot burn CPU -------------------------------------


@pytest.mark.parametrize(
    "reference", ["http://169.254.169.254/latest/meta-data/", "https://example.com/x.json", "file:///etc/hostname"]
)
def test_a_schema_that_references_anything_outside_itself_is_refused_when_it_arrives(client, reference):
    schema = {"type": "object", "properties": {"a": {"$ref": reference}}}
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    with pytest.raises(openai.BadRequestError, match="only references into the schema itself"):
        client.beta.assistants.create(model="gpt-4.1-mini", response_format=_schema_format(schema))
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.create_and_run(assistant_id=assistant.id, response_format=_schema_format(schema))
    assert caught.value.param == "response_format.json_schema.schema"


def test_a_catastrophic_pattern_is_checked_in_linear_time(client):
    schema = {"type": "object", "properties": {"reply": {"type": "string", "pattern": "(x+x+)+y"}}}
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "x" * 60}]},
        response_format=_schema_format(schema),
    )

    assert run.status == "failed" and run.last_error.code == "invalid_response_format"
    assert "must match pattern" in run.last_error.message


# 14: bodies Python cannot parse answer 400 -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"model": "m", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
        (b'{"model": "m", "temperature": ' + b"9" * 5000 + b"}", "too many digits"),
    ],
)
def test_bodies_nested_too_deep_or_with_huge_numbers_answer_400(stack, body, why):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        stack.api_url + "/assistants",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.config.api_key}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400 and why in json.loads(caught.value.read())["error"]["message"]


# 19, 20: user ids, encoded or not, name one user; logs never show them ---------------------------------


def test_a_percent_encoded_user_id_is_the_same_user_and_logs_show_only_its_hash(api, client, log_lines):
    user = f"alice-{secrets.token_hex(3)}@example.com"
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    status, run = api(
        "POST", f"/users/{user.replace('@', '%40')}/messages", {"assistant_id": assistant.id, "content": "hi"}
    )

    assert status == 202
    assert api("GET", f"/users/{user}")[1]["thread_id"] == run["thread_id"]
    wait_for(lambda: client.beta.threads.runs.retrieve(run["id"], thread_id=run["thread_id"]).status == "completed")
    logged = json.dumps(log_lines)
    assert user not in logged and user.replace("@", "%40") not in logged
    assert f"/v1/users/{user_ref(user)}/messages" in logged
