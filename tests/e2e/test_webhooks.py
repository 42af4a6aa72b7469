"""Runs woken by the provider's webhooks, on the local stack: the offline model signs a webhook when a background
response ends and posts it to ``/v1/webhooks``; each test switches webhook mode on for the runs it starts, as a
deploy of ``ModelWebhooks=enabled`` would (the test stack waits ``TEST_WEBHOOK_WAIT_SECONDS`` for a webhook).

Its turns wait on task tokens without polling; a webhook that is dropped or late costs a turn a poll, never the run;
a cancel ends a waiting run; what cannot be verified or matched answers 4xx and changes nothing. (A turn that starts
waiting in the task that made its response falls back only after that task's time too, ``TURN_TASK_SECONDS``: the
tests of the fallback wait in the turn after a client's outputs, which starts waiting once its response exists.)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_TOOL_ROUNDS, TEST_WEBHOOK_WAIT_SECONDS
from tests.e2e.helpers import LOCAL_TIME_TOOL, converse, reply, server_tool, steps, wait_for
from threadrunner_local.model_webhooks import new_secret, signed
from threadrunner_local.stack import LocalStack

WEBHOOK_STATES = [
    "Begin",
    "StartTurnAndWait",
    "Route",
    "RunServerTools",
    "RunTool",
    "AfterServerTools",
    "SubmitToolOutputsAndWait",
    "Route",
    "FinalizeRun",
    "AnnounceRun",
    "Ended",
    "Stopped",
]
"""A one-tool conversation's states in webhook mode: no Wait, no CheckTurn."""


@pytest.fixture
def webhook_mode(stack: LocalStack) -> Iterator[None]:
    stack.switch_webhooks(True)
    yield
    stack.switch_webhooks(False)


def history(stack: LocalStack, run_id: str) -> list[dict[str, Any]]:
    """The events of the run's execution so far."""
    arn = stack.execution_arn(run_id)
    return stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]  # type: ignore[no-any-return]


def states_of(stack: LocalStack, run_id: str) -> list[str]:
    """The states the run's execution entered, in order, once it ended."""
    sfn = stack.client("stepfunctions")
    arn = stack.execution_arn(run_id)
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", timeout=10, interval=0.05)
    events = history(stack, run_id)
    return [event["stateEnteredEventDetails"]["name"] for event in events if event["type"].endswith("StateEntered")]


def release_once_waiting(stack: LocalStack, model: Any, marker: str, run_id: str, state: str, times: int = 1) -> None:
    """End the response a ``slow`` fault holds once the run's loop has entered ``state`` ``times`` times and the
    last one's task has looked at the response and left the loop waiting on its token (its ``TaskSubmitted``): the
    response ends while the turn waits, whatever the machine's load."""

    def waiting() -> bool:
        events = history(stack, run_id)
        entered = [
            i
            for i, event in enumerate(events)
            if event["type"].endswith("StateEntered") and event["stateEnteredEventDetails"]["name"] == state
        ]
        return len(entered) >= times and any(event["type"] == "TaskSubmitted" for event in events[entered[-1] :])

    wait_for(waiting, timeout=60, interval=0.05)
    assert stack.model_server is not None
    assert not [f for f in stack.model_server.model.faults if f.kind == "slow" and f.match == marker]  # it held one
    assert model.release(marker) == 1


def deliveries(stack: LocalStack, marker: str) -> list[dict[str, Any]]:
    """The webhooks the offline model sent of the responses of the conversation that mentions ``marker``, in the
    order the responses were created."""
    assert stack.model_server is not None and stack.model_server.model.webhooks is not None
    responses = [rid for rid, stored in stack.model_server.model.responses.items() if marker in stored.text]
    sent = {json.loads(d["body"])["data"]["id"]: d for d in stack.model_server.model.webhooks.deliveries()}
    return [sent[rid] for rid in responses if rid in sent]


def post(stack: LocalStack, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """A delivery to the API's webhook endpoint, as the provider sends it: no API key."""
    request = urllib.request.Request(
        stack.api_url + "/webhooks", data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_weather_run(client: Any, marker: str) -> tuple[Any, Any]:
    """A one-tool conversation's run (the server's get_weather), started: (run, thread)."""
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("get_weather")])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"What's the weather in San Francisco? ({marker})"}]
    )
    return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id), thread


def weather_run(client: Any, marker: str) -> tuple[Any, Any]:
    """A one-tool conversation, run to its end: (run, thread)."""
    started, thread = start_weather_run(client, marker)
    return client.beta.threads.runs.poll(started.id, thread_id=thread.id, timeout=60), thread


