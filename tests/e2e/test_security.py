"""What an attacker or a careless tenant can do through the API, and the bounds that hold (docs/operations.md)."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import api_call
from tests.e2e.helpers import ACCOUNT_BALANCE_TOOL, wait_for
from threadrunner.app.messages import new_message
from threadrunner.app.requests.messages import MessageCreate
from threadrunner.domain.budget import Budget, ProjectLimits, ProjectPolicy
from threadrunner.domain.json_formats import MAX_FORMAT_CHARS
from threadrunner.domain.user import user_ref

ROOT = Path(__file__).resolve().parents[2]


def _policy(stack, project: str, policy: ProjectPolicy) -> None:
    stack.stores(project).projects.set_policy(policy)


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


def test_a_format_is_checked_in_linear_time_and_a_value_over_its_bound_is_refused_saying_so(client):
    # fastjsonschema's email expression looks for ".." before an "@" from every dot: quadratic in this answer.
    schema = {"type": "object", "properties": {"reply": {"type": "string", "format": "email"}}}
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "a" + "." * 65536}]},
        response_format=_schema_format(schema),
    )

    assert run.status == "failed" and run.last_error.code == "invalid_response_format"
    assert f"data.reply is longer than {MAX_FORMAT_CHARS} characters, the most checked against a format" in (
        run.last_error.message
    )


def test_a_recursive_schema_that_nests_is_taken_and_checks_the_answer(client):
    tree = {
        "type": "object",
        "properties": {"reply": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["reply", "children"],
    }
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", response_format=_schema_format(tree))

    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Draw me a tree."}]}
    )

    assert run.status == "completed", run.last_error
    answer = json.loads(client.beta.threads.messages.list(run.thread_id).data[0].content[0].text.value)
    assert answer["children"] == [] and "Draw me a tree." in answer["reply"]


# 14: bodies Python cannot parse answer 400 -------------------------------------------------------------


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


# 16: what the provider or DynamoDB says stays in the logs ---------------------------------------------


def test_a_provider_refusal_ends_the_run_with_a_generic_error_that_quotes_nothing_of_the_provider(stack, client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    model = stack.model_server.model
    key, model.api_key = model.api_key, "sk-another-provider-key"  # the provider refuses the deployment's key
    try:
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Hello"}]}
        )
    finally:
        model.api_key = key

    assert run.status == "failed" and run.last_error.code == "invalid_prompt"
    assert run.last_error.message == "ModelRequestRejected: The model provider refused the request (HTTP 401)."


def test_data_dynamodb_refuses_answers_400_without_its_words(client):
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.messages.create(thread.id, role="user", content="x" * 420_000)
    assert caught.value.body["message"] == (
        "The request holds data that cannot be stored: an object over 400 KB, or nested too deeply."
    )


# 17: client tool outputs are bounded like server ones ---------------------------------------------------


def test_a_client_tool_output_over_the_cap_is_refused_and_the_run_still_waits(client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (call,) = run.required_action.submit_tool_outputs.tool_calls

    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "x" * 390_000}]
        )

    assert caught.value.param == "tool_outputs[0].output" and "at most 65536" in caught.value.message
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "12 USD"}]
    )
    assert done.status == "completed"


# 23: run texts are bounded; an operator can limit a project's models -----------------------------------


# 24: the local stack's own tools and adapters ------------------------------------------------------------


def test_the_key_tool_finds_a_stack_on_another_port(stack):
    port = stack.aws_endpoint.rsplit(":", 1)[1]
    name = "key-" + secrets.token_hex(3)
    created = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "keys.py"), "create", "--name", name, "--project", "ported"],
        capture_output=True,
        text=True,
        env={**os.environ, "THREADRUNNER_AWS_PORT": port},
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert api_call(stack, "GET", "/assistants", key=key)[0] == 200


def test_the_http_adapter_refuses_lengths_it_cannot_read(stack):
    host, port = stack.api_url.split("//")[1].split("/")[0].split(":")
    for length, status in (("-1", 400), ("abc", 400), (str(10**12), 413)):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.putrequest("POST", "/v1/assistants")
        connection.putheader("Content-Length", length)
        connection.putheader("Authorization", f"Bearer {stack.config.api_key}")
        connection.endheaders()
        answer = connection.getresponse()
        assert answer.status == status and json.loads(answer.read())["error"]["code"] == "invalid_request"
        connection.close()


# 9: filtering messages by run reads about a page, however long the thread ----------------------------------


def test_listing_a_runs_messages_in_a_long_thread_reads_a_few_items(stack, client):
    from threadrunner import bootstrap

    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "first"}]}
    )
    stores = stack.stores("default")
    for index in range(300):  # a long thread after the run, written straight to the table
        stores.threads.add_message(new_message(run.thread_id, MessageCreate(role="user", content=f"later {index}")))
    queries: list[str] = []
    api_client = bootstrap._made("dynamodb")  # the client ApiFunction reads the table with
    api_client.meta.events.register("before-call.dynamodb.Query", lambda **_: queries.append("query"))

    listed = client.beta.threads.messages.list(run.thread_id, run_id=run.id)

    assert [(m.role, m.run_id) for m in listed.data] == [("assistant", run.id)] and not listed.has_more
    assert len(queries) <= 1


# 3: deleting a user's thread never breaks the user -------------------------------------------------------


def test_deleting_a_users_thread_lets_the_user_go_on_in_a_new_one_and_be_deleted(stack, api, client):
    user = f"bob-{secrets.token_hex(3)}"
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    first = api("POST", f"/users/{user}/messages", {"assistant_id": assistant.id, "content": "hello"})[1]
    wait_for(lambda: client.beta.threads.runs.retrieve(first["id"], thread_id=first["thread_id"]).status == "completed")

    client.beta.threads.delete(first["thread_id"])

    assert api("GET", f"/users/{user}")[0] == 404  # the mapping went with its thread
    status, second = api("POST", f"/users/{user}/messages", {"assistant_id": assistant.id, "content": "again"})
    assert status == 202 and second["thread_id"] != first["thread_id"]
    wait_for(
        lambda: client.beta.threads.runs.retrieve(second["id"], thread_id=second["thread_id"]).status == "completed"
    )
    assert [m["role"] for m in api("GET", f"/users/{user}/messages")[1]["data"]] == ["assistant", "user"]
    assert api("DELETE", f"/users/{user}")[0] == 200


def test_a_user_whose_thread_vanished_is_repaired_and_leaves_no_orphans(stack, api, client):
    user = f"carol-{secrets.token_hex(3)}"
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    first = api("POST", f"/users/{user}/messages", {"assistant_id": assistant.id, "content": "hello"})[1]
    wait_for(lambda: client.beta.threads.runs.retrieve(first["id"], thread_id=first["thread_id"]).status == "completed")
    dynamodb = stack.client("dynamodb")
    for item in stack.table_items(f"P#default#THREAD#{first['thread_id']}"):  # gone behind the mapping's back
        dynamodb.delete_item(TableName=stack.table_name, Key={"PK": item["PK"], "SK": item["SK"]})

    assert api("GET", f"/users/{user}/messages")[1]["data"] == []
    status, second = api("POST", f"/users/{user}/messages", {"assistant_id": assistant.id, "content": "still here?"})

    assert status == 202 and second["thread_id"] != first["thread_id"]
    assert api("GET", f"/users/{user}")[1]["thread_id"] == second["thread_id"]
    assert stack.table_items(f"P#default#THREAD#{first['thread_id']}") == []  # nothing queued into the void
    assert api("DELETE", f"/users/{user}")[0] == 200


# 4, 22: a turn's calls are capped; every turn under the cap is answerable ----------------------------------

ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "The status of an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
}


def test_a_turn_of_more_calls_than_the_cap_fails_clearly_and_one_at_the_cap_is_answerable(client):
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[ORDER_TOOL])
    orders = " ".join(f"A-{number}" for number in range(1, 101))
    many = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": f"Status of orders {orders}"}]}
    )
    assert many.status == "failed" and many.last_error.code == "too_many_tool_calls"
    assert "100 tool calls" in many.last_error.message

    orders = " ".join(f"A-{number}" for number in range(1, 65))
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": f"Status of orders {orders}"}]}
    )
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert len(calls) == 64
    outputs = [{"tool_call_id": call.id, "output": f"shipped {call.id}"} for call in calls]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=outputs
    )
    assert done.status == "completed"


# 2: every response the provider worked on counts, whatever happens to its run or thread ---------------------


def _usage(stack, client) -> dict:
    return api_call(stack, "GET", "/usage", key=client.api_key)[1]


def test_a_thread_deleted_mid_run_and_a_cancelled_run_still_count_what_the_provider_did(
    stack, project_client, model, marker
):
    client, _ = project_client
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    model.inject("slow", match=marker, seconds=30, times=2)
    prompt = f"{marker} " + "word " * 20_000  # 100 KB
    deleted = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": prompt}]}
    )
    cancelled = client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": prompt}]}
    )
    for run in (deleted, cancelled):
        wait_for(
            lambda run=run: client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).status == "in_progress"
        )

    client.beta.threads.delete(deleted.thread_id)
    client.beta.threads.runs.cancel(cancelled.id, thread_id=cancelled.thread_id)

    settled = wait_for(lambda: (today := _usage(stack, client))["reserved_tokens"] == 0 and today, timeout=30)
    assert settled["usage"]["prompt_tokens"] >= 2 * 25_000  # each prompt was read, and is charged
    responses = [r for r in stack.model_server.model.responses.values() if marker in r.text]
    assert len(responses) == 2 and all(r.cancelled for r in responses)  # and neither keeps running


# 6: budgets hold under concurrency; a project's runs and requests are bounded -------------------------------


def test_concurrent_runs_overshoot_a_budget_by_at_most_one_response(stack, project_client):
    client, project = project_client
    _policy(stack, project, ProjectPolicy(budget=Budget(daily_tokens=300)))
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    def start(index: int) -> Any:
        return client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": f"Hello {index}"}]}
        )

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lambda i: _outcome(start, i), range(30)))

    runs = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, openai.RateLimitError)]
    assert len(runs) + len(refused) == 30
    completed = [r for r in runs if r.status == "completed"]
    assert completed and all(
        r.status == "completed" or (r.status == "failed" and r.last_error.code == "daily_budget_exceeded") for r in runs
    )
    today = wait_for(lambda: (usage := _usage(stack, client))["reserved_tokens"] == 0 and usage)
    biggest = max(r.usage.total_tokens for r in completed)
    assert today["usage"]["total_tokens"] <= 300 + biggest  # was 3,757 without reservations


def _outcome(job, argument):
    try:
        return job(argument)
    except openai.APIError as error:
        return error


def test_a_project_may_have_only_so_many_unfinished_runs(stack, project_client, model, marker):
    client, project = project_client
    _policy(stack, project, ProjectPolicy(limits=ProjectLimits(active_runs=2)))
    model.inject("slow", match=marker, seconds=30, times=2)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": f"Hi {marker}"}]) for _ in range(3)]
    first, _ = (client.beta.threads.runs.create(thread_id=t.id, assistant_id=assistant.id) for t in threads[:2])

    with pytest.raises(openai.RateLimitError) as caught:
        client.beta.threads.runs.create(thread_id=threads[2].id, assistant_id=assistant.id)

    assert caught.value.code == "too_many_active_runs" and caught.value.response.headers["retry-after"] == "5"
    assert client.beta.threads.runs.list(thread_id=threads[2].id).data == []
    client.beta.threads.runs.cancel(first.id, thread_id=threads[0].id)
    client.beta.threads.delete(threads[1].id)  # a run that ends with its thread leaves its place too
    wait_for(lambda: client.beta.threads.runs.retrieve(first.id, thread_id=threads[0].id).status == "cancelled")
    third = client.beta.threads.runs.create(thread_id=threads[2].id, assistant_id=assistant.id)
    assert client.beta.threads.runs.poll(third.id, thread_id=threads[2].id).status == "completed"


def _threads(stack, project: str) -> set[str]:
    """The ids of the project's threads, as the table holds them."""
    return {item["PK"]["S"].rsplit("#", 1)[1] for item in stack.table_items(f"P#{project}#THREAD#")}


