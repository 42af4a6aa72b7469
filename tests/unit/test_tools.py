"""The tool registry: schemas from pydantic models, and every failure turned into an output."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from tests.fakes import FakeCatalogue, FakeCircuits, World, fake_stores
from threadrunner.app import tool_calls
from threadrunner.app.tool_calls import MARGIN_SECONDS, ToolCallRef, ToolCalls, ToolRunner
from threadrunner.app.tools import register_tool
from threadrunner.domain.lambda_tools import (
    MAX_PROJECT_TOOLS,
    MAX_TOOL_SCHEMA_BYTES,
    TOOL_TAG,
    LambdaTool,
    LambdaToolCreate,
    deployment_tools,
    outside,
)
from threadrunner.domain.run import Run
from threadrunner.domain.run_step import RunStep, ToolCallsStepDetails
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.domain.tools import (
    InvalidArguments,
    RetryPolicy,
    ToolRegistry,
    ToolResult,
    checked_output,
    with_retries,
)
from threadrunner.errors import InvalidRequest

FUNCTIONS = "arn:aws:lambda:us-east-1:123456789012:function:*"
"""The functions of the tests' deployment."""


class Args(BaseModel):
    city: str = Field(description="A city")
    days: int = Field(1, ge=1, le=7)


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool(timeout_seconds=0.2)
    def forecast(args: Args) -> dict:
        """Forecast the weather.

        More text that the model does not see.
        """
        if args.city == "Atlantis":
            raise LookupError("no such city")
        if args.city == "Slowtown":
            time.sleep(2)
        if args.city == "Loopville":
            loop: dict = {"city": args.city}
            loop["self"] = loop  # not JSON on purpose
            return loop
        return {"city": args.city, "days": args.days}

    return registry


def test_the_definition_comes_from_the_docstring_and_the_model(registry):
    (definition,) = registry.definitions()
    assert definition.name == "forecast"
    assert definition.description == "Forecast the weather."
    assert definition.parameters["required"] == ["city"]
    assert definition.parameters["properties"]["days"]["maximum"] == 7


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Oslo", "days": 2}', {"city": "Oslo", "days": 2}),
        (
            '{"city": "Oslo", "days": 9}',
            {"error": "invalid arguments for forecast: days: Input should be less than or equal to 7"},
        ),
        ("{not json", None),
        ('{"city": "Atlantis"}', {"error": "forecast raised LookupError: no such city"}),
        ('{"city": "Slowtown"}', {"error": "forecast timed out after 0.2 s"}),
        ("{}", {"error": "invalid arguments for forecast: city: Field required"}),
    ],
)
def test_every_failure_becomes_an_error_output(registry, arguments, expected):
    result = registry.execute("forecast", arguments)
    output = json.loads(result.output)
    if expected is None:
        assert result.is_error and output["error"].startswith("invalid arguments for forecast: arguments: Invalid JSON")
    else:
        assert output == expected
        assert result.is_error == ("error" in expected)


def test_unknown_tools_and_unserialisable_results_are_errors(registry):
    assert json.loads(registry.execute("nope", "{}").output) == {"error": "no server-side tool named 'nope'"}
    result = registry.execute("forecast", '{"city": "Loopville"}')
    assert result.is_error and "not JSON" in json.loads(result.output)["error"]


def test_a_tool_must_take_one_pydantic_model_and_names_are_unique(registry):
    with pytest.raises(TypeError):
        registry.tool()(lambda city: city)
    with pytest.raises(ValueError, match="already registered"):

        @registry.tool(name="forecast")
        def other(args: Args) -> str:
            return ""


# retries, output checks and the runner ---------------------------------------------------------------


def _result(outcome: str) -> ToolResult:
    return ToolResult(output="{}", is_error=outcome != "ok", duration_ms=0, outcome=outcome)  # type: ignore[arg-type]


def test_retries_stop_at_success_at_an_outcome_not_retried_at_the_limit_and_before_the_budget_runs_out():
    pauses: list[float] = []
    policy = RetryPolicy(max_attempts=4, initial_delay_ms=100, backoff_rate=2, max_delay_ms=300, retry_on=["failed"])
    answers = iter(["failed", "failed", "ok"])
    result = with_retries(lambda: _result(next(answers)), policy, pauses.append, draw=lambda: 1.0)
    assert (result.outcome, result.attempts, pauses) == ("ok", 3, [0.1, 0.2])  # full jitter's ceiling, doubling

    assert with_retries(lambda: _result("timed_out"), policy, pauses.append).attempts == 1  # not in retry_on
    assert with_retries(lambda: _result("failed"), policy, lambda _: None).attempts == 4
    assert policy.delay_seconds(5, lambda: 1.0) == 0.3  # capped at max_delay_ms
    # An attempt of 10 s would not end within a budget of 5 s: no retry is started.
    assert (
        with_retries(lambda: _result("failed"), policy, lambda _: None, budget_seconds=5, attempt_seconds=10).attempts
        == 1
    )


