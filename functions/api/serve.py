"""StreamingApiFunction: the API as an HTTP server, for the Lambda Web Adapter behind a function URL that streams.

The adapter turns each invocation into an HTTP request to this server and streams the answer back as it is
written: a streamed run's events go out one by one (threadrunner.api.http_server, the server the local stack
runs too). The invocation's request id and Lambda context come in the adapter's ``x-amzn-*`` headers.
"""

from __future__ import annotations

import json
import os
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from app import stream_handler

from threadrunner import bootstrap
from threadrunner.api.http_server import HTTPServer, handler_class

# This function's requests are mostly streams, which follow the model: its SDK loads with the server (the key is
# read by the first stream), not in the middle of the first stream.
bootstrap.model_client()


class InvocationContext:
    """The Lambda context of one invocation, as the adapter passes it (``x-amzn-lambda-context``)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        config = fields.get("env_config") or {}
        self.aws_request_id = str(fields.get("request_id") or "")
        self.invoked_function_arn = str(fields.get("invoked_function_arn") or "")
        self.function_name = str(config.get("function_name") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""))
        self.function_version = str(config.get("version") or "$LATEST")
        self.memory_limit_in_mb = int(config.get("memory") or os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
        self.log_group_name = str(config.get("log_group") or "")
        self.log_stream_name = str(config.get("log_stream") or "")
        self._deadline_ms = int(fields.get("deadline") or 0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _header(request: BaseHTTPRequestHandler, name: str) -> dict[str, Any]:
    try:
        value = json.loads(request.headers.get(name) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def answer(event: dict[str, Any], request: BaseHTTPRequestHandler) -> dict[str, Any]:
    return stream_handler(event, InvocationContext(_header(request, "x-amzn-lambda-context")))


def request_id(request: BaseHTTPRequestHandler) -> str | None:
    """The function URL's request id, what ``x-request-id`` and the log lines carry."""
    value = _header(request, "x-amzn-request-context").get("requestId")
    return str(value) if value else None


def main() -> None:
    port = int(os.environ.get("AWS_LWA_PORT") or os.environ.get("PORT") or 8080)
    HTTPServer(("127.0.0.1", port), handler_class(answer, request_id)).serve_forever()


if __name__ == "__main__":
    main()
