"""The store on one DynamoDB table (single-table design). Key design: docs/data-model.md.

Every key starts with the project, so one project can never address another's objects.

==========================  =================================  ==============================
item                        PK                                 SK
==========================  =================================  ==============================
assistant                   ``P#<project>#ASSISTANTS``         ``ASST#<assistant_id>``
thread                      ``P#<project>#THREAD#<thread_id>`` ``THREAD``
message                     same as its thread                 ``MSG#<message_id>``
run                         same as its thread                 ``RUN#<run_id>``
run step                    same as its thread                 ``STEP#<run_id>#<step_id>``
tool call                   same as its thread                 ``STEP#<run_id>#<step_id>#CALL#<call_id>``
queued message              same as its thread                 ``QUEUE#<message_id>``
user                        ``P#<project>#USER#<user_id>``     ``USER``
==========================  =================================  ==============================

Ids sort by creation time, so a query on an SK prefix lists a thread's messages, runs or a
run's steps in order, and the cursors ``after``/``before`` become key conditions.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, DecimalException
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from ..domain.assistant import Assistant
from ..domain.budget import Budget, DayUsage, ProjectPolicy, Reservation, over_budget
from ..domain.common import Usage
from ..domain.common import now as now_seconds
from ..domain.message import Message
from ..domain.pagination import Page, PageRequest, paginate
from ..domain.run import Run
from ..domain.run_record import RunRecord
from ..domain.run_status import RunStatus, is_terminal, sources_of
from ..domain.run_step import RunStep, RunStepStatus, ToolCallsStepDetails
from ..domain.thread import Thread
from ..domain.tool_call import ToolCall
from ..domain.user import QueuedMessage, UserRecord
from ..errors import BudgetExceeded, InvalidRequest, InvalidTransition, NotFound, RunActive, TooManyActiveRuns
from ..observability import logger

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_RUN_BOOKKEEPING = (
    "response_id",
    "tool_rounds",
    "usage_prompt",
    "usage_completion",
    "usage_responses",
    "claims",
    "vector_store_ids",
    "server_tools",
    "task_token",
    "waiting_step_id",
    "usage_counted",
    "ttl",
)
_KEYS = ("PK", "SK", "entity")
_UPDATED_IN_PLACE = ("claims",)
_THREAD_BOOKKEEPING = ("active_run_id", "user_id", "usage_prompt", "usage_completion", "ttl")
_USAGE_DAYS_KEPT = 400
_RESPONSES_DAYS_KEPT = 30
"""How long a model response's usage entry is kept after it was created (one settles within hours)."""
_HIGHEST = "~"  # sorts after every id character


def _to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes of ``values``: scalars as DynamoDB types, objects and arrays as JSON documents.

    Objects and arrays hold what clients send (tool schemas, response formats, content parts), whose
    map keys and numbers DynamoDB's map type cannot always hold (an empty key, more than 38 digits).
    As a JSON document (a Binary attribute) they round-trip exactly. Only the maps the store updates
    in place stay DynamoDB maps.
    """
    attributes = {}
    for key, value in values.items():
        if isinstance(value, dict | list) and key not in _UPDATED_IN_PLACE:
            attributes[key] = {"B": json.dumps(value, separators=(",", ":")).encode()}
            continue
        # DynamoDB numbers are Decimals; a JSON round trip turns every float into one.
        plain = json.loads(json.dumps(value), parse_float=Decimal)
        try:
            attributes[key] = _serializer.serialize(plain)
        except (DecimalException, TypeError) as exc:
            raise InvalidRequest(
                "The request holds a number that cannot be stored: numbers keep 38 digits, between 1E-130 and 1E+126."
            ) from exc
    return attributes


def _from_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_number(item) for key, item in value.items()}
    if isinstance(value, set):
        return {_from_number(item) for item in value}
    return value


def _from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {
        key: json.loads(value["B"]) if "B" in value else _from_number(_deserializer.deserialize(value))
        for key, value in item.items()
    }


def _fields(item: dict[str, Any], *internal: str) -> dict[str, Any]:
    """The wire object's fields of an item: keys and bookkeeping removed."""
    hidden = set(_KEYS) | set(internal)
    return {key: value for key, value in item.items() if key not in hidden}


def _reason_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