def test_an_output_must_match_the_declared_schema_and_errors_pass_unchecked():
    schema = {"type": "object", "required": ["status"]}
    good = ToolResult('{"status": "ok"}', False, 1)
    assert checked_output(good, schema, "t") == good
    bad = checked_output(ToolResult('{"state": 1}', False, 1), schema, "t")
    assert (bad.is_error, bad.outcome) == (True, "invalid_output") and "does not match its schema" in bad.output
    error = ToolResult('{"error": "boom"}', True, 1, "failed")
    assert checked_output(error, schema, "t") == error


def test_an_output_nested_deeper_than_the_json_parser_goes_is_read_as_text_and_refused_by_its_schema():
    deep = ToolResult("[" * 100_000 + "]" * 100_000, False, 1)

    refused = checked_output(deep, {"type": "array"}, "t")

    assert (refused.is_error, refused.outcome) == (True, "invalid_output") and "must be array" in refused.output


def test_deployment_tools_must_have_names_of_their_own():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    tool = {"name": "orders", "function_arn": arn}
    (loaded,) = deployment_tools(json.dumps([tool]), ["get_weather"], FUNCTIONS)
    assert (loaded.scope, loaded.timeout_seconds) == ("deployment", 30)
    with pytest.raises(ValueError, match="more than one server tool is named orders"):
        deployment_tools(json.dumps([tool, tool]), [], FUNCTIONS)
    with pytest.raises(ValueError, match="get_weather"):
        deployment_tools(json.dumps([tool | {"name": "get_weather"}]), ["get_weather"], FUNCTIONS)
    with pytest.raises(ValueError):  # not a function's ARN
        deployment_tools(json.dumps([tool | {"function_arn": "arn:aws:iam::123456789012:role/admin"}]), [], FUNCTIONS)


