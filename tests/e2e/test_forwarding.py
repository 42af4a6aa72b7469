"""One client for the whole app: the rest of /v1 forwarded to the provider, metered and budgeted like runs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from tests.e2e.helpers import wait_for
from threadrunner.domain.budget import Budget, ProjectPolicy
from threadrunner_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


def _usage(stack: LocalStack, client: OpenAI) -> dict:
    status, usage = stack.api("GET", "/usage", key=client.api_key)
    assert status == 200
    return usage


def test_one_client_runs_assistants_and_calls_the_rest_of_v1(stack, project_client):
    client, _ = project_client
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello there"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    before = _usage(stack, client)["usage"]["total_tokens"]

    completion = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Say something nice"}]
    )
    text = completion.choices[0].message.content
    assert "Say something nice" in text and completion.usage.total_tokens > 0
    streamed = list(
        client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "Say something nice"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text
    assert all(c.choices for c in streamed)  # threadrunner asked for the usage, not the client: not passed on
    with_usage = list(
        client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "Say something nice"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens == completion.usage.total_tokens
    embedded = client.embeddings.create(model="text-embedding-3-small", input=["lighthouse", "keeper"])
    assert [len(e.embedding) for e in embedded.data] == [1536, 1536]
    moderated = client.moderations.create(input=["I will attack the castle", "I like tea"])
    assert [r.flagged for r in moderated.results] == [True, False] and moderated.results[0].categories.violence
    assert "gpt-4.1-mini" in [m.id for m in client.models.list()]
    assert client.models.retrieve("gpt-4.1-mini").id == "gpt-4.1-mini"
    response = client.responses.create(model="gpt-4.1-mini", input="Tell me about lighthouses")
    assert "Tell me about lighthouses" in response.output_text

    # Every metered call counted in the project's ledger: the chat completions, the embeddings, the response.
    used = 3 * completion.usage.total_tokens + embedded.usage.total_tokens + response.usage.total_tokens
    after = _usage(stack, client)
    assert after["usage"]["total_tokens"] - before == used and after["reserved_tokens"] == 0


def test_a_spent_budget_stops_forwarded_calls_before_they_reach_the_provider(stack, project_client, model, marker):
    client, project = project_client
    client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Warm up"}])
    spent = _usage(stack, client)["usage"]["total_tokens"]
    stack.stores(project).projects.set_policy(ProjectPolicy(budget=Budget(daily_tokens=spent)))

    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": f"Hi {marker}"}])
    assert refused.value.code == "daily_budget_exceeded"
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="text-embedding-3-small", input=f"Hi {marker}")
    assert model.requests_about(marker) == []
    assert client.models.list().data  # what uses no tokens goes on


def test_the_providers_errors_keep_their_status_and_body(client, model, marker):
    model.inject("http_500", match=marker, times=10)  # the SDK's retries too
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": f"Hi {marker}"}])
    assert failed.value.status_code == 500 and "injected by the offline model" in failed.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=5000)
    assert "dimensions 1 to 4096" in refused.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("no-such-model")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as unknown:  # neither served nor forwarded
        client.fine_tuning.jobs.list()
    assert unknown.value.code == "unknown_url"


def test_a_projects_responses_are_its_own(stack, project_client):
    client, _ = project_client
    other_key = "sk-test-" + secrets.token_hex(8)
    stack.seed_api_key(other_key, project="p_" + secrets.token_hex(4))
    other = OpenAI(base_url=stack.api_url, api_key=other_key, max_retries=0)
    response = client.responses.create(model="gpt-4.1-mini", input="A secret of mine")

    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(response.id)
    with pytest.raises(openai.BadRequestError) as chained:
        other.responses.create(model="gpt-4.1-mini", input="What was it?", previous_response_id=response.id)
    assert chained.value.code == "previous_response_not_found"
    with pytest.raises(openai.BadRequestError) as hosted:
        other.responses.create(
            model="gpt-4.1-mini", input="Search", tools=[{"type": "file_search", "vector_store_ids": ["vs_theirs"]}]
        )
    assert hosted.value.param == "tools[0].type"

    assert client.responses.retrieve(response.id).output_text == response.output_text
    follow_up = client.responses.create(model="gpt-4.1-mini", input="And then?", previous_response_id=response.id)
    assert follow_up.previous_response_id == response.id
    items = client.responses.input_items.list(response.id)
    assert any("A secret of mine" in str(item) for item in items.data)
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def _keys(stack: LocalStack, *arguments: str) -> str:
    """``scripts/keys.py`` on the test stack, as an operator runs it; what it printed."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "keys.py"), *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "THREADRUNNER_AWS_PORT": stack.aws_endpoint.rsplit(":", 1)[1]},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_forwarded_response_names_nothing_the_projects_share_and_hosted_tools_need_the_operators_leave(
    stack, project_client, model, marker
):
    client, project = project_client
    assert '"hosted_tools": ["web_search"]' in _keys(
        stack, "hosted-tools", "--project", project, "--allow", "web_search"
    )
    shared = [
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-x"}]}]},
            "input[0].content[0].file_id",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_theirs"}]}, "input[0]"),
        (
            {"tools": [{"type": "mcp", "server_label": "intranet", "server_url": "http://10.0.0.8/mcp"}]},
            "tools[0].type",
        ),
        ({"tools": [{"type": "code_interpreter", "container": "cntr_operators"}]}, "tools[0].type"),
        ({"tools": [{"type": "image_generation"}]}, "tools[0].type"),
    ]
    for fields, param in shared:
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(**{"model": "gpt-4.1-mini", "input": f"Hi {marker}", **fields})
        assert refused.value.param == param, fields
    assert refused.value.code == "tool_not_allowed"
    # A prompt or conversation of the provider's account is one threadrunner does not have (it keeps its own).
    for fields, param in (
        ({"prompt": {"id": "pmpt_operators"}}, "prompt.id"),
        ({"conversation": "conv_x"}, "conversation"),
    ):
        with pytest.raises(openai.NotFoundError) as missing:
            client.responses.create(**{"model": "gpt-4.1-mini", "input": f"Hi {marker}", **fields})
        assert missing.value.param == param
    assert model.requests_about(marker) == []  # none reached the provider

    searched = client.responses.create(model="gpt-4.1-mini", input=f"Search {marker}", tools=[{"type": "web_search"}])

    assert searched.status == "completed" and len(model.requests_about(marker)) == 1


