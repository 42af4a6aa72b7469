"""The run loop end to end: the unmodified openai SDK against the running local stack."""

from __future__ import annotations

import json

from tests.conftest import TEST_TOOL_ROUNDS
from tests.e2e.helpers import converse, output_of, reply, server_tool, steps, tool_calls
from tests.support.tools import BIG_OUTPUT_BYTES
from threadrunner.tools.weather import GetWeatherArgs, get_weather
from threadrunner_local.stack import LocalStack


def test_weather_question_completes_with_an_answer_built_from_the_tool_output(client):
    run, thread = converse(client, "What's the weather in San Francisco?", [server_tool("get_weather")])

    assert run.status == "completed"
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens > 0
    tool_step, message_step = steps(client, run)
    assert (tool_step.type, tool_step.status) == ("tool_calls", "completed")
    (call,) = tool_step.step_details.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "San Francisco"}
    expected = get_weather(GetWeatherArgs(city="San Francisco"))
    assert output_of(call) == expected
    answer = reply(client, thread)
    assert (answer.role, answer.run_id, answer.assistant_id) == ("assistant", run.id, run.assistant_id)
    assert (message_step.type, message_step.step_details.message_creation.message_id) == ("message_creation", answer.id)
    text = answer.content[0].text.value
    assert "San Francisco" in text and f"temperature: {expected['temperature']}" in text


def test_calls_of_one_turn_fan_out_one_tool_invocation_each(client, stack: LocalStack):
    run, _ = converse(client, "Compare the weather in Paris and Tokyo", [server_tool("get_weather")])

    assert run.status == "completed"
    (tool_step,) = [step for step in steps(client, run) if step.type == "tool_calls"]
    calls = tool_step.step_details.tool_calls
    assert sorted(json.loads(c.function.arguments)["city"] for c in calls) == ["Paris", "Tokyo"]
    assert all(output_of(c)["city"] == json.loads(c.function.arguments)["city"] for c in calls)
    history = _history(stack, run.id)
    assert [e["type"] for e in history].count("MapIterationStarted") == 2


def test_a_tool_that_raises_gives_the_model_an_error_and_the_run_completes(client):
    run, thread = converse(client, "Please explode the bomb", [server_tool("explode")])

    assert run.status == "completed"
    (call,) = tool_calls(client, run)
    topic = json.loads(call.function.arguments)["topic"]
    assert output_of(call) == {"error": f"explode raised RuntimeError: the {topic} exploded"}
    assert "explode failed" in reply(client, thread).content[0].text.value


def test_a_tool_that_times_out_gives_the_model_an_error_and_the_run_completes(client):
    run, _ = converse(client, "Be sleepy about the topic naps", [server_tool("sleepy")])

    assert run.status == "completed"
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"error": "sleepy timed out after 1 s"}


def test_model_errors_are_retried_and_the_run_completes(client, model, marker, stack: LocalStack):
    model.inject("http_500", match=marker, times=1)
    model.inject("http_429", match=marker, times=1, on="retrieve")

    run, thread = converse(client, f"Hello {marker}", [])

    assert run.status == "completed"
    assert marker in reply(client, thread).content[0].text.value
    assert stack.model_server is not None and stack.model_server.model.faults == []  # both were hit


def test_a_failed_model_response_fails_the_run_and_frees_the_thread(client, model, marker):
    model.inject("failed", match=marker)

    run, thread = converse(client, f"Hello {marker}", [])

    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert run.last_error.message == "The model's response failed (server_error)."  # the provider's words: logs only
    assert run.failed_at is not None and run.usage is not None
    client.beta.threads.messages.create(thread.id, role="user", content="Are you there?")  # not locked


def test_a_model_that_keeps_calling_tools_is_stopped_by_the_round_cap(client):
    run, _ = converse(client, "Paginate the topic animals", [server_tool("paginate")])

    assert run.status == "failed"
    assert run.last_error.code == "max_tool_rounds_exceeded"
    tool_steps = [step for step in steps(client, run) if step.type == "tool_calls"]
    assert len(tool_steps) == TEST_TOOL_ROUNDS
    assert all(step.status == "completed" for step in tool_steps)


def test_an_output_larger_than_a_state_is_capped_and_the_state_carries_ids_only(client, stack: LocalStack):
    run, _ = converse(client, "Give me the big report on the topic sales", [server_tool("big_report")])

    assert run.status == "completed"
    (call,) = tool_calls(client, run)
    output = call.function.output.encode()
    limit = int(stack.config.environment.get("MAX_TOOL_OUTPUT_BYTES", 65536))
    assert len(output) <= limit < BIG_OUTPUT_BYTES
    assert output.endswith(f"truncated from {BIG_OUTPUT_BYTES} to {limit} bytes]".encode())
    largest = max(len(json.dumps(event, default=str)) for event in _history(stack, run.id))
    assert largest < 8_000  # every state and task result is small: content stays in DynamoDB


def _history(stack: LocalStack, run_id: str) -> list[dict]:
    history = stack.client("stepfunctions").get_execution_history(
        executionArn=stack.execution_arn(run_id), maxResults=1000
    )
    return history["events"]  # type: ignore[no-any-return]
