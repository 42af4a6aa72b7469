"""Server tools as a product: Lambda functions registered per project, their retries, output checks and circuits,
and the model provider's circuit."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.circuit_breaker.base import CircuitBreakerHandler
from openai import OpenAI

from tests.conftest import TEST_CIRCUIT_FAILURES, TEST_CIRCUIT_RECOVERY_SECONDS
from tests.e2e.helpers import converse, output_of, reply, server_tool, tool_calls, wait_for
from threadrunner.domain.lambda_tools import TOOL_TAG
from threadrunner_local.stack import LocalStack

ORDER_ID = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}


class Function:
    """A Lambda tool's handler: it records each invocation and answers what ``answer`` makes of the event (or
    raises what it raises)."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any]) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.events.append(event)
        return self.answer(event)


def _tool_function(stack: LocalStack, project: str, function: Function, tag: str | None = None) -> str:
    """A function of the account tagged as a tool of ``project``; its ARN."""
    return stack.add_function("tool-" + secrets.token_hex(4), function, tags={TOOL_TAG: tag or project})


def _register(stack: LocalStack, client: OpenAI, **tool: Any) -> tuple[int, Any]:
    tool.setdefault("parameters", ORDER_ID)
    return stack.api("POST", "/server_tools", tool, key=client.api_key)


def _fails(event: dict[str, Any]) -> Any:
    raise RuntimeError("the order service is down")


class InvalidArguments(Exception):
    """What a Lambda tool raises when the caller's arguments are wrong (its class name is the error's type)."""


def _another_project(stack: LocalStack) -> tuple[OpenAI, str]:
    project, key = "p_" + secrets.token_hex(4), "sk-test-" + secrets.token_hex(8)
    stack.seed_api_key(key, project=project)
    return OpenAI(base_url=stack.api_url, api_key=key, max_retries=0), project


def _order(event: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": event["arguments"]["order_id"], "status": "shipped"}


def test_a_lambda_function_registered_by_arn_runs_in_a_run_and_its_execution_is_in_the_step(stack, project_client):
    client, project = project_client
    function = Function(_order)
    arn = _tool_function(stack, project, function)

    status, tool = _register(stack, client, name="track_order", description="Track an order", function_arn=arn)
    assert status == 200, tool
    assert (tool["id"], tool["scope"], tool["function_arn"]) == ("threadrunner:track_order", "project", arn)

    run, thread = converse(client, "Where is my order A-1001?", [server_tool("track_order")])

    assert run.status == "completed"
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"order_id": "A-1001", "status": "shipped"}
    assert "status: shipped" in reply(client, thread).content[0].text.value
    (event,) = function.events  # the validated arguments, and where the call comes from
    context = {"tool": "track_order", "call_id": call.id, "run_id": run.id, "thread_id": thread.id}
    assert event == {
        "arguments": {"order_id": "A-1001"},
        "context": context | {"assistant_id": run.assistant_id, "project": project},
    }
    execution = call.model_extra["execution"]
    assert execution | {"duration_ms": 0} == {
        "tool": "track_order",
        "version": None,
        "function_arn": arn,
        "arguments_sha256": hashlib.sha256(call.function.arguments.encode()).hexdigest(),
        "duration_ms": 0,
        "attempts": 1,
        "outcome": "ok",
        "circuit": "closed",
    }
    _, listed = stack.api("GET", "/server_tools", key=client.api_key)
    scopes = {tool["name"]: tool["scope"] for tool in listed["data"]}
    assert scopes["track_order"] == "project" and scopes["get_weather"] == "deployment"


