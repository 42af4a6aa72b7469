"""What an attacker or a careless tenant can do through the API, and the bounds that hold (docs/operations.md): what
the API itself refuses, in-process. Moved from tests/e2e/test_security.py, which keeps what needs runs, the table,
the HTTP server or the event sources."""

from __future__ import annotations

import io
from typing import Any

import openai
import pytest

from tests.functional.conftest import API_KEY, Api
from threadrunner.domain.budget import ProjectLimits, ProjectPolicy


def _policy(api: Api, project: str, policy: ProjectPolicy) -> None:
    api.deployment.stores(project).projects.set_policy(policy)


def _schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


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


def test_a_schema_whose_reference_comes_back_without_nesting_is_refused_where_it_arrives(client, api):
    endless = {"$defs": {"node": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/node"}]}}, "$ref": "#/$defs/node"}
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    with pytest.raises(openai.BadRequestError, match="leads back to itself without going into a property") as caught:
        client.beta.assistants.create(model="gpt-4.1-mini", response_format=_schema_format({"$ref": "#"}))
    assert caught.value.param == "response_format.json_schema.schema"
    with pytest.raises(openai.BadRequestError, match=r"\$\.\$defs\.node\.anyOf\[1\]\.\$ref leads back to itself"):
        client.beta.threads.create_and_run(assistant_id=assistant.id, response_format=_schema_format(endless))
    tool = {"name": "endless", "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:x"}
    for schema_field in ("parameters", "output_schema"):
        status, error = api("POST", "/server_tools", tool | {schema_field: endless})
        assert status == 400 and "leads back to itself" in error["error"]["message"]
    assert "endless" not in [listed["name"] for listed in api("GET", "/server_tools")[1]["data"]]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"model": "m", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
        (b'{"model": "m", "temperature": ' + b"9" * 5000 + b"}", "too many digits"),
    ],
)
def test_bodies_nested_too_deep_or_with_huge_numbers_answer_400(api, body, why):
    status, answer = api.raw(
        "POST", "/assistants", body, {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
    )
    assert status == 400 and why in answer["error"]["message"]


def test_run_instructions_and_models_are_bounded_and_a_projects_models_can_be_limited(api, project_client):
    client, project = project_client
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create()
    for field, value in (
        ("instructions", "x" * 256_001),
        ("additional_instructions", "x" * 256_001),
        ("model", "m" * 257),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, **{field: value})
        assert caught.value.param == field

    _policy(api, project, ProjectPolicy(models=["gpt-4.1-mini"]))

    with pytest.raises(openai.BadRequestError, match="not allowed for this project") as caught:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, model="o3-pro")
    assert caught.value.code == "model_not_allowed"
    with pytest.raises(openai.BadRequestError, match="not allowed"):
        client.beta.assistants.create(model="gpt-4.1")
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "queued" and [ref.run_id for ref in api.deployment.run_control.started] == [run.id]


def test_a_project_may_make_only_so_many_requests_a_minute(api, project_client):
    client, project = project_client
    _policy(api, project, ProjectPolicy(limits=ProjectLimits(requests_per_minute=5)))

    answers = [api("GET", "/assistants", key=client.api_key) for _ in range(11)]

    statuses = [status for status, _ in answers]
    assert 429 in statuses and statuses.index(429) <= 10  # at most two windows' worth pass
    refused = answers[statuses.index(429)][1]["error"]
    assert refused["code"] == "rate_limit_exceeded" and refused["type"] == "requests"


def test_a_message_may_name_only_the_projects_own_files_in_images_and_attachments(api, client, project_client):
    """An ``image_file`` part or an attachment (for any tool) naming another project's file is refused where it is
    named, and nothing is written: its bytes would otherwise reach the model as the image."""
    other, _ = project_client
    secret = client.files.create(file=("plan.png", io.BytesIO(b"\x89PNG\r\n\x1a\nsecret")), purpose="vision").id
    image = [{"type": "image_file", "image_file": {"file_id": secret}}]
    code = [{"file_id": secret, "tools": [{"type": "code_interpreter"}]}]
    assistant = other.beta.assistants.create(model="gpt-4.1-mini")
    thread = other.beta.threads.create()

    refusals = [
        lambda: other.beta.threads.messages.create(thread.id, role="user", content=image),
        lambda: other.beta.threads.messages.create(thread.id, role="user", content="x", attachments=code),
        lambda: other.beta.threads.create(messages=[{"role": "user", "content": image}]),
        lambda: other.beta.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            additional_messages=[{"role": "user", "content": "x", "attachments": code}],
        ),
    ]
    for refusal in refusals:
        with pytest.raises(openai.BadRequestError, match=f"No file found with id '{secret}'"):
            refusal()
    status, answer = api(
        "POST", "/users/u-files/messages", {"assistant_id": assistant.id, "content": image}, other.api_key
    )

    assert (status, answer["error"]["param"]) == (400, "content[0].image_file.file_id")
    assert other.beta.threads.messages.list(thread.id).data == [] and other.beta.threads.runs.list(thread.id).data == []
