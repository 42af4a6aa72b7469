"""Users' threads over HTTP, EventBridge and SQS, and the run events they produce."""

from __future__ import annotations

import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from openai.types.beta.threads import Message

from tests.conftest import api_call
from tests.e2e.helpers import ACCOUNT_BALANCE_TOOL, wait_for
from tests.support.fidelity import problems, thread_problems
from threadrunner_local.dispatch import FunctionError


@pytest.fixture
def assistant(client):
    return client.beta.assistants.create(model="gpt-4.1-mini", instructions="Be helpful.")


@pytest.fixture
def user_id() -> str:
    return f"user-{secrets.token_hex(4)}@example.com"


def _post(stack, user_id, assistant_id, content, **extra):
    return api_call(
        stack, "POST", f"/users/{user_id}/messages", {"assistant_id": assistant_id, "content": content, **extra}
    )


def _finished(client, thread_id, run_id):
    return client.beta.threads.runs.poll(run_id, thread_id=thread_id)


def test_a_users_messages_resume_the_users_thread_and_deleting_the_user_erases_it(
    stack, client, model, assistant, user_id, marker
):
    status, first = _post(stack, user_id, assistant.id, f"Hello, I am {marker}")
    assert status == 202 and first["object"] == "thread.run" and first["thread_id"].startswith("thread_")
    assert _finished(client, first["thread_id"], first["id"]).status == "completed"

    status, second = _post(stack, user_id, assistant.id, "Do you remember me?")
    assert status == 202 and second["thread_id"] == first["thread_id"]
    assert _finished(client, second["thread_id"], second["id"]).status == "completed"
    sent = model.requests_about(marker)[-1]["input"]  # the second run's model call saw the whole history
    assert [item["role"] for item in sent] == ["user", "assistant", "user"]
    assert sent[-1]["content"] == "Do you remember me?"

    status, user = api_call(stack, "GET", f"/users/{user_id}")
    assert status == 200 and (user["object"], user["id"], user["thread_id"]) == ("user", user_id, first["thread_id"])
    assert user["usage"]["total_tokens"] > 0
    status, listed = api_call(stack, "GET", f"/users/{user_id}/messages?order=asc")
    assert [m["role"] for m in listed["data"]] == ["user", "assistant", "user", "assistant"]
    assert [problems(Message, m) for m in listed["data"]] == [[]] * 4  # the hosted API's fields and types
    assert thread_problems(lambda path: api_call(stack, "GET", path)[1], first["thread_id"]) == []

    assert api_call(stack, "DELETE", f"/users/{user_id}") == (
        200,
        {"id": user_id, "object": "user.deleted", "deleted": True},
    )
    assert api_call(stack, "GET", f"/users/{user_id}")[0] == 404
    assert api_call(stack, "GET", f"/users/{user_id}/messages")[1]["data"] == []
    assert stack.table_items(f"P#default#THREAD#{first['thread_id']}", f"P#default#USER#{user_id}") == []


def test_simultaneous_first_messages_of_a_user_end_in_one_thread_and_all_are_answered(
    stack, client, assistant, user_id
):
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: _post(stack, user_id, assistant.id, f"message {i}"), range(6)))

    assert {status for status, _ in answers} == {202}
    threads = {answer["thread_id"] for _, answer in answers}
    assert len(threads) == 1
    thread_id = threads.pop()
    assert api_call(stack, "GET", f"/users/{user_id}")[1]["thread_id"] == thread_id

    def all_answered():  # every message in the thread (none waiting in the queue), the last run done
        messages = client.beta.threads.messages.list(thread_id, order="asc", limit=100).data
        runs = client.beta.threads.runs.list(thread_id=thread_id).data
        landed = sum(m.role == "user" for m in messages) == 6
        done = landed and all(run.status == "completed" for run in runs) and messages[-1].role == "assistant"
        return done and messages

    messages = wait_for(all_answered, timeout=60)
    texts = [m.content[0].text.value for m in messages if m.role == "user"]
    assert sorted(texts) == [f"message {i}" for i in range(6)]