def test_a_thread_and_run_refused_for_the_projects_limits_leaves_no_thread(stack, project_client, model, marker):
    client, project = project_client
    _policy(stack, project, ProjectPolicy(limits=ProjectLimits(active_runs=1)))
    model.inject("slow", match=marker, seconds=30, times=1)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = {"messages": [{"role": "user", "content": f"Hi {marker}"}]}
    busy = client.beta.threads.create_and_run(assistant_id=assistant.id, thread=thread)

    for _ in range(3):  # a call and the SDK's two retries
        with pytest.raises(openai.RateLimitError) as caught:
            client.beta.threads.create_and_run(assistant_id=assistant.id, thread=thread)
        assert caught.value.code == "too_many_active_runs"
    assert _threads(stack, project) == {busy.thread_id}

    client.beta.threads.runs.cancel(busy.id, thread_id=busy.thread_id)
    wait_for(lambda: client.beta.threads.runs.retrieve(busy.id, thread_id=busy.thread_id).status == "cancelled")
    _policy(stack, project, ProjectPolicy(budget=Budget(daily_tokens=1), limits=ProjectLimits(active_runs=1)))
    wait_for(lambda: _usage(stack, client)["reserved_tokens"] == 0)  # the cancelled response is counted

    with pytest.raises(openai.RateLimitError) as spent:
        client.beta.threads.create_and_run(assistant_id=assistant.id, thread=thread)
    assert spent.value.code == "daily_budget_exceeded" and _threads(stack, project) == {busy.thread_id}


