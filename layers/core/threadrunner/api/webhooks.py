"""``POST /v1/webhooks``: the provider's webhooks of background responses (an extension path; docs/run-loop.md,
"Webhooks"). Open without an API key, as the provider holds none: its signature, with the deployment's secret, is
what lets a delivery in. Anything that cannot be verified or matched answers 4xx and changes nothing."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import TYPE_CHECKING

from ..errors import ThreadrunnerError
from ..observability import log_keys, logger
from . import errors

if TYPE_CHECKING:
    from .scope import Answer, Incoming

PATH = "/v1/webhooks"
MAX_WEBHOOK_BYTES = 64 * 1024
"""A larger body answers 413: a response's event is a few hundred bytes."""


def serves(method: str, path: str) -> bool:
    """Whether the request is a webhook's delivery."""
    return method == "POST" and path == PATH


def answer(incoming: Incoming) -> Answer:
    """The delivery's answer: 200 when it was taken (its run's turn checked, or nothing left to do), else the
    OpenAI-style error of why not."""
    hooks = incoming.deps.webhooks
    if hooks is None:  # the deployment's provider sends no webhooks: there is no such endpoint
        return errors.as_answer(errors.unknown_url(incoming.method, incoming.path))
    event = incoming.event
    body = (event.get("body") or "").encode("utf-8", "surrogatepass")
    try:
        body = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
    except binascii.Error:
        body = b""  # no signature matches it
    if len(body) > MAX_WEBHOOK_BYTES:
        too_large = f"The webhook's body of {len(body)} bytes is larger than the limit of {MAX_WEBHOOK_BYTES} bytes."
        return errors.as_answer(errors.error_response(413, too_large, code="request_too_large"))
    try:
        receipt = hooks.receive(incoming.headers, body, time.time())
    except ThreadrunnerError as refused:
        logger.warning("webhook refused", extra={"code": refused.code})
        return errors.as_answer(errors.from_error(refused))
    log_keys(response_id=receipt.response_id, run_id=receipt.run_id)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"received": True, "woken": receipt.woken}),
        "isBase64Encoded": False,
    }