class _GuardedClient:
    """The DynamoDB client, with the data DynamoDB refuses turned into a 400 instead of a crash.

    A request can hold what passes validation but not DynamoDB: an item over 400 KB, maps nested
    deeper than 32 levels, text with lone surrogates.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)

        def call(**arguments: Any) -> Any:
            try:
                return operation(**arguments)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ValidationException":
                    raise
                logger.warning("data refused by DynamoDB", extra={"operation": name, "detail": str(exc)})
                raise InvalidRequest(
                    "The request holds data that cannot be stored: an object over 400 KB, or nested too deeply."
                ) from exc
            except UnicodeEncodeError as exc:
                raise InvalidRequest("The request holds text that is not valid Unicode.") from exc

        return call


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _checked(kind: str, object_id: str) -> str:
    """An id that can name a stored object; any other cannot exist, so it is not found."""
    if not _ID.fullmatch(object_id):
        raise NotFound(kind, object_id[:70])
    return object_id


class DynamoDBStore:
    """:class:`threadrunner.ports.Store` for one project on one table."""

    def __init__(self, table_name: str, project: str, client: Any | None = None, retention_days: int = 0) -> None:
        self.project = project
        self._table = table_name
        self._client = _GuardedClient(client or boto3.client("dynamodb"))
        self._retention = retention_days * 86400

    # keys ------------------------------------------------------------------------------------

    def _thread_pk(self, thread_id: str) -> str:
        return f"P#{self.project}#THREAD#{_checked('thread', thread_id)}"

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"PK": {"S": pk}, "SK": {"S": sk}}

    def _run_key(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return self._key(self._thread_pk(thread_id), f"RUN#{_checked('run', run_id)}")

    def _run_key_of(self, thread_id: str, run_id: str) -> dict[str, Any]:
        """The table and key of a run, as a transaction's item names them."""
        return {"TableName": self._table, "Key": self._run_key(thread_id, run_id)}

    def _step_sk(self, run_id: str, step_id: str) -> str:
        return f"STEP#{_checked('run', run_id)}#{_checked('run step', step_id)}"

    # plumbing --------------------------------------------------------------------------------

    def _put(self, pk: str, sk: str, kind: str, values: dict[str, Any], condition: str | None = None) -> dict:
        item = {**_to_attributes(values), **self._key(pk, sk), "entity": {"S": kind}}
        if self._retention and ("#THREAD#" in pk or "#USER#" in pk):
            # Everything of a thread (and its user) expires together, RETENTION_DAYS after its last activity.
            item["ttl"] = {"N": str(now_seconds() + self._retention)}
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition:
            request["ConditionExpression"] = condition
        return request

    def _touch(self, thread_id: str) -> None:
        """Activity on a thread: once its items are half-way to expiry, push all of them back a full lifetime.

        Refreshing only every half lifetime keeps the cost of this sweep (a query and one update per
        item) to twice per retention period of an active thread.
        """
        if not self._retention:
            return
        pk = self._thread_pk(thread_id)
        thread = self._get(pk, "THREAD")
        if thread is None or thread.get("ttl", 0) >= now_seconds() + self._retention // 2:
            return
        expiry = _to_attributes({":expiry": now_seconds() + self._retention})
        keys = [self._key(pk, item["SK"]) for item in self._query(pk)]
        if thread.get("user_id"):
            keys.append(self._key(self._user_pk(thread["user_id"]), "USER"))
        for key in keys:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET #ttl = :expiry",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues=expiry,
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass  # deleted meanwhile

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=self._key(pk, sk), ConsistentRead=True).get("Item")
        return _from_attributes(item) if item else None

    def _update(self, pk: str, sk: str, kind: str, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Set ``fields`` on an existing item and return the item; NotFound if there is none."""
        if not fields:
            item = self._get(pk, sk)
            if item is None:
                raise NotFound(kind, object_id)
            return item
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(pk, sk),
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in fields),
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={f"#{name}": name for name in fields},
                ExpressionAttributeValues=_to_attributes({f":{name}": _plain(v) for name, v in fields.items()}),
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound(kind, object_id) from exc
        return _from_attributes(answer["Attributes"])

    def _delete(self, pk: str, sk: str, kind: str, object_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key=self._key(pk, sk), ConditionExpression="attribute_exists(PK)"
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound(kind, object_id) from exc

    def _query(
        self,
        pk: str,
        low: str | None = None,
        high: str = _HIGHEST,
        forward: bool = True,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a partition (with ``low <= SK <= high``), read page after page as the caller consumes."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": forward,
            "ConsistentRead": True,
        }
        if low is not None:
            request["KeyConditionExpression"] += " AND SK BETWEEN :low AND :high"
            request["ExpressionAttributeValues"] |= {":low": {"S": low}, ":high": {"S": high}}
        if limit is not None:
            request["Limit"] = limit
        while True:
            answer = self._client.query(**request)
            for item in answer.get("Items", []):
                yield _from_attributes(item)
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _page(self, pk: str, prefix: str, page: PageRequest) -> tuple[list[dict[str, Any]], bool]:
        """One page of the items whose SK is ``prefix + <id>``, in list order, and whether more follow."""
        ascending = page.order == "asc"
        low, high = prefix, prefix + _HIGHEST
        excluded: set[str] = set()

        def above(cursor: str) -> str:
            # Ids have one length, so every id greater than the cursor sorts at or above this key.
            return prefix + cursor + "#"

        if page.after is not None:
            if ascending:
                low = above(page.after)
            else:
                high = prefix + page.after
                excluded.add(high)
        if page.before is not None:
            if ascending:
                high = prefix + page.before
                excluded.add(high)
            else:
                low = above(page.before)
        # With only `before`, the page ends at the cursor: read back from it, then restore list order.
        backwards = page.before is not None and page.after is None
        items: list[dict[str, Any]] = []
        for item in self._query(pk, low, high, ascending != backwards, page.limit + 2):
            if item["SK"] not in excluded:
                items.append(item)
            if len(items) > page.limit:
                break
        has_more = len(items) > page.limit
        items = items[: page.limit]
        if backwards:
            items.reverse()
        return items, has_more

    # usage, budgets and limits -----------------------------------------------------------------

    def _usage_key(self, day: str, user_id: str | None = None) -> dict[str, Any]:
        sk = f"DAY#{day}" + (f"#USER#{user_id}" if user_id else "")
        return self._key(f"P#{self.project}#USAGE", sk)

    def _response_key(self, response_id: str) -> dict[str, Any]:
        return self._key(f"P#{self.project}#USAGE", f"RESPONSE#{response_id}")

    def _add_to_day(self, key: dict[str, Any], amounts: dict[str, int], limit: int | None = None) -> dict[str, Any]:
        """A transaction's update of a day's counters; with ``limit``, only while ``committed`` is under it."""
        values = {f":{name}": amount for name, amount in amounts.items()}
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "SET #ttl = if_not_exists(#ttl, :expiry) ADD "
            + ", ".join(f"{name} :{name}" for name in amounts),
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": _to_attributes(
                {**values, ":expiry": now_seconds() + _USAGE_DAYS_KEPT * 86400}
            ),
        }
        if limit is not None:
            # The budget check and the reservation are one conditional write, so concurrent runs cannot all
            # pass one read of the counter.
            update["ConditionExpression"] = "attribute_not_exists(committed) OR committed < :limit"
            update["ExpressionAttributeValues"] |= _to_attributes({":limit": limit})
        return {"Update": update}

    def reserve(self, reservation: Reservation, budget: Budget) -> None:
        tokens = reservation.tokens
        writes = [
            self._add_to_day(
                self._usage_key(reservation.day), {"reserved": tokens, "committed": tokens}, budget.daily_tokens
            )
        ]
        if reservation.user_id:
            key = self._usage_key(reservation.day, reservation.user_id)
            writes.append(
                self._add_to_day(key, {"reserved": tokens, "committed": tokens}, budget.daily_tokens_per_user)
            )
        problem = None
        if budget.daily_tokens == 0 or (reservation.user_id and budget.daily_tokens_per_user == 0):
            problem = "The daily token budget is 0: no model response may start."
        else:
            try:
                self._client.transact_write_items(TransactItems=writes)
            except self._client.exceptions.TransactionCanceledException:
                user_today = self.usage_today(reservation.day, reservation.user_id) if reservation.user_id else None
                problem = over_budget(budget, self.usage_today(reservation.day), user_today) or "Over budget."
        if problem:
            raise BudgetExceeded(problem, code="daily_budget_exceeded")

    def release(self, reservation: Reservation) -> None:
        tokens = -reservation.tokens
        writes = [self._add_to_day(self._usage_key(reservation.day), {"reserved": tokens, "committed": tokens})]
        if reservation.user_id:
            key = self._usage_key(reservation.day, reservation.user_id)
            writes.append(self._add_to_day(key, {"reserved": tokens, "committed": tokens}))
        self._client.transact_write_items(TransactItems=writes)

    def record_response(self, response_id: str, reservation: Reservation, thread_id: str, run_id: str) -> None:
        values = {**reservation.model_dump(), "thread_id": thread_id, "run_id": run_id}
        pk, sk = (key["S"] for key in self._response_key(response_id).values())
        item = self._put(pk, sk, "response", values)
        item["Item"]["ttl"] = {"N": str(now_seconds() + _RESPONSES_DAYS_KEPT * 86400)}
        self._client.put_item(**item)

    def settle(self, response_id: str, usage: Usage | None) -> bool:
        ledger = self._client.get_item(
            TableName=self._table, Key=self._response_key(response_id), ConsistentRead=True
        ).get("Item")
        if ledger is None:
            return False
        entry = _from_attributes(ledger)
        if entry.get("settled"):
            return False
        reservation = Reservation.model_validate(_fields(entry, "thread_id", "run_id", "ttl"))
        # A response the provider never counted (cancelled early, or gone) is charged its prompt: it was read.
        used = usage or Usage(prompt_tokens=reservation.prompt_tokens, total_tokens=reservation.prompt_tokens)
        amounts = {
            "usage_prompt": used.prompt_tokens,
            "usage_completion": used.completion_tokens,
            "reserved": -reservation.tokens,
            "committed": used.total_tokens - reservation.tokens,
        }
        writes = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._response_key(response_id),
                    "UpdateExpression": "SET settled = :yes",
                    # Each response counts once, however often the tasks that end it are retried.
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(settled)",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                }
            },
            self._add_to_day(self._usage_key(reservation.day), amounts),
        ]
        if reservation.user_id:
            writes.append(self._add_to_day(self._usage_key(reservation.day, reservation.user_id), amounts))
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return False
        if reservation.user_id:
            try:  # the user's lifetime usage; a deleted user is not brought back by it
                self._client.update_item(
                    TableName=self._table,
                    Key=self._key(self._user_pk(reservation.user_id), "USER"),
                    UpdateExpression="ADD usage_prompt :p, usage_completion :c",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues=_to_attributes({":p": used.prompt_tokens, ":c": used.completion_tokens}),
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass
        return True

    def usage_today(self, day: str, user_id: str | None = None) -> DayUsage:
        item = self._client.get_item(TableName=self._table, Key=self._usage_key(day, user_id), ConsistentRead=True).get(
            "Item"
        )
        values = _from_attributes(item) if item else {}
        return DayUsage(usage=_usage_of(values), reserved=values.get("reserved", 0))

    def count_thread_usage(self, run: Run) -> bool:
        usage = run.usage or Usage()
        writes = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._run_key(run.thread_id, run.id),
                    "UpdateExpression": "SET usage_counted = :yes",
                    # Each run counts once, however often its announcement is retried.
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(usage_counted)",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._key(self._thread_pk(run.thread_id), "THREAD"),
                    "UpdateExpression": "ADD usage_prompt :p, usage_completion :c",
                    "ConditionExpression": "attribute_exists(PK)",  # a deleted thread is not brought back
                    "ExpressionAttributeValues": _to_attributes(
                        {":p": usage.prompt_tokens, ":c": usage.completion_tokens}
                    ),
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def thread_usage(self, thread_id: str) -> Usage:
        return _usage_of(self._thread_item(thread_id))

    def get_policy(self) -> ProjectPolicy:
        item = self._get(f"P#{self.project}#POLICY", "POLICY")
        if item is not None:
            return ProjectPolicy.model_validate(_fields(item))
        legacy = self._get(f"P#{self.project}#BUDGET", "BUDGET")  # where budgets lived before policies
        return ProjectPolicy(budget=Budget.model_validate(_fields(legacy)) if legacy else None)

    def set_policy(self, policy: ProjectPolicy) -> None:
        self._client.put_item(**self._put(f"P#{self.project}#POLICY", "POLICY", "policy", policy.model_dump()))

    def owned_vector_stores(self, vector_store_ids: Sequence[str]) -> set[str]:
        pk = f"P#{self.project}#VECTOR_STORES"
        return {i for i in vector_store_ids if self._get(pk, f"VS#{_checked('vector store', i)}") is not None}

    def own_vector_store(self, vector_store_id: str, owned: bool) -> None:
        pk, sk = f"P#{self.project}#VECTOR_STORES", f"VS#{_checked('vector store', vector_store_id)}"
        if owned:
            self._client.put_item(**self._put(pk, sk, "vector_store", {"id": vector_store_id}))
        else:
            self._client.delete_item(TableName=self._table, Key=self._key(pk, sk))

    def count_request(self, minute: int, limit: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(f"P#{self.project}#RATE", f"MINUTE#{minute}"),
                UpdateExpression="SET #ttl = if_not_exists(#ttl, :expiry) ADD requests :one",
                # One window per minute: its counter takes requests while it is under the limit.
                ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=_to_attributes({":one": 1, ":limit": limit, ":expiry": minute * 60 + 120}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # assistants ------------------------------------------------------------------------------

    def put_assistant(self, assistant: Assistant) -> None:
        self._client.put_item(
            **self._put(f"P#{self.project}#ASSISTANTS", f"ASST#{assistant.id}", "assistant", assistant.model_dump())
        )

    def get_assistant(self, assistant_id: str) -> Assistant:
        item = self._get(f"P#{self.project}#ASSISTANTS", f"ASST#{_checked('assistant', assistant_id)}")
        if item is None:
            raise NotFound("assistant", assistant_id)
        return Assistant.model_validate(_fields(item))

    def update_assistant(self, assistant_id: str, fields: dict[str, Any]) -> Assistant:
        pk, sk = f"P#{self.project}#ASSISTANTS", f"ASST#{_checked('assistant', assistant_id)}"
        return Assistant.model_validate(_fields(self._update(pk, sk, "assistant", assistant_id, fields)))

    def delete_assistant(self, assistant_id: str) -> None:
        sk = f"ASST#{_checked('assistant', assistant_id)}"
        self._delete(f"P#{self.project}#ASSISTANTS", sk, "assistant", assistant_id)

    def list_assistants(self, page: PageRequest) -> Page[Assistant]:
        items, has_more = self._page(f"P#{self.project}#ASSISTANTS", "ASST#", page)
        return Page(data=[Assistant.model_validate(_fields(item)) for item in items], has_more=has_more)

    # threads and messages --------------------------------------------------------------------

    def create_thread(self, thread: Thread, messages: list[Message]) -> None:
        pk = self._thread_pk(thread.id)
        writes = [{"Put": self._put(pk, "THREAD", "thread", thread.model_dump())}]
        writes += [{"Put": self._put(pk, f"MSG#{m.id}", "message", m.model_dump())} for m in messages]
        self._client.transact_write_items(TransactItems=writes)

    def get_thread(self, thread_id: str) -> Thread:
        return Thread.model_validate(_fields(self._thread_item(thread_id), *_THREAD_BOOKKEEPING))

    def thread_user(self, thread_id: str) -> str | None:
        return self._thread_item(thread_id).get("user_id")

    # users -------------------------------------------------------------------------------------

    def _user_pk(self, user_id: str) -> str:
        return f"P#{self.project}#USER#{user_id}"

    def get_user(self, user_id: str) -> UserRecord | None:
        item = self._get(self._user_pk(user_id), "USER")
        return UserRecord.model_validate({**_fields(item), "usage": _usage_of(item)}) if item else None

    def create_user(self, user: UserRecord, thread: Thread, replacing: str | None = None) -> UserRecord:
        mapping: dict[str, Any]
        if replacing is None:
            # One thread per user: of two first messages at once, one creates it, the other finds it.
            mapping = {
                "Put": self._put(
                    self._user_pk(user.user_id), "USER", "user", user.model_dump(), "attribute_not_exists(PK)"
                )
            }
        else:
            # The user's thread is gone: of two repairs at once, one points the user at a new thread.
            mapping = {
                "Update": {
                    "TableName": self._table,
                    "Key": self._key(self._user_pk(user.user_id), "USER"),
                    "UpdateExpression": "SET thread_id = :new",
                    "ConditionExpression": "thread_id = :old",
                    "ExpressionAttributeValues": {":new": {"S": thread.id}, ":old": {"S": replacing}},
                }
            }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    mapping,
                    {
                        "Put": self._put(
                            self._thread_pk(thread.id),
                            "THREAD",
                            "thread",
                            {**thread.model_dump(), "user_id": user.user_id},
                        )
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException:
            existing = self.get_user(user.user_id)
            if existing is None or existing.thread_id == replacing:
                raise
            return existing
        return self.get_user(user.user_id) or user

    def dequeue(self, thread_id: str, message_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(self._thread_pk(thread_id), f"QUEUE#{message_id}"),
                ConditionExpression="attribute_exists(PK)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete_user(self, user_id: str) -> None:
        self._delete(self._user_pk(user_id), "USER", "user", user_id)

    # the queue of a thread ---------------------------------------------------------------------

    def enqueue(self, queued: QueuedMessage) -> None:
        thread_id = queued.message.thread_id
        pk = self._thread_pk(thread_id)
        put = self._put(pk, f"QUEUE#{queued.message.id}", "queued_message", queued.model_dump())
        try:
            # No queued message outlives its thread: it lands only while the thread is there.
            self._client.transact_write_items(TransactItems=[self._thread_alive(thread_id), {"Put": put}])
        except self._client.exceptions.TransactionCanceledException as exc:
            raise NotFound("thread", thread_id) from exc
        self._touch(thread_id)

    def queued(self, thread_id: str, limit: int) -> list[QueuedMessage]:
        items = self._query(self._thread_pk(thread_id), "QUEUE#", "QUEUE#" + _HIGHEST, limit=limit)
        return [QueuedMessage.model_validate(_fields(item)) for item in itertools.islice(items, limit)]

    def start_queued_run(
        self,
        run: Run,
        queued: list[QueuedMessage],
        messages: list[Message],
        vector_store_ids: list[str],
        max_active_runs: int | None = None,
    ) -> bool:
        pk = self._thread_pk(run.thread_id)
        moves: list[dict[str, Any]] = []
        for entry in queued:
            moves.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": self._key(pk, f"QUEUE#{entry.message.id}"),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                }
            )
        # The queued messages become the thread's and the run takes the lock, all at once; False when the
        # thread is busy, or another drain took these messages first.
        return self._create_run(run, [*self._run_creation(run, vector_store_ids, messages), *moves], max_active_runs)

    def update_thread(self, thread_id: str, fields: dict[str, Any]) -> Thread:
        item = self._update(self._thread_pk(thread_id), "THREAD", "thread", thread_id, fields)
        return Thread.model_validate(_fields(item, *_THREAD_BOOKKEEPING))

    def delete_thread(self, thread_id: str) -> None:
        pk = self._thread_pk(thread_id)
        thread = self._get(pk, "THREAD")
        if thread is None:
            raise NotFound("thread", thread_id)
        # The mark first: every write into a thread checks it, so nothing lands behind the sweep.
        self._client.update_item(
            TableName=self._table,
            Key=self._key(pk, "THREAD"),
            UpdateExpression="SET deleting = :yes",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
        if thread.get("active_run_id"):  # its run will not end by a transition, so it leaves the active set now
            self._client.update_item(**self._leave_active_runs(thread_id, thread["active_run_id"])["Update"])
        # The thread item goes last, so a delete cut off half-way can be repeated and finds the thread.
        keys = [self._key(pk, item["SK"]) for item in self._query(pk) if item["SK"] != "THREAD"]
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            while requests:
                answer = self._client.batch_write_item(RequestItems={self._table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self._table, [])
        if thread.get("user_id"):
            try:  # a user whose thread this is starts a new one with the next message
                self._client.delete_item(
                    TableName=self._table,
                    Key=self._key(self._user_pk(thread["user_id"]), "USER"),
                    ConditionExpression="thread_id = :thread_id",
                    ExpressionAttributeValues={":thread_id": {"S": thread_id}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass  # the user has another thread already
        self._client.delete_item(TableName=self._table, Key=self._key(pk, "THREAD"))

    def _thread_item(self, thread_id: str) -> dict[str, Any]:
        item = self._get(self._thread_pk(thread_id), "THREAD")
        if item is None or item.get("deleting"):
            raise NotFound("thread", thread_id)
        return item

    def _thread_alive(self, thread_id: str) -> dict[str, Any]:
        """A transaction's check that the thread exists and is not being deleted."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": self._key(self._thread_pk(thread_id), "THREAD"),
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleting)",
            }
        }

    def _refusal(self, thread_id: str, adding_message: bool = False) -> Exception:
        """Why a write guarded by the thread's lock was refused: the thread is gone (NotFound) or busy."""
        active = self.active_run_id(thread_id)
        return RunActive(thread_id, active, adding_message) if active else RuntimeError(f"{thread_id} refused a write")

    def add_message(self, message: Message) -> None:
        pk = self._thread_pk(message.thread_id)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    # The thread's lock: no caller's message lands while a run reads the thread.
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": self._key(pk, "THREAD"),
                            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(active_run_id) "
                            "AND attribute_not_exists(deleting)",
                        }
                    },
                    {"Put": self._put(pk, f"MSG#{message.id}", "message", message.model_dump())},
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise self._refusal(message.thread_id, adding_message=True) from exc
        self._touch(message.thread_id)

    def get_message(self, thread_id: str, message_id: str) -> Message:
        item = self._get(self._thread_pk(thread_id), f"MSG#{_checked('message', message_id)}")
        if item is None:
            raise NotFound("message", message_id)
        return Message.model_validate(_fields(item))

    def update_message(self, thread_id: str, message_id: str, fields: dict[str, Any]) -> Message:
        sk = f"MSG#{_checked('message', message_id)}"
        item = self._update(self._thread_pk(thread_id), sk, "message", message_id, fields)
        return Message.model_validate(_fields(item))

    def delete_message(self, thread_id: str, message_id: str) -> None:
        self._delete(self._thread_pk(thread_id), f"MSG#{_checked('message', message_id)}", "message", message_id)

    def list_messages(self, thread_id: str, page: PageRequest, run_id: str | None = None) -> Page[Message]:
        self._thread_item(thread_id)
        if run_id is not None:
            # A run's messages are the ones its record names: a few reads, however long the thread.
            item = self._get(self._thread_pk(thread_id), f"RUN#{_checked('run', run_id)}")
            written = [item["claims"]["message"]] if item and "message" in item.get("claims", {}) else []
            messages = [self.get_message(thread_id, message_id) for message_id in written]
            return paginate(messages, page)
        items, has_more = self._page(self._thread_pk(thread_id), "MSG#", page)
        return Page(data=[Message.model_validate(_fields(item)) for item in items], has_more=has_more)

    def newest_messages(self, thread_id: str) -> Iterator[Message]:
        items = self._query(self._thread_pk(thread_id), "MSG#", "MSG#" + _HIGHEST, forward=False, limit=50)
        return (Message.model_validate(_fields(item)) for item in items)

    # runs ------------------------------------------------------------------------------------

    def _run_creation(
        self, run: Run, vector_store_ids: list[str], messages: Sequence[Message] = ()
    ) -> list[dict[str, Any]]:
        """The writes that create a queued run: the messages it answers, the run item, and the thread's lock."""
        pk = self._thread_pk(run.thread_id)
        values = {
            **run.model_dump(),
            "tool_rounds": 0,
            "usage_prompt": 0,
            "usage_completion": 0,
            "claims": {},
            "vector_store_ids": vector_store_ids,
        }
        return [
            {"Put": self._put(pk, f"RUN#{run.id}", "run", values, "attribute_not_exists(PK)")},
            # One active run per thread: the run takes the thread's lock or is not created.
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._key(pk, "THREAD"),
                    "UpdateExpression": "SET active_run_id = :run_id",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(active_run_id) "
                    "AND attribute_not_exists(deleting)",
                    "ExpressionAttributeValues": {":run_id": {"S": run.id}},
                }
            },
            *({"Put": self._object_put(message)} for message in messages),
        ]

    def create_run(
        self,
        run: Run,
        vector_store_ids: list[str] | None = None,
        messages: Sequence[Message] = (),
        max_active_runs: int | None = None,
    ) -> None:
        if not self._create_run(run, self._run_creation(run, vector_store_ids or [], messages), max_active_runs):
            raise self._refusal(run.thread_id)
        self._touch(run.thread_id)

    def _active_runs_key(self) -> dict[str, Any]:
        return self._key(f"P#{self.project}#ACTIVE", "RUNS")

    def _create_run(self, run: Run, writes: list[dict[str, Any]], max_active_runs: int | None) -> bool:
        """Write a run's creation, counted among the project's active runs; False when the thread refused it.

        Raises :class:`~threadrunner.errors.TooManyActiveRuns` when the project has ``max_active_runs``.
        """
        member = {"SS": [f"{run.thread_id}/{run.id}"]}
        # The project's unfinished runs are a set of ids: a run joins it, within the limit, as it is created,
        # and leaves it as it ends.
        join: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": self._active_runs_key(),
                "UpdateExpression": "ADD runs :run",
                "ExpressionAttributeValues": {":run": member},
            }
        }
        if max_active_runs is not None:
            join["Update"]["ConditionExpression"] = "attribute_not_exists(runs) OR size(runs) < :max"
            join["Update"]["ExpressionAttributeValues"][":max"] = {"N": str(max_active_runs)}
        for attempt in range(2):
            try:
                self._client.transact_write_items(TransactItems=[join, *writes])
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                if _reason_codes(exc)[0] != "ConditionalCheckFailed":
                    return False
                # A run that ended without leaving the set (its thread deleted under it) holds no place.
                if attempt == 1 or not self._prune_active_runs():
                    raise TooManyActiveRuns(
                        f"The project has {max_active_runs} unfinished runs, the most it may have at once; "
                        "retry when one has ended.",
                        code="too_many_active_runs",
                    ) from exc
        return False

    def _prune_active_runs(self) -> bool:
        """Take runs that ended, or are gone, out of the project's active set; whether any was."""
        item = self._get(*(key["S"] for key in self._active_runs_key().values()))
        stale = []
        for member in (item or {}).get("runs", set()):
            thread_id, run_id = member.split("/")
            run = self._get(self._thread_pk(thread_id), f"RUN#{run_id}")
            if run is None or is_terminal(run["status"]):
                stale.append(member)
        if stale:
            self._client.update_item(
                TableName=self._table,
                Key=self._active_runs_key(),
                UpdateExpression="DELETE runs :stale",
                ExpressionAttributeValues={":stale": {"SS": stale}},
            )
        return bool(stale)

    def _leave_active_runs(self, thread_id: str, run_id: str) -> dict[str, Any]:
        """A transaction's removal of a run from the project's active set."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": self._active_runs_key(),
                "UpdateExpression": "DELETE runs :run",
                "ExpressionAttributeValues": {":run": {"SS": [f"{thread_id}/{run_id}"]}},
            }
        }

    def active_run_id(self, thread_id: str) -> str | None:
        return self._thread_item(thread_id).get("active_run_id")

    def _run_item(self, thread_id: str, run_id: str) -> dict[str, Any]:
        item = self._get(self._thread_pk(thread_id), f"RUN#{_checked('run', run_id)}")
        if item is None:
            raise NotFound("run", run_id)
        return item

    def get_run(self, thread_id: str, run_id: str) -> Run:
        return Run.model_validate(_fields(self._run_item(thread_id, run_id), *_RUN_BOOKKEEPING))

    def get_run_record(self, thread_id: str, run_id: str) -> RunRecord:
        item = self._run_item(thread_id, run_id)
        return RunRecord(
            run=Run.model_validate(_fields(item, *_RUN_BOOKKEEPING)),
            response_id=item.get("response_id"),
            tool_rounds=item.get("tool_rounds", 0),
            usage=_usage_of(item),
            vector_store_ids=item.get("vector_store_ids", []),
            server_tools=item.get("server_tools", []),
            task_token=item.get("task_token"),
            waiting_step_id=item.get("waiting_step_id"),
            claims=item.get("claims", {}),
        )

    def list_runs(self, thread_id: str, page: PageRequest) -> Page[Run]:
        self._thread_item(thread_id)
        items, has_more = self._page(self._thread_pk(thread_id), "RUN#", page)
        return Page(data=[Run.model_validate(_fields(item, *_RUN_BOOKKEEPING)) for item in items], has_more=has_more)

    def update_run(self, thread_id: str, run_id: str, fields: dict[str, Any]) -> Run:
        item = self._update(self._thread_pk(thread_id), f"RUN#{_checked('run', run_id)}", "run", run_id, fields)
        return Run.model_validate(_fields(item, *_RUN_BOOKKEEPING))

    def transition_run(
        self, thread_id: str, run_id: str, status: RunStatus, *, puts: Sequence[Message | RunStep] = (), **changes: Any
    ) -> Run:
        sources = sorted(sources_of(status))
        names = {"#status": "status"} | {f"#{field}": field for field in changes}
        values = {":status": status} | {f":{field}": _plain(value) for field, value in changes.items()}
        values |= {f":from{index}": source for index, source in enumerate(sources)}
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._run_key(thread_id, run_id),
            "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in ["status", *changes]),
            # The transition table: a run moves only from a status that allows the move.
            "ConditionExpression": f"#status IN ({', '.join(f':from{i}' for i in range(len(sources)))})",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_attributes(values),
        }
        writes: list[dict[str, Any]] = [{"Update": update}, *({"Put": self._object_put(item)} for item in puts)]
        if is_terminal(status):
            # A finished run leaves the project's active runs and frees its thread, in the same write.
            writes.append(self._leave_active_runs(thread_id, run_id))
            writes.append({"Update": self._release(thread_id, run_id)})
        try:
            if len(writes) == 1:
                self._client.update_item(**update)
            else:
                self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise self._invalid_transition(thread_id, run_id, status) from exc
        except self._client.exceptions.TransactionCanceledException as exc:
            if _reason_codes(exc)[0] == "ConditionalCheckFailed":
                raise self._invalid_transition(thread_id, run_id, status) from exc
            # The thread's lock is not this run's (it never took it, or it was freed): leave it alone.
            self._client.transact_write_items(TransactItems=writes[:-1])
        return self.get_run(thread_id, run_id)

    def _release(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self._key(self._thread_pk(thread_id), "THREAD"),
            "UpdateExpression": "REMOVE active_run_id",
            "ConditionExpression": "active_run_id = :run_id",
            "ExpressionAttributeValues": {":run_id": {"S": run_id}},
        }

    def _object_put(self, item: Message | RunStep) -> dict[str, Any]:
        pk = self._thread_pk(item.thread_id)
        if isinstance(item, Message):
            return self._put(pk, f"MSG#{item.id}", "message", item.model_dump())
        return self._put(pk, self._step_sk(item.run_id, item.id), "step", item.model_dump())

    def accept_tool_outputs(self, thread_id: str, run_id: str, step_id: str, outputs: dict[str, str]) -> None:
        pk = self._thread_pk(thread_id)
        resume = {
            "TableName": self._table,
            "Key": self._run_key(thread_id, run_id),
            "UpdateExpression": "SET #status = :in_progress, required_action = :null, expires_at = :null "
            "REMOVE task_token, waiting_step_id",
            # Exactly once: only the first submission finds the run waiting.
            "ConditionExpression": "#status = :requires_action",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": _to_attributes(
                {":in_progress": "in_progress", ":requires_action": "requires_action", ":null": None}
            ),
        }
        answers = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._key(pk, f"{self._step_sk(run_id, step_id)}#CALL#{call_id}"),
                    "UpdateExpression": "SET #status = :completed, #output = :output, is_error = :false",
                    "ConditionExpression": "#status = :pending AND side = :client",
                    "ExpressionAttributeNames": {"#status": "status", "#output": "output"},
                    "ExpressionAttributeValues": _to_attributes(
                        {
                            ":completed": "completed",
                            ":output": output,
                            ":false": False,
                            ":pending": "pending",
                            ":client": "client",
                        }
                    ),
                }
            }
            for call_id, output in outputs.items()
        ]
        try:
            self._client.transact_write_items(TransactItems=[{"Update": resume}, *answers])
        except self._client.exceptions.TransactionCanceledException as exc:
            raise InvalidTransition(
                f"Run {run_id} is not waiting for these tool outputs (it moved on, or they were submitted)."
            ) from exc

    def _invalid_transition(self, thread_id: str, run_id: str, status: RunStatus) -> InvalidTransition:
        current = self.get_run(thread_id, run_id).status
        return InvalidTransition(f"Cannot move run {run_id} from status '{current}' to '{status}'.")

    def set_turn(self, thread_id: str, run_id: str, response_id: str, tool_round: bool) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._run_key(thread_id, run_id),
            UpdateExpression="SET response_id = :response_id ADD tool_rounds :round",
            ConditionExpression="attribute_exists(PK)",  # never recreate a run whose thread was deleted
            ExpressionAttributeValues={":response_id": {"S": response_id}, ":round": {"N": str(int(tool_round))}},
        )

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._run_key(thread_id, run_id),
                UpdateExpression="SET claims.#slot = if_not_exists(claims.#slot, :candidate)",
                ConditionExpression="attribute_exists(PK)",  # never recreate a run whose thread was deleted
                ExpressionAttributeNames={"#slot": slot},
                ExpressionAttributeValues={":candidate": {"S": candidate}},
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound("run", run_id) from exc
        return str(answer["Attributes"]["claims"]["M"][slot]["S"])

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._run_key(thread_id, run_id),
                UpdateExpression="ADD usage_prompt :prompt, usage_completion :completion, usage_responses :response",
                # Each response counts once, however often a retried task reports it.
                ConditionExpression="attribute_exists(PK) AND NOT contains(usage_responses, :response_id)",
                ExpressionAttributeValues={
                    ":prompt": {"N": str(usage.prompt_tokens)},
                    ":completion": {"N": str(usage.completion_tokens)},
                    ":response": {"SS": [response_id]},
                    ":response_id": {"S": response_id},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass

    # run steps and tool calls ----------------------------------------------------------------

    def put_step(self, step: RunStep, tool_calls: list[ToolCall]) -> None:
        pk = self._thread_pk(step.thread_id)
        step_sk = self._step_sk(step.run_id, step.id)
        values = step.model_dump()
        if isinstance(step.step_details, ToolCallsStepDetails):
            # The outputs live on the call items, which may each be large.
            values["step_details"] = {"type": "tool_calls"}
        writes = [
            # Only into a run that is there: a step never lands in a thread deleted under the loop.
            {
                "ConditionCheck": {
                    **self._run_key_of(step.thread_id, step.run_id),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
            {"Put": self._put(pk, step_sk, "step", values, "attribute_not_exists(PK)")},
        ]
        writes += [
            {
                "Put": self._put(
                    pk,
                    f"{step_sk}#CALL#{call.call_id}",
                    "tool_call",
                    {**call.model_dump(), "position": index},
                    "attribute_not_exists(PK)",
                )
            }
            for index, call in enumerate(tool_calls)
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as exc:
            if _reason_codes(exc)[0] == "ConditionalCheckFailed":
                raise NotFound("run", step.run_id) from exc
            # Else an earlier attempt of the task wrote the step and its calls: they stay as they are.

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> RunStep:
        for step in self.list_steps(thread_id, run_id, PageRequest(limit=100, order="asc")).data:
            if step.id == step_id:
                return step
        raise NotFound("run step", step_id)

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at: int) -> None:
        stamp = {
            "completed": "completed_at",
            "failed": "failed_at",
            "cancelled": "cancelled_at",
            "expired": "expired_at",
        }.get(status)
        expression = "SET #status = :status" + (f", {stamp} = :at" if stamp else "")
        self._client.update_item(
            TableName=self._table,
            Key=self._key(self._thread_pk(thread_id), self._step_sk(run_id, step_id)),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_to_attributes({":status": status, ":at": at} if stamp else {":status": status}),
        )

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]:
        self._run_item(thread_id, run_id)
        prefix = f"STEP#{run_id}#"
        steps: list[dict[str, Any]] = []
        calls: dict[str, list[dict[str, Any]]] = {}
        for item in self._query(self._thread_pk(thread_id), prefix, prefix + _HIGHEST):
            if item["entity"] == "step":
                steps.append(item)
            else:
                calls.setdefault(item["step_id"], []).append(item)
        built = []
        for item in steps:
            fields = _fields(item)
            if fields["type"] == "tool_calls":
                fields["step_details"] = {
                    "type": "tool_calls",
                    "tool_calls": [
                        {
                            "id": c["call_id"],
                            "function": {"name": c["name"], "arguments": c["arguments"], "output": c.get("output")},
                        }
                        for c in sorted(calls.get(item["id"], []), key=lambda c: c["position"])
                    ],
                }
            built.append(RunStep.model_validate(fields))
        return paginate(built, page)

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]:
        prefix = f"{self._step_sk(run_id, step_id)}#CALL#"
        items = sorted(self._query(self._thread_pk(thread_id), prefix, prefix + _HIGHEST), key=lambda c: c["position"])
        return [ToolCall.model_validate(_fields(item, "position")) for item in items]

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str) -> ToolCall | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(self._thread_pk(thread_id), f"{self._step_sk(run_id, step_id)}#CALL#{call_id}"),
                UpdateExpression="SET #status = :running",
                # At most once per tool call: only the first attempt finds it pending.
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":running": {"S": "running"}, ":pending": {"S": "pending"}},
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return ToolCall.model_validate(_fields(_from_attributes(answer["Attributes"]), "position"))

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(
                    self._thread_pk(thread_id), f"{self._step_sk(call.run_id, call.step_id)}#CALL#{call.call_id}"
                ),
                UpdateExpression="SET #status = :completed, #output = :output, is_error = :is_error, "
                "duration_ms = :duration_ms",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status", "#output": "output"},
                ExpressionAttributeValues=_to_attributes(
                    {
                        ":completed": "completed",
                        ":running": "running",
                        ":output": call.output,
                        ":is_error": call.is_error,
                        ":duration_ms": call.duration_ms,
                    }
                ),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # recorded already


def _usage_of(item: dict[str, Any]) -> Usage:
    prompt, completion = item.get("usage_prompt", 0), item.get("usage_completion", 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _plain(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


class DynamoDBApiKeys:
    """:class:`threadrunner.ports.ApiKeys` on the same table.

    Each key has two items: ``APIKEY#<sha256>`` (the lookup of every request) and a listing entry
    ``APIKEYS`` / ``<name>`` (for listing and revoking by name). Neither holds the key itself.
    """

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def _key(self, key_hash: str) -> dict[str, Any]:
        return {"PK": {"S": f"APIKEY#{key_hash}"}, "SK": {"S": "APIKEY"}}

    def _entry(self, name: str) -> dict[str, Any]:
        return {"PK": {"S": "APIKEYS"}, "SK": {"S": name}}

    def project_for(self, key_hash: str) -> str | None:
        # An eventually consistent read costs half; a new or revoked key is seen within a second.
        item = self._client.get_item(TableName=self._table, Key=self._key(key_hash)).get("Item")
        if item is None or item.get("revoked", {}).get("BOOL", False):
            return None
        return str(item["project"]["S"])

    def put_key(self, key_hash: str, project: str, name: str, created_at: int, hint: str = "") -> None:
        """Store a key's hash for a project under a unique name; ValueError if the name is taken."""
        values = {
            "project": project,
            "name": name,
            "created_at": created_at,
            "revoked": False,
            "hint": hint,
            "key_hash": key_hash,
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**self._entry(name), **_to_attributes(values), "entity": {"S": "api_key_entry"}},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**self._key(key_hash), **_to_attributes(values), "entity": {"S": "api_key"}},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise ValueError(f"a key named {name!r} exists already") from exc

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key's name, project, hint, creation time and whether it is revoked (never the key)."""
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": "APIKEYS"}},
        )
        return [_fields(_from_attributes(item), "key_hash") for item in answer.get("Items", [])]

    def revoke(self, name: str) -> None:
        """Refuse the key from now on (ApiFunction trusts a cached lookup for KEY_CACHE_SECONDS)."""
        entry = self._client.get_item(TableName=self._table, Key=self._entry(name)).get("Item")
        if entry is None:
            raise KeyError(f"no key named {name!r}")
        key_hash = entry["key_hash"]["S"]
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": "SET revoked = :yes",
                        "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                    }
                }
                for key in (self._entry(name), self._key(key_hash))
            ]
        )
