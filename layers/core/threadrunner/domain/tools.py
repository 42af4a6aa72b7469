"""The registry of server-side tools.

A tool is a plain function whose one parameter is a pydantic model of its arguments::

    class WeatherArgs(BaseModel):
        city: str

    @tool(timeout_seconds=5)
    def get_weather(args: WeatherArgs) -> dict:
        "Current weather for a city."

The registry derives the JSON schema from the model, validates the model's arguments
against it, runs the function under a time limit, and turns every failure (bad JSON, bad
arguments, an exception, a timeout) into an ``{"error": ...}`` output the model can read,
so a broken tool never crashes a run.
"""

from __future__ import annotations

import inspect
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import json_schema
from .common import FunctionDefinition, problems

DEFAULT_TIMEOUT_SECONDS = 30.0


Outcome = Literal["ok", "invalid_arguments", "failed", "timed_out", "invalid_output", "circuit_open"]
"""How a call ended: only ``failed`` and ``timed_out`` are the tool's own failures (they are retried, and count
against its circuit); bad arguments are the model's, a bad output the tool's answer refused."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool call produced."""

    output: str
    """The output for the model: the tool's JSON, or ``{"error": ...}``."""
    is_error: bool
    duration_ms: int
    outcome: Outcome = "ok"
    attempts: int = 1
    """How often the tool ran for this call (its retry policy)."""


RETRIED: tuple[Literal["failed", "timed_out"], ...] = ("failed", "timed_out")


class InvalidArguments(ValueError):
    """What a tool raises when the call's arguments are wrong in a way its schema cannot say (an order that does
    not exist): the caller's mistake, answered ``invalid_arguments``, neither retried nor counted against the tool's
    circuit (a caller's bad input must not switch a tool off)."""


class RetryPolicy(BaseModel):
    """How a server tool's failures are retried within one call: attempts, and exponential backoff with full jitter."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(1, ge=1, le=5)
    """Runs of the tool for one call, the first included."""
    initial_delay_ms: int = Field(200, ge=0, le=10_000)
    backoff_rate: float = Field(2.0, ge=1.0, le=4.0)
    max_delay_ms: int = Field(5_000, ge=0, le=30_000)
    retry_on: list[Literal["failed", "timed_out"]] = Field(default_factory=lambda: list(RETRIED))
    """Which outcomes are retried: the tool's failures, its timeouts, or both."""

    def delay_seconds(self, attempt: int, draw: Callable[[], float]) -> float:
        """The pause before attempt ``attempt + 1``: a random share (``draw`` in [0, 1)) of the backoff."""
        ceiling = min(self.max_delay_ms, self.initial_delay_ms * self.backoff_rate ** (attempt - 1))
        return draw() * ceiling / 1000


def with_retries(
    attempt: Callable[[], ToolResult],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
    budget_seconds: float = float("inf"),
    attempt_seconds: float = 0.0,
) -> ToolResult:
    """Run ``attempt`` until it ends otherwise than by a retried outcome, at most ``policy.max_attempts`` times,
    and never starting one that could not end (``attempt_seconds``, the tool's timeout) within ``budget_seconds``."""
    started = time.monotonic()
    for number in range(1, policy.max_attempts + 1):
        result = attempt()
        if result.outcome not in policy.retry_on or number == policy.max_attempts:
            break
        delay = policy.delay_seconds(number, draw)
        if time.monotonic() - started + delay + attempt_seconds > budget_seconds:
            break
        sleep(delay)
    return replace(result, attempts=number, duration_ms=_elapsed_ms(started))


def checked_output(result: ToolResult, schema: dict[str, Any] | None, name: str) -> ToolResult:
    """The result, or an error output with the reason when the tool's output does not match its declared schema:
    a wrong answer never reaches the model as if it were right."""
    if schema is None or result.is_error:
        return result
    try:
        value = json.loads(result.output)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's parser goes: a string
        value = result.output
    problem = json_schema.problem(schema, value)
    if problem is None:
        return result
    message = f"{name} answered an output that does not match its schema: {problem}"
    return replace(result, output=json.dumps({"error": message}), is_error=True, outcome="invalid_output")


@dataclass(frozen=True)
class RegisteredTool:
    name: str
    description: str
    arguments: type[BaseModel]
    function: Callable[[Any], Any]
    timeout_seconds: float
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    output_schema: dict[str, Any] | None = None

    @property
    def definition(self) -> FunctionDefinition:
        """The function definition a model sees."""
        return FunctionDefinition(
            name=self.name, description=self.description, parameters=self.arguments.model_json_schema()
        )


