"""The ToolFunction's work: run one server-side call of a run step, at most once.

Every server tool, a Python function of the registry or a Lambda function registered for the project (or the
deployment), runs the same way: its arguments checked, its retry policy followed, behind the project's circuit of
the tool, shared by every container (a tool that keeps failing is answered at once with an error the model can
read; a call the tool refused for its arguments never counts), its output checked against its schema and capped,
and the execution recorded on the call (attempts, outcome) for the run step and the audit log.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from ..domain import json_schema
from ..domain.circuits import CircuitState, tool_circuit
from ..domain.common import FunctionDefinition, now_ms
from ..domain.deployment import RunDefaults
from ..domain.file_search import FileSearchOutput
from ..domain.lambda_tools import LambdaTool, invocation, may_serve
from ..domain.model_input import cap_output
from ..domain.run_record import RunRecord, RunRef
from ..domain.tool_call import ToolCall, ToolExecution
from ..domain.tools import RETRIED, Outcome, RetryPolicy, ToolRegistry, ToolResult, checked_output, with_retries
from ..errors import NotFound
from ..observability import add_metric, log_keys, logger
from ..ports import Circuits, Embeddings, Stores, ToolInvoker, VectorIndex
from .code_interpreter import CodeCalls
from .embeddings import metered
from .vector_stores import file_search_call


class ToolCallRef(RunRef):
    """One item of the Map state: which call of which step to run."""

    step_id: str
    call_id: str


class ToolCallReport(BaseModel):
    """What the ToolFunction returns to the Map state: small, the output itself stays in the steps."""

    call_id: str
    name: str = ""
    """The tool."""
    ran: bool
    """False when an earlier attempt had claimed the call already (a retried task)."""
    is_error: bool = False
    execution: ToolExecution | None = None
    """How a tool ran: what the audit log line holds."""


FileSearcher = Callable[[RunRecord, str, int], FileSearchOutput]
"""Runs a ``file_search`` call: (the run, the call's arguments, the most bytes its output may take)."""

MARGIN_SECONDS = 5.0
"""Kept from the invocation's time to store the output after the last retry."""


def file_searcher(
    index: Callable[[], VectorIndex], embeddings: Callable[[], Embeddings | None], defaults: RunDefaults
) -> Callable[[Stores], FileSearcher]:
    """``file_search`` over a project's vector stores; the index and the embeddings are made for the first search
    only (other tools need neither), the embeddings counted in the project's ledger."""

    def searcher(stores: Stores) -> FileSearcher:
        def search(record: RunRecord, arguments: str, max_output_bytes: int) -> FileSearchOutput:
            embedded = metered(embeddings(), stores, defaults)
            return file_search_call(stores, index(), embedded, record, arguments, max_output_bytes)

        return search

    return searcher


@dataclass(frozen=True)
class _Tool:
    """A server tool as the runner runs it, whichever way it is shipped."""

    attempt: Callable[[], ToolResult]
    retry: RetryPolicy
    timeout_seconds: float
    output_schema: dict[str, Any] | None
    circuit: str
    version: str | None = None
    function_arn: str | None = None


class _Refused(Exception):
    """A call refused before its tool ran: the error output the model reads."""

    def __init__(self, result: ToolResult) -> None:
        super().__init__(result.output)
        self.result = result


class ToolCalls:
    """The ToolFunction's invocations: the deployment's catalogue, or one call of a run step run and reported."""

    def __init__(self, runner: ToolRunner, stores_for: Callable[[str], Stores], max_output_bytes: int) -> None:
        self._runner, self._stores_for, self._max_output_bytes = runner, stores_for, max_output_bytes

    def invoke(self, event: dict[str, Any], remaining_seconds: float) -> dict[str, Any]:
        """``{"catalogue": true}``: the tools; else a :class:`ToolCallRef`, run within ``remaining_seconds``."""
        if event.get("catalogue"):
            return {"tools": [definition.model_dump() for definition in self._runner.catalogue()]}
        ref = ToolCallRef.model_validate(event)
        log_keys(project=ref.project, thread_id=ref.thread_id, run_id=ref.run_id, call_id=ref.call_id)
        stores = self._stores_for(ref.project)
        report = self._runner.run(stores, ref, self._max_output_bytes, remaining_seconds - MARGIN_SECONDS)
        reported(report)
        return report.model_dump()


def reported(report: ToolCallReport) -> None:
    """The audit trail of server tools: one log line per execution (docs/operations.md queries it), its duration
    and whether it failed as metrics."""
    if report.execution is None:
        return
    logger.info("tool execution", extra=report.execution.model_dump())
    add_metric("ToolDuration", "Milliseconds", report.execution.duration_ms, tool=report.name)
    add_metric("ToolErrors", "Count", int(report.is_error))


class ToolRunner:
    """Runs calls of server tools: the registry's, the deployment's Lambda functions and the project's own."""

    def __init__(
        self,
        registry: ToolRegistry,
        invoker: ToolInvoker,
        circuits: Circuits,
        deployment_tools: Sequence[LambdaTool] = (),
        version: str | None = None,
        file_searcher: Callable[[Stores], FileSearcher] | None = None,
        code_calls: Callable[[Stores], CodeCalls] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._registry, self._invoker, self._circuits = registry, invoker, circuits
        self._deployment_tools = {tool.name: tool for tool in deployment_tools}
        self._version = version
        self._file_searcher = file_searcher
        self._code_calls = code_calls
        self._sleep = sleep

    def catalogue(self) -> list[FunctionDefinition]:
        """The deployment's server tools (the registry's and its Lambda functions'), by name."""
        definitions = {definition.name: definition for definition in self._registry.definitions()}
        definitions |= {name: tool.definition for name, tool in self._deployment_tools.items()}
        return [definitions[name] for name in sorted(definitions)]

    def run(
        self, stores: Stores, ref: ToolCallRef, max_output_bytes: int, budget_seconds: float = float("inf")
    ) -> ToolCallReport:
        """Run the call if no attempt ran it before, and store its output, capped to ``max_output_bytes``; its
        retries end within ``budget_seconds``.

        A call claimed by an attempt that died before storing an output gets an error output instead
        of a second run: a tool with side effects (a payment, an email) must not run twice.
        """
        steps = stores.steps
        call = steps.claim_tool_call(ref.thread_id, ref.run_id, ref.step_id, ref.call_id, now_ms())
        if call is None:
            for earlier in steps.get_tool_calls(ref.thread_id, ref.run_id, ref.step_id):
                if earlier.call_id == ref.call_id and earlier.status == "running":
                    earlier.output = json.dumps({"error": f"{earlier.name} was interrupted and is not run twice"})
                    earlier.is_error = True
                    earlier.completed_at_ms = now_ms()
                    steps.record_tool_output(ref.thread_id, earlier)
            return ToolCallReport(call_id=ref.call_id, ran=False)
        if call.kind == "file_search":
            result = self._search(stores, ref, call, max_output_bytes)
            call.execution = _execution(call, result, "closed")  # a search has no circuit: it reads our own stores
        elif call.kind == "code_interpreter":
            result = self._code(stores, ref, call, max_output_bytes, budget_seconds)
            call.execution = _execution(call, result, "closed")  # the code's failures are the model's, not a circuit's
        else:
            result, call.execution = self._execute(stores, ref, call, budget_seconds)
        call.output = cap_output(result.output, max_output_bytes)
        call.is_error = result.is_error
        call.duration_ms = result.duration_ms
        call.completed_at_ms = now_ms()
        steps.record_tool_output(ref.thread_id, call)
        return ToolCallReport(
            call_id=call.call_id, name=call.name, ran=True, is_error=result.is_error, execution=call.execution
        )

    def _execute(
        self, stores: Stores, ref: ToolCallRef, call: ToolCall, budget_seconds: float
    ) -> tuple[ToolResult, ToolExecution]:
        started = time.monotonic()
        try:
            tool = self._tool(stores, ref, call)
        except _Refused as refused:  # the tool never ran
            result = replace(refused.result, duration_ms=_ms(started), attempts=0)
            return result, _execution(call, result, "closed")
        result, state = self._guarded(call.name, tool, budget_seconds)
        result = replace(checked_output(result, tool.output_schema, call.name), duration_ms=_ms(started))
        return result, _execution(call, result, state, tool.version, tool.function_arn)

    def _tool(self, stores: Stores, ref: ToolCallRef, call: ToolCall) -> _Tool:
        """How to run the call's tool: the project's own Lambda tool, else the deployment's, else the registry's.

        Raises :class:`_Refused` with the error output when there is no such tool or the arguments are wrong.
        """
        lambda_tool = self.lambda_tool(stores, call.name)
        if lambda_tool is None:
            builtin = self._registry.get(call.name)
            if builtin is None:
                raise _Refused(_error(f"no server-side tool named {call.name!r}", "invalid_arguments"))
            return _Tool(
                attempt=lambda: self._registry.execute(call.name, call.arguments),
                retry=builtin.retry,
                timeout_seconds=builtin.timeout_seconds,
                output_schema=builtin.output_schema,
                circuit=tool_circuit(call.name, ref.project),
                version=self._version,
            )
        try:
            arguments = json.loads(call.arguments or "{}")
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python's parser goes
            raise _Refused(_error(f"invalid arguments for {call.name}: not JSON ({exc})", "invalid_arguments")) from exc
        problem = json_schema.problem(lambda_tool.parameters, arguments)
        if problem:
            raise _Refused(_error(f"invalid arguments for {call.name}: {problem}", "invalid_arguments"))
        owner = "*" if lambda_tool.scope == "deployment" else ref.project
        if not may_serve(self._invoker.tags_of(lambda_tool.function_arn), owner):
            message = f"{call.name} is not available: its function is no longer tagged as a tool of this project"
            raise _Refused(_error(message, "failed"))
        record = stores.runs.get_run_record(ref.thread_id, ref.run_id)
        payload = invocation(
            ref.project, ref.thread_id, ref.run_id, record.run.assistant_id, call.call_id, call.name, arguments
        )
        invoker, function_arn, seconds = self._invoker, lambda_tool.function_arn, lambda_tool.timeout_seconds

        def attempt() -> ToolResult:
            began = time.monotonic()
            outcome, output = invoker.invoke(function_arn, payload, seconds)
            return _as_json(ToolResult(output, outcome != "ok", _ms(began), outcome))

        return _Tool(
            attempt=attempt,
            retry=lambda_tool.retry,
            timeout_seconds=seconds,
            output_schema=lambda_tool.output_schema,
            circuit=tool_circuit(call.name, ref.project),
            function_arn=function_arn,
        )

    def lambda_tool(self, stores: Stores, name: str) -> LambdaTool | None:
        """The project's registered tool ``name``, else the deployment's."""
        try:
            return stores.tools.get_tool(name)
        except NotFound:
            return self._deployment_tools.get(name)

    def _guarded(self, name: str, tool: _Tool, budget_seconds: float) -> tuple[ToolResult, CircuitState]:
        """The call with its retries, behind the tool's circuit: a call that still fails counts against it; while
        it is open the model is told at once that the tool is unavailable."""

        def call() -> ToolResult:
            seconds = tool.timeout_seconds
            return with_retries(
                tool.attempt, tool.retry, self._sleep, budget_seconds=budget_seconds, attempt_seconds=seconds
            )

        def unavailable() -> ToolResult:
            message = f"{name} is temporarily unavailable (its last calls failed); answer without it or try later"
            return _error(message, "circuit_open", attempts=0)

        def failed(result: ToolResult) -> bool:
            return result.outcome in RETRIED

        return self._circuits.guard(tool.circuit, call, unavailable, is_failure=failed)

    def _search(self, stores: Stores, ref: ToolCallRef, call: ToolCall, max_output_bytes: int) -> ToolResult:
        """A ``file_search`` call, run as a tool is: its output, or an error output the model can read."""
        started = time.monotonic()
        try:
            if self._file_searcher is None:
                raise RuntimeError("this function searches no vector store")
            record = stores.runs.get_run_record(ref.thread_id, ref.run_id)
            found = self._file_searcher(stores)(record, call.arguments, max_output_bytes)
            return ToolResult(output=found.model_dump_json(), is_error=False, duration_ms=_ms(started))
        except Exception:
            logger.exception("file_search failed", extra={"call_id": call.call_id})
            return _error("file_search is not available right now; answer without it", "failed", started)

    def _code(
        self, stores: Stores, ref: ToolCallRef, call: ToolCall, max_output_bytes: int, budget_seconds: float
    ) -> ToolResult:
        """A ``code_interpreter`` call: the code's output, or an error output the model can read."""
        record = stores.runs.get_run_record(ref.thread_id, ref.run_id)
        if self._code_calls is None:
            return _error("code_interpreter is not available in this function; answer without it", "failed")
        return self._code_calls(stores).run(record, call, max_output_bytes, budget_seconds)


def _as_json(result: ToolResult) -> ToolResult:
    """A Lambda tool's answer as the model reads it, as a registry tool's: a string as it is, anything else as
    its JSON."""
    if result.is_error:
        return result
    try:
        value = json.loads(result.output)
    except (ValueError, RecursionError):
        return result
    return replace(result, output=value) if isinstance(value, str) else result


def _execution(
    call: ToolCall, result: ToolResult, circuit: CircuitState, version: str | None = None, arn: str | None = None
) -> ToolExecution:
    return ToolExecution(
        tool=call.name,
        version=version,
        function_arn=arn,
        arguments_sha256=hashlib.sha256(call.arguments.encode()).hexdigest(),
        duration_ms=result.duration_ms,
        attempts=result.attempts,
        outcome=result.outcome,
        circuit=circuit,
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _error(message: str, outcome: Outcome, started: float | None = None, attempts: int = 1) -> ToolResult:
    duration = _ms(started) if started is not None else 0
    return ToolResult(json.dumps({"error": message}), True, duration, outcome, attempts)
