"""Many users through complete conversations on the local stack (``make load``, and a small one in the tests).

Each user sends two messages through ``POST /v1/users/{user_id}/messages`` to an assistant with
the server-side ``get_weather`` tool, each answered by a run with a tool call, and waits for each
reply before sending the next. Users learn of their replies the event-driven way, from the
``threadrunner.run.*`` events (a rule and queue of the load's own), not by polling the API. At the end
every thread is read back through the API: a message counts as answered only if the thread holds
it followed by an assistant reply. The report counts what a production system must get right
under load: every message answered (none lost), every tool call executed once.
"""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from threadrunner.domain.server_tools import declaration
from threadrunner_local.stack import LocalStack

CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Sydney", "Denver", "Madrid", "Nairobi", "Hanoi")


@dataclass
class LoadReport:
    users: int
    messages_sent: int = 0
    answered: int = 0
    lost: int = 0
    """Messages sent but never answered within the timeout."""
    runs_completed: int = 0
    runs_failed: int = 0
    duplicate_tool_executions: int = 0
    """Tool calls the ToolFunction ran more than once."""
    latencies: list[float] = field(default_factory=list)
    """Seconds from sending a message to its reply."""
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def summary(self) -> str:
        return (
            f"{self.users} users, {self.messages_sent} messages in {self.seconds:.1f} s: "
            f"answered {self.answered}, lost {self.lost}; runs completed {self.runs_completed}, "
            f"failed {self.runs_failed}; duplicate tool executions {self.duplicate_tool_executions}; "
            f"reply latency p50 {self.percentile(0.5):.2f} s, p95 {self.percentile(0.95):.2f} s, "
            f"mean {statistics.fmean(self.latencies) if self.latencies else float('nan'):.2f} s"
        )


def _call(stack: LocalStack, method: str, path: str, body: Any = None) -> Any:
    status, answer = stack.api(method, path, body)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {path} answered {status}: {answer}")
    return answer


class _RunEvents:
    """Hands each user the run events of the user's thread.

    Read as a downstream consumer would: a rule of its own on the stack's bus, for the run events
    of this load's users, into a queue of its own, so other consumers neither take its events nor
    bury them under theirs.
    """

    def __init__(self, stack: LocalStack, prefix: str) -> None:
        self._stack = stack
        self._sqs, self._events = stack.client("sqs"), stack.client("events")
        self._bus = stack.event_bus_name
        self._name = f"{prefix}-run-events"
        self._prefix = prefix
        self._url = ""
        self._waiting: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, name="load-run-events", daemon=True)

    def __enter__(self) -> _RunEvents:
        self._url = self._sqs.create_queue(QueueName=self._name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": ["threadrunner"], "detail": {"user_id": [{"prefix": self._prefix}]}}
        self._stack.add_rule(self._name, self._bus, pattern, [{"Id": "load", "Arn": arn}])
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._events.remove_targets(Rule=self._name, EventBusName=self._bus, Ids=["load"])
        self._events.delete_rule(Name=self._name, EventBusName=self._bus)
        self._sqs.delete_queue(QueueUrl=self._url)

    def of(self, user_id: str) -> queue.Queue[dict[str, Any]]:
        return self._waiting.setdefault(user_id, queue.Queue())

    def _read(self) -> None:
        while not self._stopped.is_set():
            answer = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                event = json.loads(message["Body"])
                self.of(event["detail"]["user_id"]).put(event)
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])


def run_load(stack: LocalStack, users: int, messages_per_user: int = 2, timeout: float = 180.0) -> LoadReport:
    """Drive ``users`` users at once through ``messages_per_user`` answered messages each."""
    assert stack.dispatcher is not None
    executions: Counter[str] = Counter()
    lock = threading.Lock()
    invoke = stack.dispatcher.invoke

    def counting(function: str, event: Any, attribute: str | None = None) -> Any:  # ToolFunction runs, by call id
        answer = invoke(function, event, attribute)
        if isinstance(answer, dict) and answer.get("ran"):
            with lock:
                executions[answer["call_id"]] += 1
        return answer

    report = LoadReport(users=users)
    assistant = _call(stack, "POST", "/assistants", {"model": "gpt-4.1-mini", "tools": [declaration("get_weather")]})
    prefix = f"load{int(time.time() * 1000)}"

    def converse(number: int, events: _RunEvents) -> tuple[str, list[str], list[float]]:
        user_id = f"{prefix}-user-{number}"
        sent: list[str] = []
        latencies: list[float] = []
        for turn in range(messages_per_user):
            text = f"What's the weather in {CITIES[(number + turn) % len(CITIES)]}? ({user_id} #{turn})"
            posted_at = time.monotonic()
            _call(stack, "POST", f"/users/{user_id}/messages", {"assistant_id": assistant["id"], "content": text})
            sent.append(text)
            try:
                event = events.of(user_id).get(timeout=timeout)
            except queue.Empty:
                break  # counted as lost below
            if event["detail"]["status"] == "completed":
                latencies.append(time.monotonic() - posted_at)
        return user_id, sent, latencies

    stack.dispatcher.invoke = counting  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        with _RunEvents(stack, prefix) as events, ThreadPoolExecutor(users) as pool:
            outcomes = list(pool.map(lambda number: converse(number, events), range(users)))
    finally:
        stack.dispatcher.invoke = invoke  # type: ignore[method-assign]
    report.seconds = time.monotonic() - started
    for user_id, sent, latencies in outcomes:
        report.messages_sent += len(sent)
        report.latencies += latencies
        user = _call(stack, "GET", f"/users/{user_id}")
        messages = _call(stack, "GET", f"/users/{user_id}/messages?order=asc&limit=100")["data"]
        for index, message in enumerate(messages):  # answered: in the thread, followed by a reply
            later = [m["role"] for m in messages[index + 1 :]]
            report.answered += (
                message["role"] == "user" and message["content"][0]["text"]["value"] in sent and ("assistant" in later)
            )
        for run in _call(stack, "GET", f"/threads/{user['thread_id']}/runs?limit=100")["data"]:
            report.runs_completed += run["status"] == "completed"
            report.runs_failed += run["status"] in ("failed", "expired", "cancelled", "incomplete")
    report.lost = report.messages_sent - report.answered
    report.duplicate_tool_executions = sum(count - 1 for count in executions.values() if count > 1)
    return report
