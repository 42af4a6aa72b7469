"""The offline model's state and the life of its responses: created (decided by the policy), stored (in memory,
bounded, and in a file when the stack keeps its data), seen as they go ``queued``, ``in_progress`` and finished
``latency`` seconds after they were created (so callers really poll), cancelled, deleted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import model_faults, model_responses
from .model_faults import Fault
from .model_policy import answer, tokens
from .model_webhooks import WebhookSender

MAX_RESPONSES = 5000
"""The responses the double keeps (the oldest go first): a long-running ``make run`` holds bounded memory."""
MAX_REQUESTS = 1000
"""The create requests ``/_offline/requests`` shows, the latest ones."""
RUNNING = ("queued", "in_progress")
"""The statuses of a response that has not finished."""
QUEUED_SHARE = 0.2
"""The share of its time a response spends ``queued`` before it is ``in_progress`` (and its output streams)..."""
QUEUED_AT_MOST = 1.0
"""... and the most seconds it is queued: a slow response is slow to write, not to start."""


@dataclass
class StoredResponse:
    body: dict[str, Any]
    """The response as it will be once finished."""
    created: float
    finish_at: float
    text: str
    """Every text of the request's conversation, for fault matching."""
    items: list[dict[str, Any]]
    """The conversation up to and including this response's output."""
    fails: bool = False
    cancelled_at: float | None = None

    @property
    def begun_at(self) -> float:
        """When it stops being ``queued`` and starts writing its output."""
        return self.created + min((self.finish_at - self.created) * QUEUED_SHARE, QUEUED_AT_MOST)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