# 5: a retry with an Idempotency-Key gets the first answer, however large ---------------------------------


@pytest.mark.parametrize(
    "content",
    ["A long letter. " * 10_000, secrets.token_urlsafe(290_000)],  # packed, and too big even packed
    ids=["compressible", "incompressible"],
)
def test_a_large_answer_is_replayed_and_never_created_twice(client, content):
    thread = client.beta.threads.create()
    key = "retry-" + secrets.token_hex(4)

    first = client.beta.threads.messages.create(
        thread.id, role="user", content=content, extra_headers={"Idempotency-Key": key}
    )
    again = client.beta.threads.messages.create(
        thread.id, role="user", content=content, extra_headers={"Idempotency-Key": key}
    )

    assert again == first and again.content[0].text.value == content
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == [first.id]


def test_a_queued_users_message_too_large_to_keep_is_never_queued_twice(stack, client, model, marker):
    """A queued user message has no GET of its own to read it back: a retry is told so, and queues nothing."""
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    user = f"erin-{secrets.token_hex(3)}"
    model.inject("slow", match=marker, seconds=60, times=1)  # busy until the test releases it
    busy = api_call(stack, "POST", f"/users/{user}/messages", {"assistant_id": assistant.id, "content": marker})[1]
    content = secrets.token_urlsafe(290_000)  # too big to keep, even packed
    key = "retry-" + secrets.token_hex(4)

    def post() -> tuple[int, Any]:
        body = {"assistant_id": assistant.id, "content": content}
        return api_call(stack, "POST", f"/users/{user}/messages", body, headers={"Idempotency-Key": key})

    (status, first), (again_status, again) = post(), post()

    assert status == 202 and first["object"] == "user.message.queued"
    assert again_status == 409 and again["error"]["code"] == "idempotency_answer_unavailable"
    assert first["id"] in again["error"]["message"]
    wait_for(lambda: model.release(marker))  # once the busy run's response exists
    client.beta.threads.runs.poll(busy["id"], thread_id=busy["thread_id"])

    def user_texts() -> list[str]:
        messages = client.beta.threads.messages.list(busy["thread_id"])
        return [m.content[0].text.value for m in messages if m.role == "user"]

    answered = wait_for(lambda: content in (texts := user_texts()) and texts)  # once the next run took the queue
    assert answered.count(content) == 1