def test_another_project_can_neither_see_nor_call_nor_take_a_projects_tool(stack, project_client):
    client, project = project_client
    arn = _tool_function(stack, project, Function(_order))
    assert _register(stack, client, name="private_orders", function_arn=arn)[0] == 200
    other_key = "sk-test-" + secrets.token_hex(8)
    stack.seed_api_key(other_key, project="p_" + secrets.token_hex(4))
    other = OpenAI(base_url=stack.api_url, api_key=other_key, max_retries=0)

    _, listed = stack.api("GET", "/server_tools", key=other_key)
    assert "private_orders" not in {tool["name"] for tool in listed["data"]}
    assert stack.api("GET", "/server_tools/private_orders", key=other_key)[0] == 404
    assert stack.api("DELETE", "/server_tools/private_orders", key=other_key)[0] == 404
    with pytest.raises(Exception) as refused:
        other.beta.assistants.create(model="gpt-4.1-mini", tools=[server_tool("private_orders")])
    assert refused.value.status_code == 400 and refused.value.code == "unknown_server_tool"
    # Nor can it register the function itself: its tag names the other project.
    status, error = _register(stack, other, name="stolen", function_arn=arn)
    assert status == 400 and error["error"]["code"] == "function_not_a_tool"
    # threadrunner's own functions carry no tool tag: no project can make one of them a tool.
    assert stack.template is not None
    own = stack.template.functions["ApiFunction"].arn
    assert _register(stack, client, name="own", function_arn=own)[1]["error"]["code"] == "function_not_a_tool"
    assert _register(stack, client, name="get_weather", function_arn=arn)[0] == 409  # the deployment's name


@pytest.mark.parametrize(
    ("part", "index", "value"), [("account", 4, "210987654321"), ("region", 3, "eu-west-1"), ("partition", 1, "aws-cn")]
)
def test_a_function_of_another_account_region_or_partition_is_refused_before_anything_is_asked_of_it(
    stack, project_client, part, index, value
):
    client, project = project_client
    function = Function(_order)
    local = _tool_function(stack, project, function).split(":")
    foreign = ":".join([*local[:index], value, *local[index + 1 :]])

    status, error = _register(stack, client, name=f"foreign_{part}", function_arn=foreign)

    assert (status, error["error"]["code"], error["error"]["param"]) == (
        400,
        "function_outside_deployment",
        "function_arn",
    )
    assert error["error"]["message"] == (
        f"The function must be one of this deployment's: {foreign} is in another AWS {part}."
    )
    assert f"foreign_{part}" not in {
        tool["name"] for tool in stack.api("GET", "/server_tools", key=client.api_key)[1]["data"]
    }


def test_retries_follow_the_policy_the_tool_declares(stack, project_client):
    client, project = project_client
    flaky = Function(lambda event: _fails(event) if len(flaky.events) < 3 else _order(event))
    retry = {"max_attempts": 3, "initial_delay_ms": 10}
    _register(stack, client, name="flaky_order", function_arn=_tool_function(stack, project, flaky), retry=retry)
    slow = Function(lambda event: time.sleep(3))
    retry = {"max_attempts": 2, "initial_delay_ms": 10, "retry_on": ["timed_out"]}
    arn = _tool_function(stack, project, slow)
    _register(stack, client, name="slow_order", function_arn=arn, timeout_seconds=1, retry=retry)
    failing = Function(_fails)
    retry = {"max_attempts": 3, "retry_on": ["timed_out"]}  # failures are not retried
    _register(stack, client, name="failing_order", function_arn=_tool_function(stack, project, failing), retry=retry)

    run, _ = converse(client, "Check flaky order A-1001", [server_tool("flaky_order")])
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"order_id": "A-1001", "status": "shipped"}
    assert call.model_extra["execution"]["attempts"] == 3 and len(flaky.events) == 3
    run, _ = converse(client, "Check slow order A-1001", [server_tool("slow_order")])
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"error": "the tool did not answer within 1 s"}
    assert (call.model_extra["execution"]["attempts"], call.model_extra["execution"]["outcome"]) == (2, "timed_out")
    run, _ = converse(client, "Check failing order A-1001", [server_tool("failing_order")])
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"error": "RuntimeError: the order service is down"}
    assert call.model_extra["execution"]["attempts"] == 1 and len(failing.events) == 1


