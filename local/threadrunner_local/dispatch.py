"""Lambda invocations run in this process, on the real handlers that template.yaml names.

Each function's module is loaded from its ``CodeUri`` once, like a warm container. Every
function's environment is put in ``os.environ`` before the first import (the handlers read
their settings once); two functions that set one variable to different values are refused,
because one process cannot give them both.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import limits
from .enforcement import Enforcer, acting_as
from .meter import Meter
from .template import FunctionSpec


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionError(Exception):
    """A handler raised: carries the Lambda error payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


class Dispatcher:
    """Finds and calls the handler of a function by logical id, name or ARN."""

    def __init__(self, functions: dict[str, FunctionSpec], enforcer: Enforcer | None = None) -> None:
        self.enforcer = enforcer
        """What judges the calls of the functions and the deliveries to them (``None``: nothing is judged)."""
        self.meter: Meter | None = None
        """What counts the invocations and their duration, when something is counted (``make bench``)."""
        self._by_name = {spec.name: spec for spec in functions.values()}
        self._by_name |= {spec.arn: spec for spec in functions.values()}
        self._by_name |= {spec.logical_id: spec for spec in functions.values()}
        self._modules: dict[str, ModuleType] = {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.Lock()

    def add(self, spec: FunctionSpec, handler: Callable[[Any, Any], Any] | None = None) -> None:
        """A function besides the template's (a Lambda tool), by name and ARN; ``handler``, when given, is called
        instead of the one its module names."""
        self._by_name[spec.name] = self._by_name[spec.arn] = spec
        if handler is not None:
            self._handlers[spec.name] = handler

    @staticmethod
    def environment(functions: dict[str, FunctionSpec], overrides: dict[str, str]) -> dict[str, str]:
        """The union of the functions' environments, with ``overrides`` on top."""
        merged: dict[str, str] = {}
        for spec in functions.values():
            for key, value in spec.environment.items():
                if key in overrides:
                    continue
                if merged.get(key, value) != value:
                    raise ValueError(f"{key} differs between functions; the local stack runs them in one process")
                merged[key] = value
        return merged | overrides

    def spec(self, function: str) -> FunctionSpec:
        """A function by logical id, name, or ARN (qualified by an alias or a version, or not)."""
        name = function.split(":")[6] if function.startswith("arn:") else function.split(":")[0]
        return self._by_name.get(function) or self._by_name[name]

    def handler(self, function: str, attribute: str | None = None) -> Callable[[Any, Any], Any]:
        """The function's handler, or another ``attribute`` of its handler's module (another entry point)."""
        spec = self.spec(function)
        if attribute is None and spec.name in self._handlers:
            return self._handlers[spec.name]
        module_name, named = spec.handler.rsplit(".", 1)
        attribute = attribute or named
        source = spec.code_dir / f"{module_name.replace('.', '/')}.py"
        key = str(source)
        with self._lock:
            if key not in self._modules:
                unique = f"threadrunner_fn_{spec.code_dir.name}_{module_name.replace('.', '_')}"
                loader_spec = importlib.util.spec_from_file_location(unique, source)
                assert loader_spec is not None and loader_spec.loader is not None
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[unique] = module
                loader_spec.loader.exec_module(module)
                self._modules[key] = module
        return getattr(self._modules[key], attribute)

    def invoke(self, function: str, event: Any, attribute: str | None = None) -> Any:
        """Call the handler (or the entry point ``attribute`` of its module) like Lambda does; a raised exception
        becomes :class:`FunctionError`."""
        spec = self.spec(function)
        handler = self.handler(function, attribute)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory,
            timeout_seconds=spec.timeout,
            aws_request_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        try:
            with acting_as(spec.logical_id):  # its AWS calls are its role's
                return handler(event, context)
        except Exception as exc:
            raise FunctionError(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ) from exc
        finally:
            if self.meter is not None:
                self.meter.invoked(spec.logical_id, spec.memory, time.perf_counter() - started)

    def invoke_async(self, function: str, event: Any) -> None:
        """An ``Event`` invocation: run in the background; a failure is reported, not raised."""
        threading.Thread(target=self._quietly, args=(function, event), daemon=True).start()

    def invoke_payload(self, function: str, payload: bytes, asynchronous: bool) -> tuple[bytes, bool]:
        """Invoke with a JSON payload as the Lambda API does: returns the answer and whether it is an error."""
        event = json.loads(payload or b"{}")
        if asynchronous:
            self.invoke_async(function, event)
            return b"", False
        try:
            answer = json.dumps(self.invoke(function, event)).encode()
        except FunctionError as error:
            answer = json.dumps(error.payload).encode()
            return answer, True
        if len(answer) > limits.LAMBDA_SYNC_RESPONSE_BYTES:  # Lambda's answer instead of the function's
            too_large = {
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({limits.LAMBDA_SYNC_RESPONSE_BYTES} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
            return json.dumps(too_large).encode(), True
        return answer, False

    def _quietly(self, function: str, event: Any) -> None:
        try:
            self.invoke(function, event)
        except FunctionError as error:
            print(f"asynchronous invocation of {function} failed: {error.payload['errorMessage']}", file=sys.stderr)
