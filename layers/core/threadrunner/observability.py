"""The one logger, tracer and metrics of every function (Powertools).

Lambda traces every invocation (``Tracing: Active``: init, invocation, the loop's states); with
``TRACING_DETAIL=calls`` the Powertools Tracer adds a subsegment per AWS call, at the price of the
X-Ray SDK's import and patching on every cold start (docs/architecture.md), so it is loaded only then.
Logs are JSON lines with the request id, ``project`` and, where there is one, ``thread_id`` and
``run_id``; they never carry message contents, tool arguments or outputs, or keys. Metrics go to
CloudWatch as EMF under the namespace ``threadrunner`` (docs/operations.md).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import jmespath
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .config import settings

# Most invocations (a poll, a catalogue) have no metric to publish; that is expected, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "threadrunner"
"""The service of every log line and trace, and the namespace of every metric."""

logger = Logger(service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])
_invocation = threading.local()


def _metrics() -> EphemeralMetrics:
    """This thread's metric set.

    A Lambda container runs one invocation at a time, but the local stack runs many in one process,
    on threads, and Powertools' ``Metrics`` keep one set per process: one invocation's flush would
    publish (and drop) another's metrics. A set per thread is the container's behaviour everywhere.
    """
    if not hasattr(_invocation, "metrics"):
        _invocation.metrics = EphemeralMetrics(namespace=SERVICE, service=SERVICE)
    return _invocation.metrics


_cold = threading.Event()


def _traced(handler: Handler) -> Handler:
    """The handler in a Powertools trace when calls are traced, else as it is (Lambda still traces it)."""
    if settings().tracing_detail != "calls":
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE, patch_modules=["botocore"])  # the SDK would import every library it knows
    return tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)  # type: ignore[return-value]


def lambda_handler(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The one decorator of every entry point: the invocation's log keys, its trace, and its metrics as one EMF line.

    Powertools' ``inject_lambda_context`` keeps the invocation's keys (function, request, correlation
    id) process-wide, as Lambda allows: a container runs one invocation at a time. The local stack runs
    many in one process, on threads, so the keys are kept per thread here, the same way everywhere.
    Traces hold neither what a handler returns nor what it raises: answers carry contents.
    """

    def decorate(handler: Handler) -> Handler:
        traced = _traced(handler)

        @functools.wraps(handler)
        def invoke(event: Any, context: Any) -> Any:
            logger.thread_safe_clear_keys()
            keys = {
                "function_name": context.function_name,
                "function_request_id": context.aws_request_id,
                "cold_start": not _cold.is_set(),
            }
            _cold.set()
            if correlation_id_path:
                keys["correlation_id"] = jmespath.search(correlation_id_path, event)
            logger.thread_safe_append_keys(**keys)
            return _metrics().log_metrics(traced)(event, context)

        return invoke  # type: ignore[return-value]

    return decorate


def log_keys(**keys: object) -> None:
    """Add keys to this invocation's log lines (project, thread_id, run_id, ...); per thread, like the others."""
    logger.thread_safe_append_keys(**{name: value for name, value in keys.items() if value is not None})


def add_metric(name: str, unit: str, value: float, **dimensions: str) -> None:
    """Record a metric (and the dimensions of this invocation's EMF line), unless metrics are off.

    Powertools keeps disabled metrics and prints them after a hundred values; not adding them keeps
    a process that runs many invocations (the local stack has no CloudWatch) quiet.
    """
    if is_metrics_disabled():
        return
    metrics = _metrics()
    for dimension, dimension_value in dimensions.items():
        metrics.add_dimension(name=dimension, value=dimension_value)
    metrics.add_metric(name=name, unit=unit, value=value)
