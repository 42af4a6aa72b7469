"""The offline model's webhooks: when a background response ends, a ``response.completed`` (``failed``,
``incomplete``, ``cancelled``) event is sent to a URL, signed as OpenAI signs its webhooks (the Standard Webhooks
scheme: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` of ``{id}.{timestamp}.{body}``, HMAC-SHA256
with the base64 key after ``whsec_``).

The local stack points them at its API's ``/v1/webhooks`` with the secret it put in the deployment's secret. They
are sent only while switched on (``POST /_offline/config {"webhooks": true}``); a ``drop_webhook`` fault keeps a
response's webhook from being sent, a ``delay_webhook`` fault sends it ``seconds`` late (the loop's fallback); a
response a test releases (``POST /_offline/release``) has its webhook sent when it is released.
Each delivery is sent once: a provider retries one that is not answered 2xx for days, the double does not (a run's
turn polls when its webhook does not come). What was sent and how it was answered is at ``GET /_offline/webhooks``.

The signature is computed here, not with threadrunner's code, so the two check each other; the ``openai`` SDK's
``webhooks.verify_signature`` accepts these deliveries (tests/unit/test_webhooks.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model_faults import Fault

MAX_KEPT = 200
"""The latest deliveries ``GET /_offline/webhooks`` shows."""
TYPES = {
    "completed": "response.completed",
    "failed": "response.failed",
    "incomplete": "response.incomplete",
    "cancelled": "response.cancelled",
}
"""The event of each status a response ends in."""


def new_secret() -> str:
    """A signing secret as OpenAI gives one: ``whsec_`` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a delivery of ``body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


@dataclass
class WebhookSender:
    """Where the double sends its webhooks, with what secret, and whether it sends them."""

    url: str
    secret: str
    enabled: bool = False
    sent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_KEPT))
    """Each delivery: its ``headers``, ``body`` (text), and the ``status`` and ``answer`` (text) it was answered with
    (0 and empty: no answer)."""
    _pending: dict[str, tuple[threading.Timer, Callable[[], None], Fault | None]] = field(default_factory=dict)
    """The webhooks of responses still running, by response id: what :meth:`ends_now` sends sooner."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finishes(self, response_id: str, at: float, status: Callable[[], str], fault: Fault | None) -> None:
        """A background response is to end at ``at``: its event is sent then, in the status it has then (none if it
        was cancelled meanwhile: :meth:`cancelled` sent that one)."""

        def send() -> None:
            with self._lock:
                self._pending.pop(response_id, None)
            ended = status()
            if ended in TYPES and ended != "cancelled":
                self.send(response_id, TYPES[ended])

        timer = self._later(at - time.time(), send, fault)
        if timer is not None:
            with self._lock:
                self._pending[response_id] = (timer, send, fault)

    def ends_now(self, response_id: str) -> None:
        """A response that was to end later ends now (``POST /_offline/release``): its webhook is sent now instead of
        then (later by a ``delay_webhook`` fault's seconds, never for a ``drop_webhook``), and once."""
        with self._lock:
            pending = self._pending.pop(response_id, None)
        if pending is not None:
            timer, send, fault = pending
            timer.cancel()
            self._later(0.0, send, fault)

    def cancelled(self, response_id: str, fault: Fault | None) -> None:
        """A background response was cancelled: its event is sent now."""
        self._later(0.0, lambda: self.send(response_id, TYPES["cancelled"]), fault)

    def _later(self, seconds: float, send: Callable[[], Any], fault: Fault | None) -> threading.Timer | None:
        """``send`` after ``seconds``, while switched on; never for a ``drop_webhook`` fault, later by a
        ``delay_webhook`` fault's ``seconds``. The timer that will send it, if any."""
        if not self.enabled or (fault is not None and fault.kind == "drop_webhook"):
            return None
        delay = fault.seconds if fault is not None and fault.kind == "delay_webhook" else 0.0
        timer = threading.Timer(max(0.0, seconds) + delay, send)
        timer.daemon = True
        timer.start()
        return timer

    def send(self, response_id: str, event_type: str) -> int:
        """Sign and post one event; the status it was answered with (0 when nobody answered)."""
        now = int(time.time())
        event = {
            "id": "evt_" + secrets.token_hex(16),
            "object": "event",
            "created_at": now,
            "type": event_type,
            "data": {"id": response_id},
        }
        body = json.dumps(event).encode()
        headers = signed(self.secret, "wh_" + secrets.token_hex(16), now, body)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={**headers, "Content-Type": "application/json", "User-Agent": "OpenAI/1.0 (offline model)"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, answered = int(answer.status), answer.read()
        except urllib.error.HTTPError as error:
            status, answered = int(error.code), error.read()
        except OSError:
            status, answered = 0, b""
        kept = {
            "headers": headers,
            "body": body.decode(),
            "status": status,
            "answer": answered.decode(errors="replace"),
        }
        with self._lock:
            self.sent.append(kept)
        return status

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.sent)