def test_messages_sent_during_a_run_are_queued_in_order_and_answered_by_the_next_run(
    stack, client, model, assistant, user_id, marker
):
    model.inject("slow", match=marker, seconds=60)  # the first run's response ends when the test releases it
    status, first = _post(stack, user_id, assistant.id, f"First {marker}")
    assert status == 202 and first["object"] == "thread.run"

    queued = [_post(stack, user_id, assistant.id, f"Follow-up {i}") for i in (1, 2, 3)]
    assert [(status, answer["object"], answer["position"]) for status, answer in queued] == [
        (202, "user.message.queued", 1),
        (202, "user.message.queued", 2),
        (202, "user.message.queued", 3),
    ]
    status, rejected = _post(stack, user_id, assistant.id, "Not now", if_busy="reject")
    assert status == 409 and rejected["error"]["code"] == "thread_busy"
    wait_for(lambda: model.release(marker))  # once the first run's response exists

    thread_id = first["thread_id"]

    def answered():
        runs = client.beta.threads.runs.list(thread_id=thread_id, order="asc").data
        return len(runs) == 2 and all(run.status == "completed" for run in runs) and runs

    runs = wait_for(answered, timeout=60)
    messages = client.beta.threads.messages.list(thread_id, order="asc").data
    assert [(m.role, m.content[0].text.value.split(".")[0]) for m in messages if m.role == "user"] == [
        ("user", f"First {marker}"),
        ("user", "Follow-up 1"),
        ("user", "Follow-up 2"),
        ("user", "Follow-up 3"),
    ]
    assert [m.role for m in messages] == ["user", "assistant", "user", "user", "user", "assistant"]
    assert messages[-1].run_id == runs[1].id  # one follow-up run answered all three
    assert "Not now" not in json.dumps([m.model_dump() for m in messages])


def test_once_a_users_run_is_seen_ended_however_it_ended_the_next_message_starts_a_run_at_once(
    stack, client, model, user_id, marker
):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[ACCOUNT_BALANCE_TOOL])
    model.inject("failed", match=f"fail {marker}")
    seen = []

    for text in ("Hello", "What is my account balance?", f"fail {marker}", f"cancel {marker}", "Hello again"):
        status, answer = _post(stack, user_id, assistant.id, text)
        assert status == 202, answer
        seen.append(answer["object"])
        thread_id, run_id = answer["thread_id"], answer["id"]
        if text.startswith("cancel"):
            client.beta.threads.runs.cancel(run_id, thread_id=thread_id)
        # Polled as a client polls: until the run shows an end (or asks for outputs, which the client gives).
        run = client.beta.threads.runs.poll(run_id, thread_id=thread_id, poll_interval_ms=50)
        if run.status == "requires_action":
            (call,) = run.required_action.submit_tool_outputs.tool_calls
            run = client.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run_id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "7 EUR"}]
            )
        seen.append(run.status)

    # The run's end and its thread's release are one write: no message sent after it waits in the queue.
    assert seen == [
        "thread.run", "completed", "thread.run", "completed", "thread.run", "failed",
        "thread.run", "cancelled", "thread.run", "completed",
    ]  # fmt: skip


def test_a_users_message_triggered_through_eventbridge_completes_and_announces_its_reply(
    stack, client, assistant, user_id, run_events
):
    stack.client("events").put_events(
        Entries=[
            {
                "Source": "my.app",
                "DetailType": "threadrunner.message.requested",
                "EventBusName": "threadrunner-local-events",
                "Detail": json.dumps(
                    {"user_id": user_id, "assistant_id": assistant.id, "content": "Hi from EventBridge"}
                ),
            }
        ]
    )

    thread_id = wait_for(lambda: api_call(stack, "GET", f"/users/{user_id}")[1].get("thread_id"))
    run = wait_for(lambda: client.beta.threads.runs.list(thread_id=thread_id).data)[0]
    assert _finished(client, thread_id, run.id).status == "completed"
    (event,) = wait_for(lambda: run_events.of(run.id))
    assert (event["source"], event["detail-type"]) == ("threadrunner", "threadrunner.run.completed")
    detail = event["detail"]
    assert (detail["user_id"], detail["thread_id"], detail["assistant_id"], detail["status"]) == (
        user_id,
        thread_id,
        assistant.id,
        "completed",
    )
    assert "Hi from EventBridge" in detail["reply"] and detail["usage"]["total_tokens"] > 0
    assert detail["last_error"] is None
    written = api_call(stack, "GET", f"/threads/{thread_id}/messages")[1]["data"]
    assert len(written) == 2 and thread_problems(lambda path: api_call(stack, "GET", path)[1], thread_id) == []


def test_a_users_message_triggered_through_sqs_completes_and_announces_its_reply(
    stack, client, assistant, user_id, run_events
):
    body = {"user_id": user_id, "assistant_id": assistant.id, "content": "Hi from SQS"}
    stack.client("sqs").send_message(QueueUrl=stack.queue_url("MessagesQueue"), MessageBody=json.dumps(body))

    thread_id = wait_for(lambda: api_call(stack, "GET", f"/users/{user_id}")[1].get("thread_id"))
    run = wait_for(lambda: client.beta.threads.runs.list(thread_id=thread_id).data)[0]
    assert _finished(client, thread_id, run.id).status == "completed"
    (event,) = wait_for(lambda: run_events.of(run.id))
    assert event["detail-type"] == "threadrunner.run.completed" and "Hi from SQS" in event["detail"]["reply"]
    written = api_call(stack, "GET", f"/threads/{thread_id}/messages")[1]["data"]
    assert len(written) == 2 and thread_problems(lambda path: api_call(stack, "GET", path)[1], thread_id) == []


