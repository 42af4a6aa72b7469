"""The Assistants API v2 contract: the unmodified openai SDK through every supported row of docs/compatibility.md."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from tests.conftest import TEST_TOOL_OUTPUTS_TIMEOUT
from tests.e2e.helpers import (
    ACCOUNT_BALANCE_TOOL,
    LOCAL_TIME_TOOL,
    model_response,
    output_of,
    reply,
    server_tool,
    slow_run,
    steps,
    wait_for,
)


def _assistant(client, tools=(), **fields):
    return client.beta.assistants.create(model="gpt-4.1-mini", tools=list(tools), **fields)


# assistants ------------------------------------------------------------------------------------


def test_assistants_create_retrieve_update_list_delete(project_client):
    client, _ = project_client
    created = client.beta.assistants.create(
        model="gpt-4.1-mini",
        name="Helper",
        description="Helps",
        instructions="Be brief.",
        tools=[{"type": "code_interpreter"}, {"type": "retrieval"}, server_tool("get_weather")],
        metadata={"team": "support"},
        temperature=0.5,
        top_p=0.9,
        response_format={"type": "json_object"},
    )
    assert created.id.startswith("asst_") and created.object == "assistant"
    assert [tool.type for tool in created.tools] == ["code_interpreter", "file_search", "function"]
    assert client.beta.assistants.retrieve(created.id) == created

    updated = client.beta.assistants.update(created.id, name="Renamed", metadata={"team": "sales"}, tools=[])
    assert (updated.name, updated.metadata, updated.tools, updated.instructions) == (
        "Renamed",
        {"team": "sales"},
        [],
        "Be brief.",
    )

    others = [_assistant(client, name=f"a{i}") for i in range(24)]
    listed = [assistant.id for assistant in client.beta.assistants.list(limit=10)]  # auto-paging: 3 pages
    assert listed == [a.id for a in reversed([created, *others])]
    first_page = client.beta.assistants.list(limit=10, order="asc")
    assert first_page.has_more and first_page.first_id == created.id and first_page.last_id == others[8].id

    deleted = client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.retrieve(created.id)


# threads and messages ----------------------------------------------------------------------------


def test_threads_and_messages_through_their_whole_life(stack, project_client):
    client, project = project_client
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}],
        metadata={"channel": "web"},
    )
    assert client.beta.threads.retrieve(thread.id).metadata == {"channel": "web"}
    assert client.beta.threads.update(thread.id, metadata={"channel": "app"}).metadata == {"channel": "app"}

    attached = client.files.create(file=("notes.txt", io.BytesIO(b"Tide tables")), purpose="assistants").id
    parts = client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        attachments=[{"file_id": attached, "tools": [{"type": "file_search"}]}],
        metadata={"k": "v"},
    )
    assert [part.type for part in parts.content] == ["text", "image_url"]
    assert parts.attachments[0].file_id == attached
    assert client.beta.threads.messages.retrieve(parts.id, thread_id=thread.id) == parts
    updated = client.beta.threads.messages.update(parts.id, thread_id=thread.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}
    listed = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.content[0].text.value for m in listed.data] == ["first", "second", "look"]

    other = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError):  # a message id under another thread is not found
        client.beta.threads.messages.retrieve(parts.id, thread_id=other.id)

    deleted = client.beta.threads.messages.delete(parts.id, thread_id=thread.id)
    assert (deleted.object, deleted.deleted) == ("thread.message.deleted", True)
    assert len(client.beta.threads.messages.list(thread.id).data) == 2

    assistant = _assistant(client)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    (answer,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert answer.role == "assistant" and answer.run_id == run.id

    assert stack.table_items(f"P#{project}#THREAD#{thread.id}")  # messages, run, steps
    gone = client.beta.threads.delete(thread.id)
    assert (gone.id, gone.object, gone.deleted) == (thread.id, "thread.deleted", True)
    assert stack.table_items(f"P#{project}#THREAD#{thread.id}") == []  # everything in it went with it
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


# runs --------------------------------------------------------------------------------------------


def test_a_run_takes_every_creation_parameter(client, model, marker):
    assistant = _assistant(client, instructions="Assistant instructions.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "an old message"}])

    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        model="gpt-4.1",
        instructions="Run instructions.",
        additional_instructions="Extra.",
        additional_messages=[{"role": "user", "content": f"Hello {marker}"}],
        tools=[server_tool("get_weather")],
        metadata={"request": "42"},
        temperature=0.2,
        top_p=0.8,
        tool_choice="none",
        parallel_tool_calls=False,
        max_prompt_tokens=5000,
        max_completion_tokens=2000,
        truncation_strategy={"type": "last_messages", "last_messages": 1},
        response_format={"type": "text"},
    )

    assert run.status == "completed"
    assert (run.model, run.instructions, run.metadata) == ("gpt-4.1", "Run instructions.\n\nExtra.", {"request": "42"})
    assert (run.temperature, run.top_p, run.tool_choice, run.parallel_tool_calls) == (0.2, 0.8, "none", False)
    assert (run.max_prompt_tokens, run.max_completion_tokens) == (5000, 2000)
    assert run.truncation_strategy.last_messages == 1 and run.tools[0].function.name == "threadrunner:get_weather"
    (sent,) = model.requests_about(marker)
    assert sent["input"] == [{"role": "user", "content": f"Hello {marker}"}]  # truncated to the last message
    assert (sent["model"], sent["instructions"], sent["tool_choice"], sent["max_output_tokens"]) == (
        "gpt-4.1",
        "Run instructions.\n\nExtra.",
        "none",
        2000,
    )
    assert sent["background"] is True and sent["store"] is True

    listed = client.beta.threads.runs.list(thread_id=thread.id)
    assert [r.id for r in listed.data] == [run.id]
    updated = client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"request": "43"})
    assert updated.metadata == {"request": "43"}
    step = steps(client, run)[0]
    assert client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id) == step

    other = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError):  # a run id under another thread is not found
        client.beta.threads.runs.retrieve(run.id, thread_id=other.id)


def test_create_and_run_poll_and_runs_poll(client):
    assistant = _assistant(client)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Hi there"}]}
    )
    assert run.status == "completed"
    assert "Hi there" in reply(client, client.beta.threads.retrieve(run.thread_id)).content[0].text.value

    started = client.beta.threads.runs.create(thread_id=run.thread_id, assistant_id=assistant.id)
    assert started.status == "queued"
    assert client.beta.threads.runs.poll(started.id, thread_id=run.thread_id).status == "completed"


# client-side tools -------------------------------------------------------------------------------


def test_client_calls_stop_the_run_in_requires_action_until_their_outputs_arrive(client):
    assistant = _assistant(client, [LOCAL_TIME_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What time is it in Paris and Tokyo?"}])

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "requires_action" and run.required_action.type == "submit_tool_outputs"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert sorted(json.loads(c.function.arguments)["city"] for c in calls) == ["Paris", "Tokyo"]
    assert run.expires_at is not None and run.expires_at > run.created_at
    outputs = [{"tool_call_id": c.id, "output": json.dumps({"time": f"12:0{i}"})} for i, c in enumerate(calls)]
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs
    )
    assert done.status == "completed" and done.required_action is None
    assert "12:00" in reply(client, thread).content[0].text.value
    (tool_step,) = [step for step in steps(client, done) if step.type == "tool_calls"]
    assert sorted(c.function.output for c in tool_step.step_details.tool_calls) == [
        '{"time": "12:00"}',
        '{"time": "12:01"}',
    ]


def test_server_calls_run_first_and_the_client_is_asked_only_for_its_own(client):
    assistant = _assistant(client, [server_tool("get_weather"), ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What's the weather in Paris and my account balance?"}]
    )

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "requires_action"
    asked = run.required_action.submit_tool_outputs.tool_calls
    assert [call.function.name for call in asked] == ["get_account_balance"]
    (tool_step,) = [step for step in steps(client, run) if step.type == "tool_calls"]
    weather = next(c for c in tool_step.step_details.tool_calls if c.function.name == "get_weather")
    assert output_of(weather)["city"] == "Paris"  # ran already, on the server
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": asked[0].id, "output": '{"usd": 12}'}]
    )
    assert done.status == "completed"
    text = reply(client, thread).content[0].text.value
    assert "get_weather returned" in text and "usd: 12" in text


def test_tool_outputs_must_answer_every_pending_call_exactly_once(client):
    assistant = _assistant(client, [LOCAL_TIME_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What time is it in Oslo and Rome?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    first, second = (call.id for call in run.required_action.submit_tool_outputs.tool_calls)

    for outputs, message in [
        ([{"tool_call_id": first, "output": "x"}], "Expected tool outputs for call_ids"),
        ([{"tool_call_id": first, "output": "x"}] * 2, "Duplicate tool outputs"),
        ([{"tool_call_id": first, "output": "x"}, {"tool_call_id": "call_nope", "output": "x"}], "call_nope"),
    ]:
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=outputs)
        assert message in caught.value.body["message"] and caught.value.body["param"] == "tool_outputs"
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"  # unchanged

    both = [{"tool_call_id": first, "output": "a"}, {"tool_call_id": second, "output": "b"}]
    client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=both)
    with pytest.raises(openai.BadRequestError, match="do not accept tool outputs"):  # exactly once
        client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=both)
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "completed"


def test_a_run_nobody_answers_expires(client):
    assistant = _assistant(client, [ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"

    expired = wait_for(
        lambda: (r := client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)).status == "expired" and r,
        timeout=TEST_TOOL_OUTPUTS_TIMEOUT + 20,
    )

    assert expired.required_action is None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(
            run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "late"}]
        )
    assert [step.status for step in steps(client, run)] == ["expired"]
    client.beta.threads.messages.create(thread.id, role="user", content="still there?")  # the thread is free


# cancel ------------------------------------------------------------------------------------------


def test_cancel_moves_through_cancelling_to_cancelled_and_frees_the_thread(client, model, marker, stack):
    run, thread = slow_run(client, model, marker)

    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert cancelling.status == "cancelling"
    cancelled = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    response = model_response(stack, marker)
    assert response.cancelled  # the model response was cancelled too
    client.beta.threads.messages.create(thread.id, role="user", content="next")
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_a_cancel_is_final_even_when_the_model_finishes_late(client, model, marker, stack):
    run, thread = slow_run(client, model, marker, seconds=60, ignore_cancel=True)

    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    wait_for(lambda: model.release(marker))  # the model finishes after all, before the loop saw the cancel
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "cancelled"
    assert stack.model_server is not None
    assert stack.model_server.model.view(model_response(stack, marker))["status"] == "completed"

    final = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert final.status == "cancelled" and final.completed_at is None
    assert [m.role for m in client.beta.threads.messages.list(thread.id).data] == ["user"]


def test_a_run_waiting_for_tool_outputs_can_be_cancelled(client):
    assistant = _assistant(client, [ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"

    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "cancelled"
    assert [step.status for step in steps(client, run)] == ["cancelled"]


# the one-active-run rule ---------------------------------------------------------------------------


def test_an_active_run_refuses_messages_and_runs_even_under_concurrent_requests(client, model, marker):
    run, thread = slow_run(client, model, marker)

    def add_message(_):
        return client.beta.threads.messages.create(thread.id, role="user", content="more")

    def add_run(_):
        return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=run.assistant_id)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda job: _outcome(job, None), [add_message, add_run] * 4))
    assert all(isinstance(o, openai.BadRequestError) for o in outcomes)
    assert any(
        f"Can't add messages to {thread.id} while a run {run.id} is active." == o.body["message"] for o in outcomes
    )
    assert any(f"Thread {thread.id} already has an active run {run.id}." == o.body["message"] for o in outcomes)

    before = [m.id for m in client.beta.threads.messages.list(thread.id)]
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=run.assistant_id,
            additional_messages=[{"role": "user", "content": "refused with its run"}],
        )
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == before  # its messages too
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_of_simultaneous_runs_on_an_idle_thread_exactly_one_starts(client, model, marker):
    model.inject("slow", match=marker, seconds=60)  # the winner stays active while the others try
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])

    def start(_):
        return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda i: _outcome(start, i), range(8)))
    started = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(started) == 1
    assert all(isinstance(o, openai.BadRequestError) for o in outcomes if o not in started)
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id).data] == [started[0].id]
    wait_for(lambda: model.release(marker))  # once the winner's response exists
    assert client.beta.threads.runs.poll(started[0].id, thread_id=thread.id).status == "completed"


def _outcome(job, argument):
    try:
        return job(argument)
    except openai.APIError as error:
        return error


# formats, limits, hosted tools, errors ----------------------------------------------------------------


def test_json_formats_give_json_and_a_bad_answer_fails_the_run(client, model, marker):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["city", "rank"],
    }
    assistant = _assistant(client)
    for response_format, check in [
        ({"type": "json_object"}, lambda value: isinstance(value, dict)),
        (
            {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
            lambda value: set(value) == {"city", "rank"} and isinstance(value["rank"], int),
        ),
    ]:
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "Name a city"}]},
            response_format=response_format,
        )
        assert run.status == "completed"
        assert check(json.loads(reply(client, client.beta.threads.retrieve(run.thread_id)).content[0].text.value))

    model.inject("bad_json", match=marker)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": f"Hi {marker}"}]},
        response_format={"type": "json_object"},
    )
    assert run.status == "failed" and run.last_error.code == "invalid_response_format"
    assert "not valid JSON" in run.last_error.message


def test_a_run_stopped_by_its_completion_token_limit_is_incomplete(client):
    assistant = _assistant(client)
    long_text = "Please repeat this sentence back to me in full. " * 40  # the offline model's echo is longer
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": long_text}]},
        max_completion_tokens=256,
    )
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"
    answer = reply(client, client.beta.threads.retrieve(run.thread_id))
    assert answer.status == "incomplete" and answer.incomplete_details.reason == "max_tokens"


def test_hosted_tools_reach_the_model_as_threadrunners_own_functions_whatever_the_provider(client, model, marker):
    """code_interpreter and file_search are threadrunner's own (functions the model may call, which the ToolFunction
    runs), never the provider's hosted tools; file_search is offered when the run has vector stores to search."""
    store = client.vector_stores.create(name="Empty")
    assistant = _assistant(client, [{"type": "code_interpreter"}, {"type": "file_search"}])
    for resources, expected in [
        (None, [{"type": "function", "name": "code_interpreter"}]),
        (
            {"file_search": {"vector_store_ids": [store.id]}},
            [{"type": "function", "name": "code_interpreter"}, {"type": "function", "name": "file_search"}],
        ),
    ]:
        text = f"Hello {marker} {len(expected)}"
        client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": text}]},
            tool_resources=resources,
        )
        sent = next(r for r in model.requests_about(marker) if text in json.dumps(r["input"]))  # the first turn
        assert [
            {key: tool[key] for key in want} for tool, want in zip(sent["tools"], expected, strict=True)
        ] == expected