@pytest.mark.parametrize(
    ("arn", "part"),
    [
        ("arn:aws:lambda:us-east-1:210987654321:function:orders", "account"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:orders:live", "region"),
        ("arn:aws-us-gov:lambda:us-east-1:123456789012:function:orders", "partition"),
    ],
)
def test_a_function_outside_the_deployments_account_region_or_partition_is_no_tool(arn, part):
    assert outside(arn, FUNCTIONS) == part
    assert outside("arn:aws:lambda:us-east-1:123456789012:function:orders:7", FUNCTIONS) is None
    with pytest.raises(ValueError, match=f"SERVER_TOOLS: orders's function {arn} is in another AWS {part}"):
        deployment_tools(json.dumps([{"name": "orders", "function_arn": arn}]), [], FUNCTIONS)
    stores, functions = fake_stores(), FakeFunctions({TOOL_TAG: "*"}, [])

    with pytest.raises(InvalidRequest) as refused:
        register_tool(stores, FakeCatalogue(), functions, LambdaToolCreate(name="orders", function_arn=arn), FUNCTIONS)

    assert (refused.value.code, refused.value.param) == ("function_outside_deployment", "function_arn")
    assert str(refused.value) == f"The function must be one of this deployment's: {arn} is in another AWS {part}."
    assert stores.tools.list_tools() == [] and functions.tags_asked == 0


class FakeFunctions:
    """Lambda functions as tools: their tags, and what each invocation answers."""

    def __init__(self, tags: dict[str, str], answers: list[tuple[str, str]]) -> None:
        self.tags, self.answers, self.invoked, self.tags_asked = tags, answers, 0, 0

    def invoke(self, function_arn: str, payload: dict, timeout_seconds: int) -> tuple[str, str]:
        self.invoked += 1
        return self.answers.pop(0)

    def tags_of(self, function_arn: str) -> dict[str, str]:
        self.tags_asked += 1
        return self.tags


ORDERS = LambdaTool(
    name="orders",
    parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:orders",
    retry=RetryPolicy(max_attempts=2, initial_delay_ms=0),
)


def _runner_world(
    functions: FakeFunctions,
    circuits: FakeCircuits,
    arguments: str = '{"order_id": "A-1"}',
    project: str = "acme",
    registry: ToolRegistry | None = None,
    deployment: tuple[LambdaTool, ...] = (),
):
    """A run of ``project`` with a pending call of ``orders``: the project's own Lambda tool, unless the registry or
    the deployment has one."""
    stores = fake_stores(World(project=project))
    if registry is None and not deployment:
        stores.tools.put_tool(ORDERS)
    thread = Thread(id="thread_1", created_at=1)
    stores.threads.create_thread(thread, [])
    stores.runs.create_run(Run(id="run_1", created_at=1, thread_id="thread_1", assistant_id="asst_1", model="m"))
    call = ToolCall(
        call_id="call_1", run_id="run_1", step_id="step_1", name="orders", arguments=arguments, side="server"
    )
    step = RunStep(
        id="step_1",
        created_at=1,
        run_id="run_1",
        assistant_id="asst_1",
        thread_id="thread_1",
        type="tool_calls",
        step_details=ToolCallsStepDetails(tool_calls=[]),
    )
    stores.steps.put_step(step, [call])
    runner = ToolRunner(registry or ToolRegistry(), functions, circuits, deployment, sleep=lambda _: None)
    ref = ToolCallRef(project=stores.project, thread_id="thread_1", run_id="run_1", step_id="step_1", call_id="call_1")
    return runner, stores, ref


def test_the_runner_refuses_before_invoking_when_the_arguments_or_the_tag_are_wrong():
    functions = FakeFunctions({TOOL_TAG: "acme"}, [])
    runner, stores, ref = _runner_world(functions, FakeCircuits(), arguments='{"order": 1}')
    report = runner.run(stores, ref, 65536)
    assert report.execution is not None
    assert (report.execution.outcome, report.execution.attempts, functions.invoked) == ("invalid_arguments", 0, 0)

    (call,) = stores.steps.get_tool_calls("thread_1", "run_1", "step_1")
    assert call.started_at_ms is not None and call.completed_at_ms is not None
    assert 0 <= call.completed_at_ms - call.started_at_ms < 60_000  # when it was taken up, and answered

    functions = FakeFunctions({TOOL_TAG: "another-project"}, [])  # retagged since it was registered
    runner, stores, ref = _runner_world(functions, FakeCircuits())
    report = runner.run(stores, ref, 65536)
    (call,) = stores.steps.get_tool_calls("thread_1", "run_1", "step_1")
    assert functions.invoked == 0 and "no longer tagged as a tool of this project" in (call.output or "")


def test_the_runner_refuses_arguments_nested_deeper_than_the_json_parser_goes_without_invoking():
    functions = FakeFunctions({TOOL_TAG: "acme"}, [])
    runner, stores, ref = _runner_world(functions, FakeCircuits(), arguments="[" * 100_000 + "]" * 100_000)

    report = runner.run(stores, ref, 65536)

    assert report.execution is not None
    assert (report.execution.outcome, functions.invoked) == ("invalid_arguments", 0)


def test_the_runner_retries_counts_a_failed_call_against_the_circuit_and_answers_at_once_while_it_is_open():
    circuits = FakeCircuits(threshold=1)
    functions = FakeFunctions({TOOL_TAG: "*"}, [("failed", '{"error": "down"}'), ("failed", '{"error": "down"}')])
    runner, stores, ref = _runner_world(functions, circuits)
    report = runner.run(stores, ref, 65536)
    assert report.execution is not None
    assert (report.execution.attempts, report.execution.outcome, report.execution.circuit) == (2, "failed", "open")

    runner, stores, ref = _runner_world(functions, circuits)  # another run, the same project's tool
    report = runner.run(stores, ref, 65536)
    (call,) = stores.steps.get_tool_calls("thread_1", "run_1", "step_1")
    assert report.execution is not None and functions.invoked == 2
    assert (report.execution.outcome, report.execution.attempts) == ("circuit_open", 0)
    assert "temporarily unavailable" in json.loads(call.output or "")["error"]


@pytest.fixture
def info_logged() -> Iterator[None]:
    """The one logger at INFO for the test, whatever level an earlier test of this process (a local stack's) left."""
    from threadrunner.observability import logger

    level = logger.log_level
    logger.setLevel("INFO")
    yield
    logger.setLevel(level)


def test_an_invocation_of_a_call_leaves_the_audit_line_and_the_metrics_and_answers_the_report(
    caplog, monkeypatch, info_logged
):
    metrics: list[tuple] = []
    monkeypatch.setattr(tool_calls, "add_metric", lambda *metric, **dimensions: metrics.append((*metric, dimensions)))
    functions = FakeFunctions({TOOL_TAG: "*"}, [("ok", '"shipped"')])
    runner, stores, ref = _runner_world(functions, FakeCircuits())
    budgets: list[float] = []
    run = runner.run
    monkeypatch.setattr(runner, "run", lambda *args: budgets.append(args[3]) or run(*args))

    answer = ToolCalls(runner, {ref.project: stores}.__getitem__, 65536).invoke(ref.model_dump(), 60.0)

    assert (answer["call_id"], answer["name"], answer["ran"], answer["is_error"]) == ("call_1", "orders", True, False)
    assert budgets == [60.0 - MARGIN_SECONDS]  # kept back to store the output after the last retry
    (line,) = [record for record in caplog.records if record.getMessage() == "tool execution"]
    assert (line.tool, line.outcome, line.attempts) == ("orders", "ok", 1)
    assert [(name, unit) for name, unit, _, _ in metrics] == [("ToolDuration", "Milliseconds"), ("ToolErrors", "Count")]
    assert metrics[0][3] == {"tool": "orders"} and metrics[1][2] == 0


def test_an_invocation_for_the_catalogue_lists_the_tools_and_runs_nothing(registry):
    functions = FakeFunctions({TOOL_TAG: "*"}, [])
    runner = ToolRunner(registry, functions, FakeCircuits(), (ORDERS,))

    answer = ToolCalls(runner, lambda project: fake_stores(), 65536).invoke({"catalogue": True}, 60.0)

    assert [tool["name"] for tool in answer["tools"]] == ["forecast", "orders"] and functions.invoked == 0


class OrderArgs(BaseModel):
    order_id: str


def _orders_registry(failure: Exception) -> ToolRegistry:
    """A registry whose ``orders`` tool raises ``failure``."""
    registry = ToolRegistry()

    @registry.tool()
    def orders(args: OrderArgs) -> dict:
        """Look an order up."""
        raise failure

    return registry


def _shared(kind: str, functions: FakeFunctions) -> dict:
    """How the deployment ships ``orders``: in the registry, or as a Lambda tool of every project."""
    if kind == "registry":
        return {"registry": _orders_registry(RuntimeError("the order service is down"))}
    return {"deployment": (ORDERS.model_copy(update={"scope": "deployment"}),)}


@pytest.mark.parametrize("kind", ["registry", "deployment"])
def test_a_shared_tools_circuit_opens_only_for_the_project_whose_calls_failed(kind):
    circuits = FakeCircuits(threshold=1)
    functions = FakeFunctions({TOOL_TAG: "*"}, [("failed", '{"error": "down"}')] * 4)
    runner, stores, ref = _runner_world(functions, circuits, **_shared(kind, functions))
    failed = runner.run(stores, ref, 65536)  # acme's call fails: acme's circuit opens
    runner, stores, ref = _runner_world(functions, circuits, **_shared(kind, functions))
    refused = runner.run(stores, ref, 65536)

    runner, stores, ref = _runner_world(functions, circuits, project="globex", **_shared(kind, functions))
    other = runner.run(stores, ref, 65536)

    assert failed.execution is not None and failed.execution.circuit == "open"
    assert refused.execution is not None and refused.execution.outcome == "circuit_open"
    assert other.execution is not None and other.execution.outcome == "failed"  # globex's call ran the tool
    assert other.execution.attempts >= 1 and other.execution.circuit == "open"  # and opened globex's own


@pytest.mark.parametrize("kind", ["registry", "lambda"])
def test_a_call_the_tool_refuses_for_its_arguments_is_not_retried_and_never_counts_against_its_circuit(kind):
    circuits = FakeCircuits(threshold=1)
    refusal = '{"error": "InvalidArguments: there is no order A-1"}'
    functions = FakeFunctions({TOOL_TAG: "acme"}, [("invalid_arguments", refusal)] * 2)
    registry = _orders_registry(InvalidArguments("there is no order A-1")) if kind == "registry" else None
    reports = []
    for _ in range(2):
        runner, stores, ref = _runner_world(functions, circuits, registry=registry)
        reports.append(runner.run(stores, ref, 65536))
        (call,) = stores.steps.get_tool_calls("thread_1", "run_1", "step_1")
        assert "there is no order A-1" in json.loads(call.output or "")["error"]

    executions = [(r.execution.outcome, r.execution.attempts, r.execution.circuit) for r in reports if r.execution]
    assert executions == [("invalid_arguments", 1, "closed")] * 2  # both ran once; the circuit never counted them
    assert circuits.failures == {} or set(circuits.failures.values()) == {0}


def test_a_project_registers_a_bounded_number_of_tools_with_bounded_schemas():
    stores, catalogue = fake_stores(), FakeCatalogue()
    functions = FakeFunctions({TOOL_TAG: stores.project}, [])
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    for number in range(MAX_PROJECT_TOOLS):
        register_tool(
            stores, catalogue, functions, LambdaToolCreate(name=f"tool_{number}", function_arn=arn), FUNCTIONS
        )

    with pytest.raises(InvalidRequest) as refused:
        register_tool(stores, catalogue, functions, LambdaToolCreate(name="one_more", function_arn=arn), FUNCTIONS)
    assert refused.value.code == "too_many_server_tools" and len(stores.tools.list_tools()) == MAX_PROJECT_TOOLS
    big = {"type": "object", "description": "x" * MAX_TOOL_SCHEMA_BYTES}
    with pytest.raises(ValueError, match="larger than"):
        LambdaToolCreate(name="big", function_arn=arn, parameters=big)
