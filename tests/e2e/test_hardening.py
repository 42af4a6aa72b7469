"""Production hardening: stuck runs, idempotency, tenancy, budgets, retention, logs."""

from __future__ import annotations

from tests.e2e.helpers import wait_for
from threadrunner_local.stack import LocalStack


def _execution_arn(stack: LocalStack, run_id: str) -> str:
    sfn = stack.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + f":{run_id}"


def test_a_killed_execution_ends_its_run_and_frees_the_thread(stack, client, model, marker, run_events):
    model.inject("slow", match=marker, seconds=30)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    wait_for(lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress")

    stack.client("stepfunctions").stop_execution(
        executionArn=_execution_arn(stack, run.id), error="Operator", cause="killed by the test"
    )

    ended = wait_for(lambda: (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status
                     == "failed" and r, timeout=30)
    assert ended.last_error.code == "server_error"
    assert "execution ended ABORTED" in ended.last_error.message and ended.failed_at is not None
    client.beta.threads.messages.create(thread.id, role="user", content="Still there?")  # the thread is free
    assert [e["detail-type"] for e in wait_for(lambda: run_events.of(run.id))] == ["threadrunner.run.failed"]
    assert stack.model_server is not None
    response = next(r for r in stack.model_server.model.responses.values() if marker in r.text)
    assert response.cancelled  # and the model stopped working for it
