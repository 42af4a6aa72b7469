"""Production hardening the API answers for itself: idempotent POSTs and tenancy. Moved from
tests/e2e/test_hardening.py, which keeps stuck runs, retried tool tasks, the keys tool, budgets, retention and logs;
a retried POST on the real idempotency table is proven end to end by the retried streams (tests/e2e/test_streaming.py).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.functional.conftest import Api
from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.run_step import MessageCreation, MessageCreationStepDetails, RunStep


def _step(api: Api, run: Any) -> RunStep:
    """A step of the run, written as its loop writes one (loops do not run here)."""
    step = RunStep(
        id=new_id("step"),
        created_at=now(),
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type="message_creation",
        step_details=MessageCreationStepDetails(message_creation=MessageCreation(message_id=new_id("msg"))),
    )
    api.deployment.stores("default").steps.put_step(step, [])
    return step


def test_a_replayed_post_with_the_same_idempotency_key_creates_one_object(api, project_client):
    client, _ = project_client
    key = {"Idempotency-Key": "create-assistant-1"}
    first = client.beta.assistants.create(model="gpt-4.1-mini", name="once", extra_headers=key)
    again = client.beta.assistants.create(model="gpt-4.1-mini", name="once", extra_headers=key)
    assert again.id == first.id
    assert [a.id for a in client.beta.assistants.list()] == [first.id]

    thread = client.beta.threads.create()
    run_key = {"Idempotency-Key": "run-1"}
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=first.id, extra_headers=run_key)
    replay = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=first.id, extra_headers=run_key)
    assert replay.id == run.id  # not "thread already has an active run": the first answer, again
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [run.id]

    with pytest.raises(openai.BadRequestError) as caught:  # the same key for another request
        client.beta.assistants.create(model="gpt-4.1-mini", name="other", extra_headers=key)
    assert caught.value.code == "idempotency_key_reused"
    with pytest.raises(openai.NotFoundError):  # failures are not remembered: a fixed retry may succeed
        client.beta.assistants.retrieve("asst_nope", extra_headers={"Idempotency-Key": "x"})
    assert [ref.run_id for ref in api.deployment.run_control.started] == [run.id]  # its loop started once


def test_another_projects_ids_answer_404_for_every_resource(api, client, project_client):
    other, _ = project_client
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "mine"}])
    message = client.beta.threads.messages.list(thread.id).data[0]
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    step = _step(api, run)
    assert client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id).id == step.id
    user_id = "tenant-user-1"
    api("POST", f"/users/{user_id}/messages", {"assistant_id": assistant.id, "content": "hi"})

    refused = [
        lambda: other.beta.assistants.retrieve(assistant.id),
        lambda: other.beta.assistants.update(assistant.id, name="x"),
        lambda: other.beta.assistants.delete(assistant.id),
        lambda: other.beta.threads.retrieve(thread.id),
        lambda: other.beta.threads.update(thread.id, metadata={"a": "b"}),
        lambda: other.beta.threads.delete(thread.id),
        lambda: other.beta.threads.messages.create(thread.id, role="user", content="x"),
        lambda: other.beta.threads.messages.list(thread.id),
        lambda: other.beta.threads.messages.retrieve(message.id, thread_id=thread.id),
        lambda: other.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"a": "b"}),
        lambda: other.beta.threads.messages.delete(message.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id),
        lambda: other.beta.threads.runs.list(thread_id=thread.id),
        lambda: other.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"a": "b"}),
        lambda: other.beta.threads.runs.cancel(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[]),
        lambda: other.beta.threads.runs.steps.list(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id),
        lambda: other.beta.threads.create_and_run(assistant_id=assistant.id),
    ]
    for call in refused:
        with pytest.raises(openai.NotFoundError):
            call()
    key = other.api_key
    assert api("GET", f"/users/{user_id}", key=key)[0] == 404
    assert api("GET", f"/users/{user_id}/messages", key=key)[1]["data"] == []
    assert api("DELETE", f"/users/{user_id}", key=key)[0] == 404
    assert client.beta.threads.retrieve(thread.id).metadata == {}  # nothing changed for the owner
    assert client.beta.assistants.retrieve(assistant.id).name is None
