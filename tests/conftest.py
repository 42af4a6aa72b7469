"""Shared fixtures: one local stack for the session, an ``openai`` client on it, the offline model's controls."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadrunner_harness import samples
from threadrunner_local import least_privilege
from threadrunner_local.stack import LocalStack, StackConfig, free_port

# Test modules import the core package before the stack starts; its logger takes the stack's level from here.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
IAM_REPORTS = ROOT / ".aws-sam" / "iam-reports"
"""Where each local stack of the session (one per pytest-xdist worker) writes what each function's calls used and
every call IAM refused: ``<worker>.json``."""
TEST_TOOL_ROUNDS = 3
"""The test stack's MAX_TOOL_ROUNDS: small, so the runaway test is quick."""
TEST_TOOL_OUTPUTS_TIMEOUT = 6
"""The test stack's TOOL_OUTPUTS_TIMEOUT_SECONDS: short, so the expiry test is quick."""
TEST_STREAM_KEEP_ALIVE = 0.5
"""The test stack's STREAM_KEEP_ALIVE_SECONDS: short, so streams carry comments whenever the model takes a while."""
TEST_CIRCUIT_FAILURES = 3
"""The test stack's CIRCUIT_FAILURE_THRESHOLD."""
TEST_CIRCUIT_RECOVERY_SECONDS = 300
"""The test stack's CIRCUIT_RECOVERY_SECONDS: long, so no circuit recovers by accident (a test moves their clock)."""
TEST_CODE_SECONDS = 10
"""The test stack's CODE_INTERPRETER_EXECUTION_SECONDS: an endless loop is stopped soon, pandas still has time."""
TEST_WEBHOOK_WAIT_SECONDS = 2
"""The test stack's MODEL_WEBHOOK_WAIT_SECONDS: a turn whose webhook does not come polls soon."""


WHOLE_SUITE = pytest.StashKey[bool]()
"""Whether this session runs every test (the least-privilege check needs every call the suite makes)."""


def _worker(config: pytest.Config) -> str | None:
    """The pytest-xdist worker this process is (``gw0``, ...); ``None`` for the controller or a run without xdist."""
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return workerinput.get("workerid")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    collected = {Path(item.path) for item in items}
    every = set((ROOT / "tests").rglob("test_*.py"))
    selected = config.option.keyword or config.option.markexpr or any("::" in arg for arg in config.args)
    config.stash[WHOLE_SUITE] = collected == every and not selected


STORE_CONTRACT = "tests/integration/store/"
"""The store contract: its coverage test reads, in its own process, what the contract's other tests called."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist, the store contract goes to one worker whole and in order; every other test goes, alone,
    to whichever worker is free."""
    from xdist.scheduler import LoadScopeScheduling

    class ContractTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return STORE_CONTRACT if nodeid.startswith(STORE_CONTRACT) else nodeid

    return ContractTogether(config, log)


def pytest_sessionstart(session: pytest.Session) -> None:
    if _worker(session.config) is None:
        shutil.rmtree(IAM_REPORTS, ignore_errors=True)  # only this session's stacks report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Least privilege, judged once every stack of the session reported (each xdist worker runs part of the suite):
    every action a function's role grants is one some call used, or one ``NOT_REACHED`` explains; every role was
    used. A finding fails the session."""
    if _worker(session.config) is not None:
        return
    reports = [json.loads(path.read_text()) for path in sorted(IAM_REPORTS.glob("*.json"))]
    if not reports or not all(report["whole_suite"] for report in reports):
        return  # part of the suite: its calls say nothing of what the rest would use
    problems = least_privilege.judged(reports, ROOT)
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n".join(f"  {problem}" for problem in problems)
        message = (
            f"least privilege: {len(problems)} finding(s) (docs/local-stack.md, 'The deploy, rehearsed'):\n{lines}"
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    config = StackConfig(
        api_port=free_port(),
        model_latency=0.1,  # a turn is polled more than once; the tests that need a slow model ask for one
        # The webhook endpoint, its secret and permissions, and an offline model that can send webhooks: runs poll
        # unless a test switches webhook mode on (tests/e2e/test_webhooks.py).
        webhooks=True,
        environment={
            "MODEL_WEBHOOKS": "false",
            "MODEL_WEBHOOK_WAIT_SECONDS": str(TEST_WEBHOOK_WAIT_SECONDS),
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
            # An endless loop of the model's code is stopped soon (tests/e2e/test_code_interpreter.py).
            "CODE_INTERPRETER_EXECUTION_SECONDS": str(TEST_CODE_SECONDS),
        },
        parameters={"MessagesVisibilityTimeoutSeconds": "2"},  # a failed message comes back quickly
    )
    local = LocalStack(samples.configure(config)).start()
    yield local
    assert local.enforcer is not None and local.template is not None
    # What this stack's calls used and what IAM refused, per function: judged with the other workers' at the end.
    name = _worker(request.config) or "main"
    report = {
        **local.enforcer.report(),
        "stack": name,
        "enforced": local.enforcer.enabled,
        "parameters": local.template.parameters,
        "whole_suite": request.config.stash.get(WHOLE_SUITE, False),
    }
    IAM_REPORTS.mkdir(parents=True, exist_ok=True)
    (IAM_REPORTS / f"{name}.json").write_text(json.dumps(report, indent=1))
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

    def release(self, match: str) -> int:
        """``POST /_offline/release``: the unfinished responses that mention ``match`` end now (a ``slow`` fault held
        them), their webhooks sent now; how many it ended."""
        return int(self._call("POST", "/_offline/release", {"match": match})["released"])

    def configure(self, **config: Any) -> None:
        """``POST /_offline/config``: the latency of the responses created next, their store, the webhooks."""
        self._call("POST", "/_offline/config", config)

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
