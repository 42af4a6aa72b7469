"""What only the DynamoDB stores can show: projects kept apart in one table, any JSON a client sends stored as it
came, and the expiry (TTL) of what the table keeps for a while."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from threadrunner.adapters import dynamodb
from threadrunner.adapters.dynamodb.usage import RESPONSES_DAYS_KEPT, USAGE_DAYS_KEPT
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import Budget, Reservation
from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.thread import Thread
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.errors import NotFound
from threadrunner_local.stack import LocalStack

from .builders import message, new_thread, running, tool_step

DAY = 86400


def _items(stack: LocalStack, project: str) -> dict[str, dict[str, Any]]:
    """The project's items, by ``PK SK``."""
    return {f"{i['PK']['S']} {i['SK']['S']}": i for i in stack.table_items(f"P#{project}#")}


def _expiry(item: dict[str, Any]) -> int | None:
    return int(item["ttl"]["N"]) if "ttl" in item else None


def test_projects_cannot_see_each_other(stack: LocalStack, table_store):
    thread, _ = new_thread(table_store, 1)
    other = stack.stores("p_other" + secrets.token_hex(2))

    with pytest.raises(NotFound):
        other.threads.get_thread(thread.id)
    assert other.threads.list_threads(PageRequest()).data == []
    assert [t.id for t in table_store.threads.list_threads(PageRequest()).data] == [thread.id]


def test_any_json_a_client_sends_round_trips_and_leaves_the_table_readable(stack: LocalStack, table_store):
    store = table_store
    # Empty keys, keys named like DynamoDB's type tags and numbers of more than 38 digits: all JSON.
    schema = {"type": "object", "properties": {"": {"type": "number", "maximum": 1e300}, "NULL": {"type": "boolean"}}}
    odd = {"": False, "N": [True, None, 12345678901234567890123456789012345678901234567890]}
    tools = [{"type": "function", "function": {"name": "odd", "parameters": {**schema, "examples": [odd]}}}]
    response_format = {"type": "json_schema", "json_schema": {"name": "odd", "schema": schema}}
    assistant = Assistant(id=new_id("asst"), created_at=now(), model="m", tools=tools, response_format=response_format)
    store.assistants.put_assistant(assistant)

    assert store.assistants.get_assistant(assistant.id).model_dump() == assistant.model_dump()
    assert any(item["SK"]["S"] == f"ASST#{assistant.id}" for item in stack.table_items())


def test_everything_of_a_thread_and_its_user_expires_together_after_the_retention(stack: LocalStack):
    project = "p_" + secrets.token_hex(4)
    store = dynamodb.stores(stack.table_name, project, stack.client("dynamodb"), retention_days=30)
    thread = Thread(id=new_id("thread"), created_at=now())
    store.users.create_user(UserRecord(user_id="ann", thread_id=thread.id, created_at=now()), thread)
    store.threads.add_message(message(thread.id))
    store.users.enqueue(QueuedMessage(message=message(thread.id, "waiting"), assistant_id="asst_x"))
    run = running(store, thread)
    tool_step(store, run, "client")
    store.assistants.put_assistant(Assistant(id=new_id("asst"), created_at=now(), model="m"))
    start = now()

    expiries = {key: _expiry(item) for key, item in _items(stack, project).items()}

    kept = {key: at for key, at in expiries.items() if "#THREAD#" in key or "#USER#" in key}
    assert {key.split(" ")[1].split("#")[0] for key in kept} == {"THREAD", "MSG", "QUEUE", "RUN", "STEP", "USER"}
    assert all(at is not None and start + 30 * DAY - 60 <= at <= start + 30 * DAY + 60 for at in kept.values())
    assert [at for key, at in expiries.items() if "#ASSISTANTS" in key] == [None]  # an assistant stays


def test_without_a_retention_a_thread_never_expires(stack: LocalStack, table_store):
    thread, _ = new_thread(table_store, 1)

    items = _items(stack, table_store.project)

    assert [_expiry(item) for key, item in items.items() if thread.id in key] == [None, None]


def test_counters_and_a_responses_entries_expire_when_nothing_needs_them_any_more(stack: LocalStack, table_store):
    store, start, minute = table_store, now(), now() // 60
    reservation = Reservation(day="2026-01-01", user_id="ann", prompt_tokens=5, completion_tokens=5)
    store.usage.reserve(reservation, Budget())
    store.usage.record_response("resp_1", reservation, "", "", unsettled=True)
    store.projects.count_request(minute, limit=10)
    store.projects.open_stream("stream_1", start + 100, limit=5)
    store.projects.open_stream("stream_2", start + 900, limit=5)

    items, project = _items(stack, store.project), store.project
    listed = {f"{i['PK']['S']} {i['SK']['S']}": i for i in stack.table_items("unsettled#")}

    def near(at: int | None, expected: int) -> bool:
        return at is not None and expected - 60 <= at <= expected + 60

    for day_key in (f"P#{project}#USAGE DAY#2026-01-01", f"P#{project}#USAGE DAY#2026-01-01#USER#ann"):
        assert near(_expiry(items[day_key]), start + USAGE_DAYS_KEPT * DAY)
    assert near(_expiry(items[f"P#{project}#USAGE RESPONSE#resp_1"]), start + RESPONSES_DAYS_KEPT * DAY)
    assert near(_expiry(listed[f"unsettled#responses {project}#resp_1"]), start + RESPONSES_DAYS_KEPT * DAY)
    assert _expiry(items[f"P#{project}#RATE MINUTE#{minute}"]) == minute * 60 + 120
    assert _expiry(items[f"P#{project}#STREAMS STREAMS"]) == start + 900  # when its last stream would have ended