@dataclass
class OfflineModel:
    """The state of the double: stored responses, pending faults, the requests it saw."""

    latency: float = 1.0
    api_key: str = ""
    responses: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)
    faults: list[Fault] = field(default_factory=list)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_REQUESTS))
    lock: threading.Lock = field(default_factory=threading.Lock)
    kept_in: Path | None = None
    """A file where its responses outlive the process, as a provider's stored responses do (``make run``)."""
    store: bool = True
    """Whether it keeps responses, as a provider's response store does. Off (as vLLM's is by default), a response
    is answered and forgotten: retrieving it, its input items and ``previous_response_id`` find nothing, and
    background mode is refused. threadrunner's conversations need no store."""
    webhooks: WebhookSender | None = None
    """Where it sends the webhooks of background responses that end (:mod:`.model_webhooks`), if anywhere."""

    def __post_init__(self) -> None:
        if self.kept_in is not None:
            self._restore(self.kept_in)

    def _restore(self, kept_in: Path) -> None:
        """Take back the responses the file keeps (less those deleted since), and compact it to one line each."""
        if kept_in.exists():
            for line in kept_in.read_bytes().splitlines():
                try:
                    kept = json.loads(line)
                    stored = None if "deleted" in kept else StoredResponse(**kept)
                except (ValueError, TypeError):
                    break  # a last line cut by a kill
                if stored is None:
                    self.responses.pop(kept["deleted"], None)
                    continue
                self.responses[stored.body["id"]] = stored
                self.responses.move_to_end(stored.body["id"])
        while len(self.responses) > MAX_RESPONSES:
            self.responses.popitem(last=False)
        lines = b"".join(json.dumps(asdict(stored)).encode() + b"\n" for stored in self.responses.values())
        kept_in.write_bytes(lines)  # compacted: one line per response it still has

    def keep(self, stored: StoredResponse) -> None:
        """Store a response under its id (again, when it changed), forgetting the oldest beyond
        :data:`MAX_RESPONSES`."""
        with self.lock:
            self.responses[stored.body["id"]] = stored
            self.responses.move_to_end(stored.body["id"])
            while len(self.responses) > MAX_RESPONSES:
                self.responses.popitem(last=False)
            self._write(asdict(stored))

    def forget(self, response_id: str) -> bool:
        """Delete a response; False if it has none of that id."""
        with self.lock:
            gone = self.responses.pop(response_id, None)
            if gone is not None:
                self._write({"deleted": response_id})
        return gone is not None

    def _write(self, line: dict[str, Any]) -> None:
        if self.kept_in is not None:
            with self.kept_in.open("ab") as out:
                out.write(json.dumps(line).encode() + b"\n")

    def take_fault(self, on: str, text: str) -> Fault | None:
        """The pending fault a request of kind ``on`` with ``text`` takes, if any (:func:`model_faults.take`)."""
        with self.lock:
            return model_faults.take(self.faults, on, text)

    def create(self, request: dict[str, Any], fault: Fault | None = None) -> StoredResponse:
        """The response to a create request, decided by the policy and stored: its answer (calls, or a reply in the
        requested format, cut at ``max_output_tokens``), and what ``fault`` does to it (a reply that is not JSON,
        a slow finish, a failure).

        Raises ``LookupError`` for a ``previous_response_id`` it does not have.
        """
        earlier = self._earlier_items(request)
        new_items = model_responses.input_items(request)
        history = earlier + new_items
        self.requests.append(request)
        answered = answer(model_responses.turn(request, history, new_items), not_json=model_faults.spoils_json(fault))
        body = model_responses.answered(request, history, answered)
        now = time.time()
        stored = StoredResponse(
            body=body,
            created=now,
            finish_at=now + model_faults.duration(fault, self.latency),
            text=model_responses.said(history),
            items=history + body["output"],
            fails=model_faults.fails(fault),
        )
        if self.store:
            self.keep(stored)
        else:
            body["store"] = False
        return stored

    def _earlier_items(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """The conversation before the request: the items of the response it names as its previous one, if any."""
        previous_id = request.get("previous_response_id")
        previous = self.responses.get(previous_id or "")
        if previous_id and previous is None:
            raise LookupError(f"Previous response with id '{previous_id}' not found.")
        return previous.items if previous else []

    def seed(self, response_id: str, user_text: str, output: list[dict[str, Any]]) -> None:
        """Store a finished response under a fixed id (the sample world of ``events/`` refers to it)."""
        now = time.time()
        history: list[dict[str, Any]] = [{"role": "user", "content": user_text}]
        body = model_responses.response_body(response_id, {"model": "gpt-4.1-mini"}, output, (tokens(user_text), 10))
        self.keep(StoredResponse(body=body, created=now, finish_at=now, text=user_text, items=history + output))

    def view(self, stored: StoredResponse, at: float | None = None) -> dict[str, Any]:
        """The response as a caller sees it now (or ``at`` that time)."""
        now = time.time() if at is None else at
        body = dict(stored.body)
        if stored.cancelled:
            return body | {"status": "cancelled", "output": [], "usage": None}
        if now < stored.finish_at:
            queued = now < stored.begun_at
            return body | {"status": "queued" if queued else "in_progress", "output": [], "usage": None}
        if stored.fails:
            return body | {
                "status": "failed",
                "output": [],
                "usage": None,
                "error": {"code": "server_error", "message": "The offline model was told to fail."},
            }
        return body

    def cancel(self, stored: StoredResponse) -> None:
        """Cancel a running response, unless an ``ignore_cancel`` fault makes it finish anyway."""
        fault = self.take_fault("cancel", stored.text)
        if not model_faults.ignores_cancel(fault):
            stored.cancelled_at = time.time()
            self.keep(stored)
            if self.webhooks is not None and stored.body.get("background"):
                self.webhooks.cancelled(stored.body["id"], self.take_fault("webhook", stored.text))

    def release(self, match: str) -> int:
        """End now the running responses whose text contains ``match`` (a ``slow`` fault held them, so that a test
        decides when they end); how many. Their webhooks are sent now."""
        now = time.time()
        with self.lock:
            running = [
                stored
                for stored in self.responses.values()
                if match in stored.text and stored.cancelled_at is None and now < stored.finish_at
            ]
        for stored in running:
            stored.finish_at = now
            self.keep(stored)
            if self.webhooks is not None:
                self.webhooks.ends_now(stored.body["id"])
        return len(running)

    def will_finish(self, stored: StoredResponse) -> None:
        """A background response was created: its webhook is sent when it ends."""
        if self.webhooks is not None:
            fault = self.take_fault("webhook", stored.text)
            self.webhooks.finishes(stored.body["id"], stored.finish_at, lambda: self.view(stored)["status"], fault)
