"""Shared fixtures: one local stack for the session, an ``openai`` client on it, the offline model's controls."""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from threadrunner_harness import samples
from threadrunner_local.stack import LocalStack, StackConfig, free_port

# Test modules import the core package before the stack starts; its logger takes the stack's level from here.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

TEST_TOOL_ROUNDS = 3
"""The test stack's MAX_TOOL_ROUNDS: small, so the runaway test is quick."""
TEST_TOOL_OUTPUTS_TIMEOUT = 6
"""The test stack's TOOL_OUTPUTS_TIMEOUT_SECONDS: short, so the expiry test is quick."""
TEST_STREAM_KEEP_ALIVE = 0.5
"""The test stack's STREAM_KEEP_ALIVE_SECONDS: short, so streams carry comments whenever the model takes a while."""
TEST_CIRCUIT_FAILURES = 3
"""The test stack's CIRCUIT_FAILURE_THRESHOLD."""
TEST_CIRCUIT_RECOVERY_SECONDS = 5
"""The test stack's CIRCUIT_RECOVERY_SECONDS: an open circuit lets a probe through soon."""


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    config = StackConfig(
        api_port=free_port(),
        model_latency=0.1,  # a turn is polled more than once; the tests that need a slow model ask for one
        environment={
            "TOOL_MODULES": "threadrunner.tools,tests.support.tools",
            "MAX_TOOL_ROUNDS": str(TEST_TOOL_ROUNDS),
            "TOOL_OUTPUTS_TIMEOUT_SECONDS": str(TEST_TOOL_OUTPUTS_TIMEOUT),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "KEY_CACHE_SECONDS": "0",  # a revoked key is refused at once
            "UNKNOWN_KEY_CACHE_SECONDS": "0",  # and a key created by a test works at once
            # Off for the tests' shared projects; the tests of the limits set them on projects of their own.
            "PROJECT_MAX_ACTIVE_RUNS": "0",
            "PROJECT_REQUESTS_PER_MINUTE": "0",
            "PROJECT_MAX_OPEN_STREAMS": "0",
            # Every streamed test reads through keep-alive comments while the model thinks (the SDKs skip them).
            "STREAM_KEEP_ALIVE_SECONDS": str(TEST_STREAM_KEEP_ALIVE),
            # Circuits that open and recover within a test (tests/e2e/test_server_tools.py).
            "CIRCUIT_FAILURE_THRESHOLD": str(TEST_CIRCUIT_FAILURES),
            "CIRCUIT_RECOVERY_SECONDS": str(TEST_CIRCUIT_RECOVERY_SECONDS),
            "CIRCUIT_SUCCESS_THRESHOLD": "1",
            "FILES_WAIT_SECONDS": "15",  # a run waits for files stuck indexing briefly (tests/e2e/test_file_search.py)
            "POLL_AFTER_MS": "100",  # the SDKs' pollers (create_and_poll, ...) ask again this soon
        },
        parameters={"MessagesVisibilityTimeoutSeconds": "2"},  # a failed message comes back quickly
    )
    local = LocalStack(samples.configure(config)).start()
    yield local
    local.stop()


@pytest.fixture
def client(stack: LocalStack) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=stack.api_url, api_key=stack.config.api_key, max_retries=0)


class OfflineModelControl:
    """The offline model's documented control endpoints, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.removesuffix("/v1")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read())

    def inject(
        self, kind: str, match: str, times: int = 1, on: str = "create", seconds: float = 0.0, events: int = 3
    ) -> None:
        fault = {"kind": kind, "match": match, "times": times, "on": on, "seconds": seconds, "events": events}
        self._call("POST", "/_offline/faults", fault)

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_offline/requests")["requests"]  # type: ignore[no-any-return]

    def requests_about(self, marker: str) -> list[dict[str, Any]]:
        """The create requests whose input mentions ``marker``."""
        return [request for request in self.requests() if marker in json.dumps(request.get("input"))]


@pytest.fixture
def model(stack: LocalStack) -> Iterator[OfflineModelControl]:
    assert stack.model_server is not None
    control = OfflineModelControl(stack.model_server.url)
    yield control
    control._call("DELETE", "/_offline/faults")


@pytest.fixture
def marker() -> str:
    """A word unique to one test, to aim faults at its requests only."""
    return "marker" + secrets.token_hex(4)


@pytest.fixture
def project_client(stack: LocalStack) -> tuple[Any, str]:
    """A client of a project of its own, so a test can count exactly what its requests wrote."""
    from openai import OpenAI

    project, key = "p_" + secrets.token_hex(4), "sk-test-" + secrets.token_hex(8)
    stack.seed_api_key(key, project=project)
    return OpenAI(base_url=stack.api_url, api_key=key, max_retries=0), project


class RunEvents:
    """Every run event the stack put on EventBridge, read from the example consumer's queue."""

    def __init__(self, stack: LocalStack) -> None:
        self._sqs = stack.client("sqs")
        self._url = stack.queue_url("CompletionEventsQueueResource")
        self.seen: list[dict[str, Any]] = []

    def of(self, run_id: str) -> list[dict[str, Any]]:
        """The events of one run, after reading what arrived so far."""
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return [event for event in self.seen if event["detail"]["run_id"] == run_id]


@pytest.fixture(scope="session")
def run_events(stack: LocalStack) -> RunEvents:
    return RunEvents(stack)


api_call = LocalStack.api
"""One request to the local API with plain HTTP: for the extension paths the SDK has no methods for."""