class ToolRegistry:
    """Server-side tools by name."""

    def __init__(self) -> None:
        self._tools: dict[str, RegisteredTool] = {}

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        timeout_seconds: float | None = None,
        retry: RetryPolicy | None = None,
        output: type[BaseModel] | None = None,
    ) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """Register the decorated function as a tool.

        Parameters
        ----------
        name
            The tool's name for the model; the function's name by default.
        description
            What the tool does, for the model; the docstring's first line by default.
        timeout_seconds
            How long one call may take before it answers ``{"error": "... timed out ..."}``.
        retry
            How its failures are retried within a call (once, by default).
        output
            A pydantic model its output must match (else the model reads an error with the reason).
        """

        def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
            tool_name = name or function.__name__
            if tool_name in self._tools:
                raise ValueError(f"a tool named {tool_name!r} is already registered")
            self._tools[tool_name] = RegisteredTool(
                name=tool_name,
                description=description or _first_line(function.__doc__),
                arguments=_arguments_model(function),
                function=function,
                timeout_seconds=timeout_seconds or DEFAULT_TIMEOUT_SECONDS,
                retry=retry or RetryPolicy(),
                output_schema=output.model_json_schema() if output else None,
            )
            return function

        return register

    def definitions(self) -> list[FunctionDefinition]:
        """The definitions of every registered tool, by name."""
        return [self._tools[name].definition for name in sorted(self._tools)]

    def definition(self, name: str) -> FunctionDefinition:
        """The definition of one registered tool."""
        return self._tools[name].definition

    def get(self, name: str) -> RegisteredTool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def execute(self, name: str, arguments: str) -> ToolResult:
        """Run one call; never raises.

        Parameters
        ----------
        name
            The tool's name.
        arguments
            The arguments as the model wrote them: a JSON object in a string.
        """
        started = time.monotonic()
        registered = self._tools.get(name)
        if registered is None:
            return _error(f"no server-side tool named {name!r}", started, "invalid_arguments")
        try:
            parsed = registered.arguments.model_validate_json(arguments or "{}")
        except ValidationError as exc:
            return _error(f"invalid arguments for {name}: {problems(exc, 'arguments')}", started, "invalid_arguments")
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["value"] = registered.function(parsed)
            except InvalidArguments as exc:
                outcome["refused"] = f"invalid arguments for {name}: {exc}"
            except Exception as exc:  # the model reads the failure instead of the run crashing
                outcome["error"] = f"{name} raised {type(exc).__name__}: {exc}"

        worker = threading.Thread(target=call, name=f"tool-{name}", daemon=True)
        worker.start()
        worker.join(registered.timeout_seconds)
        if worker.is_alive():
            # A thread cannot be killed; it is a daemon, so it never keeps the process alive.
            return _error(f"{name} timed out after {registered.timeout_seconds:g} s", started, "timed_out")
        if "refused" in outcome:
            return _error(outcome["refused"], started, "invalid_arguments")
        if "error" in outcome:
            return _error(outcome["error"], started, "failed")
        try:
            output = _to_json(outcome.get("value"))
        except (TypeError, ValueError) as exc:
            return _error(f"{name} returned a value that is not JSON: {exc}", started, "invalid_output")
        return ToolResult(output=output, is_error=False, duration_ms=_elapsed_ms(started))


def _arguments_model(function: Callable[[Any], Any]) -> type[BaseModel]:
    parameters = list(inspect.signature(function).parameters)
    hints = get_type_hints(function)
    model = hints.get(parameters[0]) if len(parameters) == 1 else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"tool {function.__name__} must take exactly one parameter annotated with a pydantic model")
    return model


def _first_line(doc: str | None) -> str:
    return inspect.cleandoc(doc or "").split("\n\n")[0].replace("\n", " ")


def _to_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, ensure_ascii=False, default=str)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _error(message: str, started: float, outcome: Outcome) -> ToolResult:
    return ToolResult(
        output=json.dumps({"error": message}), is_error=True, duration_ms=_elapsed_ms(started), outcome=outcome
    )


default_registry = ToolRegistry()
"""The registry the ToolFunction serves; tool modules register into it with :func:`tool`."""

tool = default_registry.tool
