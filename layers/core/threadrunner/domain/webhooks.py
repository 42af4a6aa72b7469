"""The provider's webhooks of background responses, as the Standard Webhooks scheme signs them (OpenAI's do): a
delivery verified, then read as the end of one response.

A delivery carries ``webhook-id`` (the same on every retry of one event), ``webhook-timestamp`` (Unix seconds, the
attempt's) and ``webhook-signature``: one or more space-separated ``v1,<base64>``, each an HMAC-SHA256 of
``{id}.{timestamp}.{body}`` keyed with the endpoint's secret (the base64 after ``whsec_``). Its body is
``{"id", "object": "event", "type": "response.completed", "created_at", "data": {"id": "resp_..."}}``.

The check is written here on the standard library (``hmac.compare_digest``). The ``openai`` SDK's
``webhooks.verify_signature`` checks the same, but it would load the SDK into ApiFunction for every webhook, which
ApiFunction imports only for the calls it forwards; and it answers every problem with one exception, where the
provider is told which header is missing, that the timestamp is stale or that no signature matches.
(tests/unit/test_webhooks.py checks both accept and refuse the same deliveries.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Literal, get_args

from pydantic import BaseModel

from ..errors import InvalidRequest, WebhookUnverified

TOLERANCE_SECONDS = 300
"""How far a delivery's timestamp may be from the clock, either way (the scheme's recommendation, and OpenAI's):
a captured delivery replayed later is refused for its age; within it, its ``webhook-id`` (each accepted once)."""

ResponseEventType = Literal["response.completed", "response.failed", "response.cancelled", "response.incomplete"]
"""The events of a background response that ended: the ones a waiting turn is woken by."""

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
"""What a delivery's id and a response's id may be: they become parts of table keys."""


class ResponseEnded(BaseModel):
    """A verified delivery: a background response ended."""

    webhook_id: str
    """The delivery's ``webhook-id``: the same on every retry of the event."""
    timestamp: int
    """The attempt's ``webhook-timestamp``: a retry is signed anew, a replay repeats it."""
    type: ResponseEventType
    response_id: str


def secrets_of(stored: str) -> list[bytes]:
    """The keys a stored secret holds: one or more secrets separated by spaces (two while the provider's secret is
    rotated), each ``whsec_<base64>`` or, for a provider that does not encode it, its own UTF-8 bytes."""
    keys = []
    for secret in stored.split():
        if secret.startswith("whsec_"):
            try:
                keys.append(base64.b64decode(secret.removeprefix("whsec_"), validate=True))
            except binascii.Error:
                continue  # not base64: no delivery is signed with it
        else:
            keys.append(secret.encode())
    return keys


def signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``v1`` signature of a delivery (without its ``v1,``)."""
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verified(stored_secret: str, headers: Mapping[str, str], body: bytes, now: float) -> ResponseEnded:
    """The delivery (``headers`` by lower-case name), if the stored secret signed it within the tolerance and it
    tells of a background response that ended.

    Raises :class:`~threadrunner.errors.InvalidRequest` (400) for a header missing or malformed, or a body that is
    not such an event, and :class:`~threadrunner.errors.WebhookUnverified` (401) for a timestamp out of the
    tolerance or no signature that matches.
    """
    for name in HEADERS:
        if not headers.get(name, "").strip():
            raise InvalidRequest(f"The webhook has no {name} header.", param=name, code="webhook_header_missing")
    webhook_id, timestamp = headers["webhook-id"].strip(), headers["webhook-timestamp"].strip()
    if not _ID.fullmatch(webhook_id):
        raise InvalidRequest("The webhook-id header is not a webhook id.", param="webhook-id", code="invalid_webhook")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidRequest(
            "The webhook-timestamp header is not a Unix time in seconds.",
            param="webhook-timestamp",
            code="invalid_webhook",
        )
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookUnverified(
            f"The webhook's timestamp is more than {TOLERANCE_SECONDS} seconds from the server's clock: it is refused "
            "as a replay (check the sender's clock).",
            code="webhook_timestamp_out_of_tolerance",
        )
    given = [part[3:] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    expected = [signature(key, webhook_id, timestamp, body) for key in secrets_of(stored_secret)]
    # Every pair compared, in constant time: how many compare says nothing of where one differs.
    if not any([hmac.compare_digest(mine, theirs) for mine in expected for theirs in given]):
        raise WebhookUnverified(
            "No signature of the webhook matches its body with the deployment's webhook secret.",
            code="invalid_webhook_signature",
        )
    return ResponseEnded(webhook_id=webhook_id, timestamp=int(timestamp), **_event(body))


def _event(body: bytes) -> dict[str, str]:
    """The type and response id of a verified body."""
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    kind = event.get("type") if isinstance(event, dict) else None
    data = event.get("data") if isinstance(event, dict) else None
    response_id = data.get("id") if isinstance(data, dict) else None
    if kind not in get_args(ResponseEventType):
        ends = ", ".join(get_args(ResponseEventType))
        raise InvalidRequest(
            f"threadrunner takes the webhooks of background responses that ended ({ends}); subscribe the endpoint "
            "to those only.",
            param="type",
            code="unsupported_webhook_event",
        )
    if not isinstance(response_id, str) or not _ID.fullmatch(response_id):
        raise InvalidRequest("The webhook's data.id is not a response id.", param="data.id", code="invalid_webhook")
    return {"type": str(kind), "response_id": response_id}