# 10: a producer of events acts for the one project it is bound to ------------------------------------------


def _message_event(source: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": secrets.token_hex(8),
        "detail-type": "threadrunner.message.requested",
        "source": source,
        "account": "123456789012",
        "time": "2026-11-25T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_events_and_queue_messages_act_for_their_producers_project_only(stack, client):
    from threadrunner_local.dispatch import FunctionError

    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    user = f"dave-{secrets.token_hex(3)}"
    payload = {"user_id": user, "assistant_id": assistant.id, "content": "hi"}
    for source, detail, why in (
        ("someone.else", payload, "bound to no project"),
        ("my.app", {**payload, "project": "samples"}, "may post for the project 'default' only"),
    ):
        with pytest.raises(FunctionError, match=why):
            stack.dispatcher.invoke("EventsFunction", _message_event(source, detail))
    assert api_call(stack, "GET", f"/users/{user}")[0] == 404  # nothing was posted, in any project
    assert api_call(stack, "GET", f"/users/{user}", key="sk-local-samples")[0] == 404

    def record(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": secrets.token_hex(8),
            "receiptHandle": "x",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": stack.template.arn("MessagesQueue"),
            "awsRegion": "us-east-1",
        }

    other, own = record({**payload, "project": "samples"}), record(payload)
    answer = stack.dispatcher.invoke("QueueFunction", {"Records": [other, own]})
    assert answer["batchItemFailures"] == [{"itemIdentifier": other["messageId"]}]
    assert api_call(stack, "GET", f"/users/{user}")[0] == 200  # the queue's own project took the other message
    assert api_call(stack, "GET", f"/users/{user}", key="sk-local-samples")[0] == 404


# 11: a project's file_search reads its own vector stores only --------------------------------------------------


def test_file_search_reads_only_the_projects_own_vector_stores(client, project_client):
    """Vector stores are threadrunner's, in the project's partition and under its hashed name in the index: another
    project's id is refused where it is named, and its chunks are never searched."""
    other, _ = project_client
    secret = client.files.create(file=("secret.txt", io.BytesIO(b"The vault code is 4711.")), purpose="assistants")
    theirs = client.vector_stores.create(name="Theirs", file_ids=[secret.id])
    wait_for(lambda: client.vector_stores.retrieve(theirs.id).status == "completed")
    resources = {"file_search": {"vector_store_ids": [theirs.id]}}
    for call in (
        lambda: other.beta.assistants.create(model="gpt-4.1-mini", tool_resources=resources),
        lambda: other.beta.threads.create(tool_resources=resources),
        lambda: other.beta.threads.update(other.beta.threads.create().id, tool_resources=resources),
        lambda: other.vector_stores.files.create(vector_store_id=theirs.id, file_id=secret.id),
    ):
        with pytest.raises((openai.BadRequestError, openai.NotFoundError)):
            call()

    mine = other.vector_stores.create(name="Mine")
    assistant = other.beta.assistants.create(
        model="gpt-4.1-mini",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [mine.id]}},
    )
    run = other.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "What is the vault code?"}]}
    )
    assert run.status == "completed"
    (step,) = [s for s in other.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id) if s.type == "tool_calls"]
    assert step.step_details.tool_calls[0].file_search.results == []  # the other project's chunk is not found