def test_a_run_in_webhook_mode_completes_woken_by_its_webhooks_without_polling(
    stack, client, model, marker, webhook_mode
):
    model.inject("slow", match=marker, seconds=60)  # the first turn's response ends when the test releases it
    started, thread = start_weather_run(client, marker)
    release_once_waiting(stack, model, marker, started.id, "StartTurnAndWait")

    run = client.beta.threads.runs.poll(started.id, thread_id=thread.id, timeout=60)

    assert run.status == "completed", run.last_error
    assert "San Francisco" in reply(client, thread).content[0].text.value
    assert states_of(stack, run.id) == WEBHOOK_STATES
    sent = deliveries(stack, marker)
    assert [json.loads(d["body"])["type"] for d in sent] == ["response.completed", "response.completed"]
    assert sent[0]["status"] == 200 and json.loads(sent[0]["answer"]) == {"received": True, "woken": True}


def test_a_response_that_ends_before_its_turn_waits_wakes_the_loop_without_its_webhook(
    stack, client, model, marker, webhook_mode
):
    model.configure(latency=0)  # every response ended when its turn first looks
    model.inject("drop_webhook", match=marker, on="webhook", times=2)
    try:
        run, _ = weather_run(client, marker)
    finally:
        model.configure(latency=0.1)

    assert run.status == "completed", run.last_error
    assert states_of(stack, run.id) == WEBHOOK_STATES
    assert deliveries(stack, marker) == []


def test_turns_with_tool_calls_that_ended_before_they_waited_are_checked_by_the_tasks_that_made_them(
    stack, client, model, marker, webhook_mode
):
    model.configure(latency=0)
    model.inject("drop_webhook", match=marker, on="webhook", times=TEST_TOOL_ROUNDS + 1)
    try:  # paginate always has a next page: each turn calls it again, until the run's rounds are used up
        run, _ = converse(client, f"Paginate the topic animals ({marker})", [server_tool("paginate")])
    finally:
        model.configure(latency=0.1)

    assert run.status == "failed" and run.last_error.code == "max_tool_rounds_exceeded"
    assert len([step for step in steps(client, run) if step.type == "tool_calls"]) == TEST_TOOL_ROUNDS
    states = states_of(stack, run.id)
    assert "CheckTurn" not in states and states.count("SubmitToolOutputsAndWait") == TEST_TOOL_ROUNDS


def client_turn(client: Any, marker: str, output: str = "14:05") -> tuple[Any, Any, Any]:
    """A run whose first turn asks the client for a function's output: (run waiting for it, thread, the call)."""
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[LOCAL_TIME_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"What's the local time in Paris? ({marker})"}]
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=60)
    assert run.status == "requires_action", run.last_error
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    return run, thread, call


def held_turn(client: Any, model: Any, marker: str, drop_webhook: bool = False) -> tuple[Any, Any, float]:
    """A run whose turn after the client's output is held by a ``slow`` fault until the test releases it, its webhook
    dropped if asked: (the run as it waited for the output, its thread, when the output was sent). The output
    carries the marker: it is that turn's whole input."""
    run, thread, call = client_turn(client, marker)
    model.inject("slow", match=marker, seconds=60)
    if drop_webhook:
        model.inject("drop_webhook", match=marker, on="webhook")  # nobody tells the loop of the turn's end
    sent = time.monotonic()
    client.beta.threads.runs.submit_tool_outputs(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": f"14:05 {marker}"}]
    )
    return run, thread, sent


def dropped_turn(stack: LocalStack, client: Any, model: Any, marker: str) -> tuple[Any, Any, Any]:
    """A run whose turn after the client's output has its webhook dropped, its response ending while the turn
    waits for it: (the run as it ended, its thread, when the output was sent)."""
    run, thread, sent = held_turn(client, model, marker, drop_webhook=True)
    release_once_waiting(stack, model, marker, run.id, "WaitForWebhook")
    return client.beta.threads.runs.poll(run.id, thread_id=thread.id, timeout=60), thread, sent