def test_an_output_that_does_not_match_the_tools_schema_becomes_an_error_output(stack, project_client):
    client, project = project_client
    wrong = Function(lambda event: {"state": "shipped"})
    schema = {"type": "object", "required": ["status"]}
    _register(
        stack, client, name="strict_order", function_arn=_tool_function(stack, project, wrong), output_schema=schema
    )

    run, thread = converse(client, "Check strict order A-1001", [server_tool("strict_order")])

    (call,) = tool_calls(client, run)
    problem = "data must contain ['status'] properties"
    assert output_of(call) == {"error": f"strict_order answered an output that does not match its schema: {problem}"}
    assert call.model_extra["execution"]["outcome"] == "invalid_output"
    assert "strict_order failed" in reply(client, thread).content[0].text.value


class CircuitEvents:
    """The circuits' changes the stack puts on its bus, through a rule to a queue of the test's own."""

    def __init__(self, stack: LocalStack) -> None:
        self._sqs = stack.client("sqs")
        self._url = self._sqs.create_queue(QueueName="circuit-events-" + secrets.token_hex(4))["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": ["threadrunner"], "detail-type": ["threadrunner.circuit.changed"]}
        stack.add_rule("circuits-" + secrets.token_hex(4), stack.event_bus_name, pattern, [{"Id": "q", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def of(self, circuit: str) -> list[tuple[str, str]]:
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                self.seen.append(json.loads(message["Body"])["detail"])
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return [(e["from_state"], e["to_state"]) for e in self.seen if e["circuit"] == circuit]


def _recovery_elapses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The circuits' clock moves past the recovery time: an open circuit lets its next call through as a probe.

    Nothing recovers by the real clock (the test stack's recovery time is long). Powertools asks
    ``CircuitBreakerHandler._now`` whether an open circuit's recovery elapsed, and the stack's functions run in this
    process, so they read the moved clock; the state's store and its cache keep the real one."""
    ahead = TEST_CIRCUIT_RECOVERY_SECONDS + 1
    monkeypatch.setattr(CircuitBreakerHandler, "_now", staticmethod(lambda: int(time.time()) + ahead))


def test_a_tool_that_keeps_failing_is_answered_at_once_in_other_runs_until_its_circuit_recovers(
    stack, project_client, monkeypatch
):
    client, project = project_client
    events = CircuitEvents(stack)
    healthy = threading.Event()
    function = Function(lambda event: _order(event) if healthy.is_set() else _fails(event))
    _register(stack, client, name="fragile_order", function_arn=_tool_function(stack, project, function))

    for _ in range(TEST_CIRCUIT_FAILURES):  # each run's call fails: the circuit opens
        run, _ = converse(client, "Check fragile order A-1001", [server_tool("fragile_order")])
        assert output_of(tool_calls(client, run)[0]) == {"error": "RuntimeError: the order service is down"}
    run, thread = converse(client, "Check fragile order A-1001", [server_tool("fragile_order")])

    (call,) = tool_calls(client, run)  # answered without calling the function
    assert len(function.events) == TEST_CIRCUIT_FAILURES
    assert "temporarily unavailable" in output_of(call)["error"]
    assert (call.model_extra["execution"]["circuit"], call.model_extra["execution"]["attempts"]) == ("open", 0)
    assert run.status == "completed" and "fragile_order failed" in reply(client, thread).content[0].text.value

    healthy.set()
    _recovery_elapses(monkeypatch)  # the circuit lets a probe through
    run, _ = converse(client, "Check fragile order A-1001", [server_tool("fragile_order")])
    (call,) = tool_calls(client, run)
    assert output_of(call) == {"order_id": "A-1001", "status": "shipped"}
    assert call.model_extra["execution"]["circuit"] == "closed"
    circuit = f"tool:{project}:fragile_order"
    wait_for(lambda: len(events.of(circuit)) >= 3)
    assert events.of(circuit) == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_shared_tools_circuit_opened_by_one_projects_calls_leaves_other_projects_calling_it(stack, project_client):
    client, project = project_client
    other, _ = _another_project(stack)
    events = CircuitEvents(stack)
    for _ in range(TEST_CIRCUIT_FAILURES):  # the deployment's tool fails each of this project's calls
        run, _ = converse(client, "Please explode the boiler", [server_tool("explode")])
        assert "exploded" in output_of(tool_calls(client, run)[0])["error"]
    run, _ = converse(client, "Please explode the boiler", [server_tool("explode")])
    assert "temporarily unavailable" in output_of(tool_calls(client, run)[0])["error"]

    run, _ = converse(other, "Please explode the boiler", [server_tool("explode")])

    (call,) = tool_calls(other, run)  # the tool ran for the other project: its circuit is its own
    topic = json.loads(call.function.arguments)["topic"]
    assert output_of(call) == {"error": f"explode raised RuntimeError: the {topic} exploded"}
    assert (call.model_extra["execution"]["attempts"], call.model_extra["execution"]["circuit"]) == (1, "closed")
    wait_for(lambda: events.of(f"tool:{project}:explode"))
    assert events.of(f"tool:{project}:explode") == [("closed", "open")]


def test_calls_a_tool_refuses_for_their_arguments_never_open_its_circuit(stack, project_client):
    client, project = project_client

    def refuse(event: dict[str, Any]) -> Any:
        raise InvalidArguments(f"there is no order {event['arguments']['order_id']}")

    function = Function(refuse)
    _register(stack, client, name="picky_order", function_arn=_tool_function(stack, project, function))

    for _ in range(TEST_CIRCUIT_FAILURES + 1):
        run, _ = converse(client, "Check picky order A-1001", [server_tool("picky_order")])
        (call,) = tool_calls(client, run)
        assert output_of(call) == {"error": "InvalidArguments: there is no order A-1001"}
        execution = call.model_extra["execution"]
        assert (execution["outcome"], execution["attempts"], execution["circuit"]) == ("invalid_arguments", 1, "closed")
    assert len(function.events) == TEST_CIRCUIT_FAILURES + 1  # every call reached the tool


def test_the_providers_circuit_fails_a_projects_new_turns_at_once_until_it_recovers_and_spares_others(
    stack, project_client, model, monkeypatch
):
    client, _ = project_client  # a project of its own: the circuit it opens stays open should the test stop early
    failing = "failing" + secrets.token_hex(4)
    model.inject("http_500", match=failing, times=1000)  # every create, and every SDK retry of it
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")

    def run(text: str) -> Any:
        thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
        return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    def ended(started: Any) -> Any:
        return wait_for(
            lambda: (
                (r := client.beta.threads.runs.retrieve(started.id, thread_id=started.thread_id)).status
                in ("completed", "failed")
                and r
            ),
            timeout=60,
        )

    failed = [run(f"Hello {failing}") for _ in range(TEST_CIRCUIT_FAILURES)]
    assert all(ended(started).status == "failed" for started in failed)
    fresh = "fresh" + secrets.token_hex(4)
    after = ended(run(f"Hello {fresh}"))

    assert after.status == "failed" and after.last_error.code == "server_error"
    assert after.last_error.message.startswith("ModelCircuitOpen: The model provider is temporarily unavailable")
    assert model.requests_about(fresh) == []  # the turn failed without reaching the provider
    other, _ = _another_project(stack)  # the circuit is the project's: another project's turns go on
    thread = other.beta.threads.create(messages=[{"role": "user", "content": f"Hello {fresh}"}])
    assistant_of_other = other.beta.assistants.create(model="gpt-4.1-mini")
    run_of_other = other.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_of_other.id)
    assert run_of_other.status == "completed" and len(model.requests_about(fresh)) == 1

    _recovery_elapses(monkeypatch)
    assert ended(run(f"Hello {fresh}")).status == "completed"  # the probe went through: the circuit closed
