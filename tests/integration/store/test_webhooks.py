"""The record of the provider's webhooks' contract (which run waits on a response, each delivery taken once), on
DynamoDB and on the fakes. The record is the deployment's, not one project's: each test's ids are its own."""

from __future__ import annotations

import secrets

from threadrunner.domain.run_record import RunRef


def test_a_response_names_the_run_that_waits_on_it_and_an_unknown_one_names_none(webhooks):
    response, unknown = "resp_" + secrets.token_hex(8), "resp_" + secrets.token_hex(8)
    ref = RunRef(project="p_one", thread_id="thread_1", run_id="run_1")

    webhooks.expect(response, ref)
    webhooks.expect(response, ref)  # a turn that waits again on the same response

    assert webhooks.expected(response) == ref
    assert webhooks.expected(unknown) is None


def test_a_delivery_is_first_once_then_a_retry_when_signed_anew_and_a_replay_when_repeated(webhooks):
    delivery, other = "wh_" + secrets.token_hex(8), "wh_" + secrets.token_hex(8)

    assert webhooks.receive(delivery, 1_800_000_000) == "first"
    assert webhooks.receive(delivery, 1_800_000_000) == "replayed"
    assert webhooks.receive(delivery, 1_800_000_060) == "retried"
    assert webhooks.receive(delivery, 1_800_000_000) == "replayed"  # the first delivery's timestamp is the one kept
    assert webhooks.receive(other, 1_800_000_000) == "first"