def test_runs_announce_requires_action_and_how_they_end(stack, client, run_events):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "cancelled"

    events = wait_for(lambda: len(run_events.of(run.id)) == 2 and run_events.of(run.id))
    assert [e["detail-type"] for e in events] == ["threadrunner.run.requires_action", "threadrunner.run.cancelled"]
    calls = events[0]["detail"]["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["get_account_balance"]
    assert events[0]["detail"]["user_id"] is None  # not a user's thread


def _sqs_event(stack, message_id: str, body: str) -> dict:
    """A batch of one record from the stack's queue, which posts for the default project."""
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "handle",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": stack.template.arn("MessagesQueue"),
                "awsRegion": "us-east-1",
            }
        ]
    }


def _eventbridge_event(event_id: str, detail: dict) -> dict:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "threadrunner.message.requested",
        "source": "my.app",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_a_duplicate_delivery_posts_once(stack, client, assistant, user_id):
    body = {"user_id": user_id, "assistant_id": assistant.id, "content": "only once"}
    sqs_event = _sqs_event(stack, str(uuid.uuid4()), json.dumps(body))
    first = stack.dispatcher.invoke("QueueFunction", sqs_event)
    again = stack.dispatcher.invoke("QueueFunction", sqs_event)
    assert first == again == {"batchItemFailures": []}
    event = _eventbridge_event(str(uuid.uuid4()), {**body, "content": "also once"})
    assert stack.dispatcher.invoke("EventsFunction", event) == stack.dispatcher.invoke("EventsFunction", event)

    thread_id = api_call(stack, "GET", f"/users/{user_id}")[1]["thread_id"]

    def both_answered():
        messages = client.beta.threads.messages.list(thread_id).data
        replies = [m for m in messages if m.role == "assistant"]
        return len(replies) == 2 and sorted(m.content[0].text.value for m in messages if m.role == "user")

    assert wait_for(both_answered, timeout=60) == ["also once", "only once"]  # and nothing posted twice
    assert [run.status for run in client.beta.threads.runs.list(thread_id=thread_id)] == ["completed", "completed"]


def test_a_poisoned_queue_message_goes_to_the_dead_letter_queue_without_blocking_the_batch(
    stack, client, assistant, user_id
):
    good = {"user_id": user_id, "assistant_id": assistant.id, "content": "good one"}
    poison = '{"user_id": "' + user_id + '", "content": "no assistant"}'
    stack.client("sqs").send_message_batch(
        QueueUrl=stack.queue_url("MessagesQueue"),
        Entries=[
            {"Id": "a", "MessageBody": json.dumps(good)},
            {"Id": "b", "MessageBody": poison},
            {"Id": "c", "MessageBody": json.dumps({**good, "content": "good two"})},
        ],
    )

    thread_id = wait_for(lambda: api_call(stack, "GET", f"/users/{user_id}")[1].get("thread_id"))
    dead_letters = stack.queue_url("MessagesDeadLetterQueue")

    def in_dead_letter_queue():
        messages = stack.client("sqs").receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)
        return [m["Body"] for m in messages.get("Messages", []) if user_id in m["Body"]]

    assert wait_for(in_dead_letter_queue, timeout=60) == [poison]
    texts = [m.content[0].text.value for m in client.beta.threads.messages.list(thread_id).data if m.role == "user"]
    assert sorted(texts) == ["good one", "good two"]


def test_bad_user_ids_and_bad_payloads_get_clear_errors_and_write_nothing(stack, assistant):
    for bad in ("-starts-with-dash", "has space", "x" * 129, "semi;colon"):
        status, answer = _post(stack, bad.replace(" ", "%20"), assistant.id, "hi")
        assert status == 400 and answer["error"]["param"] == "user_id"
        assert "a user_id is 1 to 128 characters" in answer["error"]["message"]
    status, answer = _post(stack, "fine-user", "asst_nope", "hi")
    assert status == 404 and answer["error"]["message"] == "No assistant found with id 'asst_nope'."

    for detail, problem in [
        ({"assistant_id": assistant.id, "content": "no user"}, "user_id: Field required"),
        ({"user_id": "u 1", "assistant_id": assistant.id, "content": "x"}, "a user_id is 1 to 128 characters"),
        ({"user_id": "u1", "assistant_id": assistant.id}, "content: Field required"),
    ]:
        with pytest.raises(FunctionError) as caught:
            stack.dispatcher.invoke("EventsFunction", _eventbridge_event(str(uuid.uuid4()), detail))
        assert caught.value.payload["errorType"] == "InvalidEvent" and problem in caught.value.payload["errorMessage"]
    with pytest.raises(FunctionError) as caught:  # a batch whose every record fails fails whole (Powertools)
        stack.dispatcher.invoke("QueueFunction", _sqs_event(stack, "bad-json", "{not json"))
    assert "InvalidEvent: The payload is not a user's message (not JSON" in caught.value.payload["errorMessage"]
    assert stack.table_items("P#default#USER#fine-user", "P#default#USER#u1") == []