def _listed(stack: LocalStack) -> set[str]:
    """The sort keys of the unsettled responses' list (``<project>#<response_id>``)."""
    return {item["SK"]["S"] for item in stack.table_items("unsettled#responses")}


def test_a_background_response_nobody_asks_about_is_counted_once_it_ended(stack, project_client, marker):
    client, project = project_client
    asked = client.responses.create(model="gpt-4.1-mini", input=f"Tell me about {marker}", background=True)
    left = client.responses.create(model="gpt-4.1-mini", input=f"And about {marker} again", background=True)
    assert {asked.status, left.status} <= {"queued", "in_progress"}
    assert _usage(stack, client)["reserved_tokens"] > 2 * 32_768  # the most each may write, set aside
    assert {f"{project}#{asked.id}", f"{project}#{left.id}"} <= _listed(stack)
    assert stack.model_server is not None
    offline = stack.model_server.model
    used = {r.id: offline.responses[r.id].body["usage"]["total_tokens"] for r in (asked, left)}
    wait_for(lambda: all(offline.view(offline.responses[r.id])["status"] == "completed" for r in (asked, left)))

    assert client.responses.retrieve(asked.id).status == "completed"  # seen ended: counted, and off the list
    assert f"{project}#{asked.id}" not in _listed(stack) and f"{project}#{left.id}" in _listed(stack)
    assert stack.dispatcher is not None
    swept = stack.dispatcher.invoke("SettleResponsesFunction", {"detail-type": "Scheduled Event", "detail": {}})

    today = _usage(stack, client)
    assert swept["settled"] >= 1 and f"{project}#{left.id}" not in _listed(stack)
    assert today["usage"]["total_tokens"] == used[asked.id] + used[left.id] and today["reserved_tokens"] == 0
