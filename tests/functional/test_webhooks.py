"""``POST /v1/webhooks``, the provider's webhooks, on the fakes: a verified delivery for a waiting turn has the turn
checked; a forged, tampered, stale, replayed or unknown-response delivery answers 4xx in OpenAI's shape and changes
nothing (no delivery noted, no check asked, the run as it was). No API key: the signature lets a delivery in."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from threadrunner.app.run_loop.state import TURN_TASK_SECONDS
from threadrunner.domain.common import now
from threadrunner.domain.run_record import RunRef
from threadrunner.domain.webhooks import TOLERANCE_SECONDS
from threadrunner_local.model_webhooks import new_secret, signed

RESPONSE = "resp_waited_on"


def event(response_id: str = RESPONSE, kind: str = "response.completed") -> bytes:
    return json.dumps(
        {"id": "evt_1", "object": "event", "created_at": now(), "type": kind, "data": {"id": response_id}}
    ).encode()


@pytest.fixture
def waiting(api, client) -> RunRef:
    """A run of the default project whose turn waits on ``RESPONSE``'s webhook, its token stored on the run."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    runs = api.deployment.stores("default").runs
    runs.transition_run(thread.id, run.id, "in_progress", started_at=now())
    runs.set_turn(thread.id, run.id, RESPONSE, tool_round=False, started_at_ms=1)
    assert runs.wait_on(thread.id, run.id, RESPONSE, "token-waiting")
    ref = RunRef(project="default", thread_id=thread.id, run_id=run.id)
    api.deployment.webhooks.expect(RESPONSE, ref)
    return ref


def deliver(api, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    return api.raw("POST", "/webhooks", body, {"Content-Type": "application/json", **headers})


def signed_now(api, body: bytes, webhook_id: str = "wh_1", at: float | None = None) -> dict[str, str]:
    return signed(api.deployment.webhook_secret, webhook_id, int(time.time() if at is None else at), body)


def nothing_changed(api, waiting: RunRef) -> None:
    assert api.deployment.webhooks.deliveries == {} and api.deployment.checks.asked == []
    record = api.deployment.stores("default").runs.get_run_record(waiting.thread_id, waiting.run_id)
    assert record.run.status == "in_progress" and record.task_token == "token-waiting"


def test_a_verified_webhook_of_a_waiting_turn_has_the_turn_checked_without_an_api_key(api, waiting):
    body = event()

    status, answer = deliver(api, body, signed_now(api, body))

    assert (status, answer) == (200, {"received": True, "woken": True})
    (asked,) = api.deployment.checks.asked  # the loop's state CheckTurn checks, with the token the turn waits on
    assert (asked["turn"]["response_id"], asked["turn"]["outcome"]) == (RESPONSE, "pending")
    assert {name: value for name, value in asked.items() if name != "turn"} == {
        **waiting.model_dump(),
        "task_token": "token-waiting",
        "webhook_wait_seconds": 30,
        "webhook_turn_seconds": 30 + TURN_TASK_SECONDS,
        "webhook_id": "wh_1",
    }


@pytest.mark.parametrize("forgery", ["another secret", "a changed body", "no signature"])
def test_a_forged_webhook_answers_401_and_changes_nothing(api, waiting, forgery):
    body, headers = event(), signed_now(api, event())
    if forgery == "another secret":
        headers = signed(new_secret(), "wh_1", int(time.time()), body)
    elif forgery == "a changed body":
        body = event(kind="response.failed")
    else:
        headers["webhook-signature"] = ""

    status, answer = deliver(api, body, headers)

    if forgery == "no signature":
        assert status == 400 and answer["error"]["param"] == "webhook-signature"
        assert answer["error"]["message"] == "The webhook has no webhook-signature header."
    else:
        assert status == 401 and answer["error"]["code"] == "invalid_webhook_signature"
        assert answer["error"]["message"] == (
            "No signature of the webhook matches its body with the deployment's webhook secret."
        )
    nothing_changed(api, waiting)


def test_a_stale_webhook_answers_401_and_changes_nothing(api, waiting):
    body = event()
    headers = signed_now(api, body, at=time.time() - TOLERANCE_SECONDS - 5)

    status, answer = deliver(api, body, headers)

    assert status == 401 and answer["error"]["code"] == "webhook_timestamp_out_of_tolerance"
    nothing_changed(api, waiting)


def test_a_replayed_webhook_answers_409_and_changes_nothing_more(api, waiting):
    body = event()
    headers = signed_now(api, body)
    assert deliver(api, body, headers)[0] == 200

    status, answer = deliver(api, body, headers)

    assert status == 409 and answer["error"]["code"] == "webhook_replayed"
    assert answer["error"]["param"] == "webhook-id"
    assert len(api.deployment.checks.asked) == 1


def test_the_providers_retry_of_a_webhook_signed_anew_is_taken(api, waiting):
    body = event()
    assert deliver(api, body, signed_now(api, body, at=time.time() - 60))[0] == 200

    status, answer = deliver(api, body, signed_now(api, body))

    assert (status, answer) == (200, {"received": True, "woken": True})  # the check takes the token once


def test_a_webhook_of_a_response_no_run_waits_on_answers_404_and_changes_nothing(api, waiting):
    body = event("resp_of_someone_else")

    status, answer = deliver(api, body, signed_now(api, body))

    assert status == 404 and answer["error"]["param"] == "data.id"
    assert answer["error"]["message"] == "No response found with id 'resp_of_someone_else'."
    nothing_changed(api, waiting)


def test_a_webhook_of_another_kind_of_event_answers_400_and_changes_nothing(api, waiting):
    body = json.dumps({"type": "batch.completed", "data": {"id": "batch_1"}}).encode()

    status, answer = deliver(api, body, signed_now(api, body))

    assert status == 400 and answer["error"]["code"] == "unsupported_webhook_event"
    nothing_changed(api, waiting)


def test_a_webhook_of_a_turn_that_waits_no_more_is_taken_and_wakes_nothing(api, waiting):
    api.deployment.stores("default").runs.take_task_token(waiting.thread_id, waiting.run_id, "token-waiting")
    body = event()

    status, answer = deliver(api, body, signed_now(api, body))

    assert (status, answer) == (200, {"received": True, "woken": False})
    assert api.deployment.checks.asked == []


def test_a_webhook_body_larger_than_a_response_event_answers_413(api, waiting):
    body = b" " * (64 * 1024 + 1)

    status, answer = deliver(api, body, signed_now(api, body))

    assert status == 413 and answer["error"]["code"] == "request_too_large"
    nothing_changed(api, waiting)


def test_a_deployment_whose_provider_sends_no_webhooks_has_no_webhook_endpoint(api, waiting):
    api.deps.webhooks = None
    body = event()

    status, answer = deliver(api, body, signed_now(api, body))

    assert status == 404 and answer["error"]["code"] == "unknown_url"
    assert answer["error"]["message"] == "Invalid URL (POST /v1/webhooks)"
    nothing_changed(api, waiting)
