"""The one logger, tracer and metrics of every function (Powertools).

Logs are JSON lines with the request id, ``project`` and, where there is one, ``thread_id`` and
``run_id``; they never carry message contents, tool arguments or outputs, or keys. Metrics go to
CloudWatch as EMF under the namespace ``threadrunner`` (docs/operations.md).
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Most invocations (a poll, a catalogue) have no metric to publish; that is expected, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "threadrunner"
"""The service of every log line and trace, and the namespace of every metric."""

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)


def log_keys(**keys: object) -> None:
    """Set the keys of this invocation's log lines (project, thread_id, run_id, ...), dropping the last one's.

    Thread-local, so invocations that share a process (the local stack) never mix their keys.
    """
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(**{name: value for name, value in keys.items() if value is not None})
