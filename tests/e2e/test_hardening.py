"""Production hardening: stuck runs, idempotency, tenancy, budgets, retention, logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from tests.conftest import api_call
from tests.e2e.helpers import model_response, server_tool, slow_run, steps, wait_for
from tests.support.tools import EXECUTIONS
from threadrunner.domain.budget import Budget, ProjectPolicy
from threadrunner.observability import logger as powertools_logger
from threadrunner_local.stack import OFFLINE_MODEL_KEY, LocalStack

ROOT = Path(__file__).resolve().parents[2]


def test_a_killed_execution_ends_its_run_and_frees_the_thread(stack, client, model, marker, run_events):
    run, thread = slow_run(client, model, marker)

    stack.client("stepfunctions").stop_execution(
        executionArn=stack.execution_arn(run.id), error="Operator", cause="killed by the test"
    )

    ended = wait_for(
        lambda: (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status == "failed" and r,
        timeout=30,
    )
    assert ended.last_error.code == "server_error"
    assert "execution ended ABORTED" in ended.last_error.message and ended.failed_at is not None
    client.beta.threads.messages.create(thread.id, role="user", content="Still there?")  # the thread is free
    assert [e["detail-type"] for e in wait_for(lambda: run_events.of(run.id))] == ["threadrunner.run.failed"]
    response = model_response(stack, marker)
    assert response.cancelled  # and the model stopped working for it


# idempotency ---------------------------------------------------------------------------------------


def test_a_retried_tool_task_runs_the_tool_once(stack, client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("tally")])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Tally the topic refunds"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (tool_step,) = [step for step in steps(client, run) if step.type == "tool_calls"]
    (call,) = tool_step.step_details.tool_calls
    topic = json.loads(call.function.arguments)["topic"]
    assert EXECUTIONS[topic] == 1

    event = {
        "project": "default",
        "thread_id": thread.id,
        "run_id": run.id,
        "step_id": tool_step.id,
        "call_id": call.id,
    }
    retried = stack.dispatcher.invoke("ToolFunction", event)  # what a Step Functions retry of the task does

    assert retried == {"call_id": call.id, "name": "", "ran": False, "is_error": False, "execution": None}
    assert EXECUTIONS[topic] == 1
    assert json.loads(steps(client, run)[0].step_details.tool_calls[0].function.output)["count"] == 1


# keys and tenancy --------------------------------------------------------------------------------------


def _keys_cli(stack: LocalStack, *args: str) -> str:
    command = [
        sys.executable,
        str(ROOT / "scripts" / "keys.py"),
        "--table",
        stack.table_name,
        "--endpoint-url",
        stack.aws_endpoint,
        *args,
    ]
    answer = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ.copy())
    return answer.stdout.strip()


def test_keys_are_created_listed_and_revoked_and_only_their_hashes_are_stored(stack):
    key = _keys_cli(stack, "create", "--name", "cli-test", "--project", "p_cli")
    client = openai.OpenAI(base_url=stack.api_url, api_key=key, max_retries=0)
    assert client.beta.assistants.list().data == []

    (entry,) = [
        json.loads(line) for line in _keys_cli(stack, "list").splitlines() if json.loads(line)["name"] == "cli-test"
    ]
    assert (entry["project"], entry["revoked"]) == ("p_cli", False) and key not in json.dumps(entry)
    table = repr(stack.table_items())
    assert key not in table  # only hashes

    assert _keys_cli(stack, "revoke", "--name", "cli-test") == "revoked cli-test"
    with pytest.raises(openai.AuthenticationError):
        client.beta.assistants.list()


# budgets and usage -----------------------------------------------------------------------------------


def test_a_spent_daily_budget_refuses_new_runs_and_usage_is_readable_everywhere(stack, project_client):
    client, project = project_client
    stack.stores(project).projects.set_policy(
        ProjectPolicy(budget=Budget(daily_tokens=10_000, daily_tokens_per_user=1))
    )
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed" and run.usage.total_tokens > 0

    def counted(path):
        return wait_for(
            lambda: (answer := api_call(stack, "GET", path, key=client.api_key)[1])["usage"]["total_tokens"] and answer
        )

    assert counted(f"/threads/{thread.id}/usage")["usage"] == run.usage.model_dump()
    today = counted("/usage")
    assert today["usage"] == run.usage.model_dump() and today["daily_budget"]["daily_tokens"] == 10_000

    status, first = api_call(
        stack,
        "POST",
        "/users/budget-user/messages",
        {"assistant_id": assistant.id, "content": "Hi"},
        key=client.api_key,
    )
    assert status == 202 and client.beta.threads.runs.poll(first["id"], thread_id=first["thread_id"]).usage
    assert counted("/users/budget-user")["usage"]["total_tokens"] > 1
    status, refused = api_call(
        stack,
        "POST",
        "/users/budget-user/messages",
        {"assistant_id": assistant.id, "content": "Again"},
        key=client.api_key,
    )
    assert status == 429 and refused["error"]["code"] == "daily_budget_exceeded"
    assert "user's daily token budget of 1" in refused["error"]["message"]

    stack.stores(project).projects.set_policy(ProjectPolicy(budget=Budget(daily_tokens=1)))
    with pytest.raises(openai.RateLimitError) as caught:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert caught.value.code == "daily_budget_exceeded" and caught.value.type == "insufficient_quota"
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [run.id]  # nothing started


# retention -----------------------------------------------------------------------------------------------


def _thread_items(stack: LocalStack, project: str, thread_id: str) -> list[dict]:
    partition = f"P#{project}#THREAD#{thread_id}"
    return [item for item in stack.table_items(partition) if item["PK"]["S"] == partition]


def test_every_item_of_a_thread_expires_together_and_activity_renews_them(stack, client):
    retention = 90 * 86400
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("get_weather")])
    status, posted = api_call(
        stack, "POST", "/users/retention-user/messages", {"assistant_id": assistant.id, "content": "Weather in Oslo?"}
    )
    assert status == 202
    client.beta.threads.runs.poll(posted["id"], thread_id=posted["thread_id"])
    thread_id = posted["thread_id"]
    items = _thread_items(stack, "default", thread_id)
    kinds = {item["entity"]["S"] for item in items}
    assert {"thread", "message", "run", "step", "tool_call"} <= kinds
    user = stack.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"PK": {"S": "P#default#USER#retention-user"}, "SK": {"S": "USER"}}
    )["Item"]
    expiries = [int(item["ttl"]["N"]) for item in [*items, user]]
    assert all(abs(expiry - (time.time() + retention)) < 120 for expiry in expiries)

    for item in [*items, user]:  # as if the thread had been quiet for two months
        stack.client("dynamodb").update_item(
            TableName=stack.table_name,
            Key={"PK": item["PK"], "SK": item["SK"]},
            UpdateExpression="SET #ttl = :soon",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":soon": {"N": str(int(time.time()) + 86400)}},
        )
    api_call(stack, "POST", "/users/retention-user/messages", {"assistant_id": assistant.id, "content": "And now?"})

    items = _thread_items(stack, "default", thread_id)
    user = stack.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"PK": {"S": "P#default#USER#retention-user"}, "SK": {"S": "USER"}}
    )["Item"]
    assert all(int(item["ttl"]["N"]) > time.time() + retention - 120 for item in [*items, user])


# logs and metrics --------------------------------------------------------------------------------------


def test_logs_are_structured_keyed_by_run_and_never_carry_secrets_or_contents(stack, client, marker):
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(powertools_logger.registered_formatter)
    powertools_logger.addHandler(handler)
    previous = powertools_logger.log_level
    powertools_logger.setLevel(logging.INFO)
    try:
        assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("get_weather")])
        thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Weather in Lima {marker}?"}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
    finally:
        powertools_logger.removeHandler(handler)
        powertools_logger.setLevel(previous)

    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    of_run = [r for r in records if r.get("run_id") == run.id]
    assert {r["message"] for r in of_run} >= {"run loop task", "tool execution", "request"}
    (audit,) = [r for r in of_run if r["message"] == "tool execution"]  # the audit line: who, how, never what
    assert (audit["tool"], audit["outcome"], audit["attempts"], audit["circuit"]) == ("get_weather", "ok", 1, "closed")
    assert len(audit["arguments_sha256"]) == 64 and audit["call_id"].startswith("call_")
    assert all(
        r["thread_id"] == thread.id and r["project"] == "default" and r.get("function_request_id") for r in of_run
    )
    everything = lines.getvalue()
    assert OFFLINE_MODEL_KEY not in everything and stack.config.api_key not in everything
    assert marker not in everything and "Lima" not in everything  # neither the message nor the tool's arguments


def test_the_tool_function_publishes_its_metrics(stack, client, monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    stack.dispatcher.invoke("ToolFunction", json.loads((ROOT / "events/ToolFunction/list-tools.json").read_text()))
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("tally")])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Tally the topic metrics"}])
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    blobs: list[dict] = []

    def announced() -> bool:  # AnnounceRun publishes the run's metrics a moment after the run completes
        blobs.extend(json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
        return any("RunsCompleted" in blob and "RunLatency" in blob and "PromptTokens" in blob for blob in blobs)

    wait_for(announced, timeout=10)
    tool = next(blob for blob in blobs if blob.get("tool") == "tally")
    assert "ToolDuration" in tool and tool["ToolErrors"] in (0, [0.0])