# third pass, 1: a file's name never reaches a header raw --------------------------------------------------

FORGED_NAME = (
    'x"\r\nSet-Cookie: session=stolen\r\nContent-Length: 0\r\n\r\n'
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)
"""A name that, written raw into ``Content-Disposition``, sets a cookie, ends the answer at once and leaves a forged
second answer on the kept-alive connection, for the client's next request."""


def test_a_stored_file_name_with_line_breaks_adds_no_header_and_forges_no_answer(stack, project_client):
    """Names are checked when they arrive; one stored before (written to the table here) is still harmless."""
    from threadrunner.domain.common import now
    from threadrunner.domain.files import FileObject, content_key
    from threadrunner.domain.ids import new_id

    client, project = project_client
    file = FileObject(id=new_id("file", "-"), bytes=9, created_at=now(), filename=FORGED_NAME, purpose="assistants")
    stack.file_contents().put(content_key(project, file.id), b"the bytes")
    stack.stores(project).files.put_file(file, content_key(project, file.id))
    host, port = stack.api_url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Authorization": f"Bearer {client.api_key}"}

    connection.request("GET", f"/v1/files/{file.id}/content", headers=headers)
    download = connection.getresponse()
    data = download.read()
    connection.request("GET", f"/v1/files/{file.id}", headers=headers)  # the next request, same connection
    following = connection.getresponse()

    assert (download.status, data) == (200, b"the bytes")
    assert download.getheader("Set-Cookie") is None and download.getheader("Content-Length") == "9"
    disposition = download.getheader("Content-Disposition")
    assert disposition.startswith('attachment; filename="x___Set-Cookie: session=stolen__Content-Length: 0____HTTP')
    assert "filename*=UTF-8''x%22%0D%0ASet-Cookie%3A%20session%3Dstolen%0D%0A" in disposition
    assert following.status == 200 and json.loads(following.read())["id"] == file.id  # the real answer
