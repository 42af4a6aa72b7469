"""The provider's webhooks verified (threadrunner.domain.webhooks): what the Standard Webhooks scheme signs passes,
anything else is refused with what is wrong; and the offline model signs as OpenAI does, which the ``openai`` SDK's
own check confirms (so the double and threadrunner cannot agree on a mistake)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from openai import OpenAI
from openai._exceptions import InvalidWebhookSignatureError

from threadrunner.domain.webhooks import TOLERANCE_SECONDS, secrets_of, verified
from threadrunner.errors import InvalidRequest, WebhookUnverified
from threadrunner_local.model_faults import Fault
from threadrunner_local.model_store import OfflineModel
from threadrunner_local.model_webhooks import WebhookSender, new_secret, signed

SECRET = new_secret()
BODY = json.dumps(
    {"id": "evt_1", "object": "event", "created_at": 1, "type": "response.completed", "data": {"id": "resp_abc"}}
).encode()


def delivery(body: bytes = BODY, secret: str = SECRET, at: float | None = None, webhook_id: str = "wh_1") -> dict:
    return signed(secret, webhook_id, int(time.time() if at is None else at), body)


def sdk_accepts(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    try:
        OpenAI(api_key="unused").webhooks.verify_signature(body, headers, secret=secret)
    except InvalidWebhookSignatureError:
        return False
    return True


def test_a_delivery_the_offline_model_signs_passes_threadrunners_check_and_the_openai_sdks():
    headers = delivery()

    ended = verified(SECRET, headers, BODY, time.time())

    assert (ended.type, ended.response_id, ended.webhook_id) == ("response.completed", "resp_abc", "wh_1")
    assert ended.timestamp == int(headers["webhook-timestamp"])
    assert sdk_accepts(headers, BODY)


@pytest.mark.parametrize(
    "case",
    ["another secret", "a changed body", "another webhook-id", "another timestamp", "no v1 signature"],
)
def test_a_delivery_its_signature_does_not_match_is_refused_401_by_both(case):
    headers, body = delivery(), BODY
    if case == "another secret":
        headers = delivery(secret=new_secret())
    elif case == "a changed body":
        body = BODY.replace(b"resp_abc", b"resp_xyz")
    elif case == "another webhook-id":
        headers["webhook-id"] = "wh_2"
    elif case == "another timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        headers["webhook-signature"] = "v1a," + headers["webhook-signature"][3:]

    with pytest.raises(WebhookUnverified) as refused:
        verified(SECRET, headers, body, time.time())

    assert refused.value.code == "invalid_webhook_signature"
    assert "No signature of the webhook matches" in refused.value.message
    assert not sdk_accepts(headers, body)


@pytest.mark.parametrize("age", [TOLERANCE_SECONDS + 1, -(TOLERANCE_SECONDS + 1)])
def test_a_delivery_signed_out_of_the_tolerance_is_refused_as_a_replay(age):
    now = time.time()
    headers = delivery(at=now - age)

    with pytest.raises(WebhookUnverified) as refused:
        verified(SECRET, headers, BODY, now)

    assert refused.value.code == "webhook_timestamp_out_of_tolerance"
    assert not sdk_accepts(headers, BODY)


def test_one_matching_signature_of_several_and_either_secret_of_a_rotation_pass():
    old, new = new_secret(), new_secret()
    headers = delivery(secret=new)
    headers["webhook-signature"] = "v1,bm90IHRoaXMgb25l " + headers["webhook-signature"]

    assert verified(f"{old} {new}", headers, BODY, time.time()).response_id == "resp_abc"
    assert secrets_of(f"{old}  {new}") == [base64.b64decode(old[6:]), base64.b64decode(new[6:])]


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_delivery_without_a_header_is_refused_400_naming_it(header):
    headers = delivery()
    del headers[header]

    with pytest.raises(InvalidRequest) as refused:
        verified(SECRET, headers, BODY, time.time())

    assert (refused.value.code, refused.value.param) == ("webhook_header_missing", header)


def test_a_timestamp_that_is_no_unix_time_is_refused_400():
    headers = delivery()
    headers["webhook-timestamp"] = "yesterday"

    with pytest.raises(InvalidRequest) as refused:
        verified(SECRET, headers, BODY, time.time())

    assert refused.value.param == "webhook-timestamp"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (b'{"type": "batch.completed", "data": {"id": "batch_1"}}', "type", "unsupported_webhook_event"),
        (b"not json", "type", "unsupported_webhook_event"),
        (b'{"type": "response.failed", "data": {}}', "data.id", "invalid_webhook"),
        (b'{"type": "response.failed", "data": {"id": "resp#1"}}', "data.id", "invalid_webhook"),
    ],
)
def test_a_verified_body_that_tells_of_no_response_that_ended_is_refused_400(body, param, code):
    with pytest.raises(InvalidRequest) as refused:
        verified(SECRET, delivery(body), body, time.time())

    assert (refused.value.param, refused.value.code) == (param, code)


def test_a_secret_that_is_not_base64_after_whsec_verifies_nothing():
    assert secrets_of("whsec_not*base64") == []
    with pytest.raises(WebhookUnverified):
        verified("whsec_not*base64", delivery(), BODY, time.time())


def test_a_released_response_has_its_webhook_sent_now_and_once():
    sent: list[tuple[str, str]] = []
    sender = WebhookSender(url="http://127.0.0.1:9/unused", secret=new_secret(), enabled=True)
    sender.send = lambda response_id, event_type: sent.append((response_id, event_type)) or 200  # type: ignore[method-assign]
    model = OfflineModel(latency=0, webhooks=sender)
    held = model.create({"model": "m", "input": "hold me", "background": True}, Fault(kind="slow", seconds=60))
    model.will_finish(held)

    assert model.release("hold me") == 1

    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sent == [(held.body["id"], "response.completed")]
    assert model.view(held)["status"] == "completed" and not sender._pending
