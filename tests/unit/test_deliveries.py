"""Users' messages from events: each producer posts for the one project it is bound to, once per delivery."""

from __future__ import annotations

import json

import pytest

from tests.fakes import FakeCatalogue, FakeControl, FakeJobs, fake_stores
from tests.support.idempotency import MemoryRecords
from tests.support.lambda_context import LambdaContext
from threadrunner.app import assistants
from threadrunner.app.deliveries import Deliveries, InvalidEvent, bindings, deliver, summary
from threadrunner.app.requests.assistants import AssistantCreate
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.run import Run

PAYLOAD = {"user_id": "alice", "assistant_id": "asst_1", "content": "hi"}


def _posted(deliveries: list[dict]):
    def post(delivery: dict) -> dict:
        deliveries.append(delivery)
        return {"posted": len(deliveries)}

    return post


def test_given_a_setting_of_pairs_when_read_then_each_producer_maps_to_its_project():
    setting = "my.app=acme, arn:aws:sqs:us-east-1:1:q=beta,,broken"
    assert bindings(setting) == {"my.app": "acme", "arn:aws:sqs:us-east-1:1:q": "beta"}


def test_given_a_bound_producer_when_it_delivers_then_the_message_is_posted_for_its_project():
    posted: list[dict] = []

    deliver("event:1", json.dumps(PAYLOAD), "my.app", {"my.app": "acme"}, _posted(posted))

    assert posted == [
        {
            "delivery_id": "event:1",
            "project": "acme",
            "request": {**PAYLOAD, "metadata": None, "if_busy": "queue", "project": None},
        }
    ]


@pytest.mark.parametrize(
    ("producer", "payload", "why"),
    [
        ("someone.else", PAYLOAD, "bound to no project"),
        ("my.app", {**PAYLOAD, "project": "beta"}, "for the project 'acme' only"),
        ("my.app", "{not json", "not JSON"),
        ("my.app", {"user_id": "alice"}, "assistant_id: Field required"),
    ],
)
def test_given_a_delivery_it_may_not_make_when_delivered_then_nothing_is_posted(producer, payload, why):
    posted: list[dict] = []

    with pytest.raises(InvalidEvent, match=why):
        deliver("event:1", payload, producer, {"my.app": "acme"}, _posted(posted))
    assert posted == []


def test_given_an_answer_when_summarised_then_it_keeps_ids_only():
    run = Run(id="run_1", created_at=1, thread_id="thread_1", assistant_id="asst_1", model="m")
    assert summary(run) == {"run_id": "run_1", "thread_id": "thread_1", "status": "queued"}


def _deliveries(records: MemoryRecords, control: FakeControl) -> tuple[Deliveries, str]:
    stores = fake_stores()
    assistant = assistants.create_assistant(stores, FakeCatalogue(), FakeJobs(), AssistantCreate(model="gpt-4o-mini"))
    return Deliveries({"my.app": stores.project}, lambda project: stores, control, RunDefaults(), records), assistant.id


def test_given_a_delivery_delivered_twice_then_its_message_is_posted_once_and_both_get_its_summary():
    control = FakeControl()
    deliveries, assistant_id = _deliveries(MemoryRecords(), control)
    payload = {**PAYLOAD, "assistant_id": assistant_id}

    first = deliveries.deliver("event:1", payload, "my.app", LambdaContext("EventsFunction"))  # type: ignore[arg-type]
    again = deliveries.deliver("event:1", payload, "my.app", LambdaContext("EventsFunction"))  # type: ignore[arg-type]

    assert again == first and first["status"] == "queued"
    assert [ref.run_id for ref in control.started] == [first["run_id"]]


def test_a_delivery_record_keeps_the_key_earlier_releases_wrote():
    """A duplicate delivered across a deploy posts nothing: the key names the function that posted before it moved
    from threadrunner.bootstrap to threadrunner.app.deliveries."""
    records = MemoryRecords()
    deliveries, assistant_id = _deliveries(records, FakeControl())

    deliveries.deliver("event:1", {**PAYLOAD, "assistant_id": assistant_id}, "my.app", LambdaContext("EventsFunction"))  # type: ignore[arg-type]

    (key,) = records.records
    assert key.partition("#")[0].endswith(".threadrunner.bootstrap.deliveries.<locals>.post")