def test_a_dropped_webhook_costs_its_turn_a_poll_and_the_run_completes(stack, client, model, marker, webhook_mode):
    run, thread, started = dropped_turn(stack, client, model, marker)

    assert run.status == "completed", run.last_error
    assert "14:05" in reply(client, thread).content[0].text.value
    assert time.monotonic() - started >= TEST_WEBHOOK_WAIT_SECONDS  # the wait's bound, then a poll
    states = states_of(stack, run.id)
    assert states[states.index("SubmitToolOutputs") :] == [
        "SubmitToolOutputs",
        "Submitted",
        "WaitForWebhook",
        "CheckTurn",
        "Route",
        "FinalizeRun",
        "AnnounceRun",
        "Ended",
        "Stopped",
    ]
    assert len(deliveries(stack, marker)) == 1  # the first turn's: the second's was dropped


def test_a_late_webhook_is_answered_after_its_turn_polled_and_changes_nothing(
    stack, client, model, marker, webhook_mode
):
    run, thread, _ = dropped_turn(stack, client, model, marker)  # the turn polled and ended the run
    states, messages = states_of(stack, run.id), client.beta.threads.messages.list(thread.id).data

    # The dropped delivery arrives now, late: the double signs and posts it as it would have.
    assert stack.model_server is not None and stack.model_server.model.webhooks is not None
    last = [rid for rid, stored in stack.model_server.model.responses.items() if marker in stored.text][-1]
    status = stack.model_server.model.webhooks.send(last, "response.completed")
    late = deliveries(stack, marker)[-1]

    assert run.status == "completed", run.last_error
    assert "CheckTurn" in states
    assert status == 200 and json.loads(late["answer"]) == {"received": True, "woken": False}
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert client.beta.threads.messages.list(thread.id).data == messages
    assert states_of(stack, run.id) == states


def test_a_turn_still_running_after_its_poll_waits_again_and_its_webhook_wakes_it(
    stack, client, model, marker, webhook_mode
):
    run, thread, _ = held_turn(client, model, marker)
    # Released in the second wait: after the first wait's timeout and a poll that found the response running.
    release_once_waiting(stack, model, marker, run.id, "WaitForWebhook", times=2)

    done = client.beta.threads.runs.poll(run.id, thread_id=thread.id, timeout=60)

    assert done.status == "completed", done.last_error
    states = states_of(stack, run.id)
    assert states[states.index("Submitted") :] == [
        "Submitted",
        "WaitForWebhook",
        "CheckTurn",
        "Route",
        "WaitForWebhook",
        "Route",
        "FinalizeRun",
        "AnnounceRun",
        "Ended",
        "Stopped",
    ]
    assert json.loads(deliveries(stack, marker)[-1]["answer"]) == {"received": True, "woken": True}


def test_a_cancel_while_a_turn_waits_for_its_webhook_ends_the_run_cancelled(stack, client, model, marker, webhook_mode):
    model.inject("slow", match=marker, seconds=20)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    runs = stack.stores("default").runs
    wait_for(lambda: runs.get_run_record(thread.id, run.id).task_token)  # the turn waits on its token

    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    ended = wait_for(
        lambda: (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status == "cancelled" and r,
        timeout=10,
    )
    assert ended.cancelled_at is not None
    assert states_of(stack, run.id) == ["Begin", "StartTurnAndWait", "FailRun", "AnnounceRun", "Ended", "Stopped"]
    stored = next(r for r in stack.model_server.model.responses.values() if marker in r.text)
    assert stored.cancelled  # the response was cancelled at the provider too


def test_a_delivered_webhook_sent_again_is_refused_409_as_a_replay(stack, client, model, marker, webhook_mode):
    model.inject("slow", match=marker, seconds=0.5)
    run, _ = weather_run(client, marker)
    first = deliveries(stack, marker)[0]
    assert first["status"] == 200

    status, answer = post(stack, first["body"].encode(), first["headers"])

    assert status == 409 and answer["error"]["code"] == "webhook_replayed"
    assert client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).status == "completed"


def test_a_forged_webhook_is_refused_401(stack, webhook_mode):
    body = json.dumps({"type": "response.completed", "data": {"id": "resp_forged"}}).encode()

    status, answer = post(stack, body, signed(new_secret(), "wh_forged", int(time.time()), body))

    assert status == 401 and answer["error"]["code"] == "invalid_webhook_signature"


def test_a_webhook_of_a_response_no_run_waits_on_is_refused_404(stack, webhook_mode):
    assert stack.webhook_secret is not None
    body = json.dumps({"type": "response.completed", "data": {"id": "resp_nobodys"}}).encode()

    status, answer = post(stack, body, signed(stack.webhook_secret, "wh_nobodys", int(time.time()), body))

    assert status == 404 and answer["error"]["message"] == "No response found with id 'resp_nobodys'."
