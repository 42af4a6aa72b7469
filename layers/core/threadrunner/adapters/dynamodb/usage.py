"""Usage: what each model response set aside against the day's budgets, what it used, and who counts it.

A response's entry lives in the project's usage partition, not in its thread, so deleting a thread
or a user never deletes what counts against a budget. A response nobody is bound to settle (a forwarded
background one) is also listed in the deployment's partition of unsettled responses, written and taken off
with its entry in one transaction, so the sweep finds every one and only those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...domain.budget import Budget, DayUsage, Reservation, UnsettledResponse, over_budget
from ...domain.common import Usage, now
from ...domain.run import Run
from ...errors import BudgetExceeded
from . import keys
from .codec import GuardedClient, fields, to_attributes, usage_of
from .table import Table, queried

USAGE_DAYS_KEPT = 400
"""How long a day's counters are kept."""
RESPONSES_DAYS_KEPT = 30
"""How long a model response's entry is kept after it was created (one settles within hours)."""


class DynamoDBUsage(Table):
    """:class:`threadrunner.ports.UsageStore`."""

    def _add_to_day(
        self, key: dict[str, Any], amounts: Mapping[str, float], limit: int | None = None
    ) -> dict[str, Any]:
        """A transaction's update of a day's counters; with ``limit``, only while ``committed`` is under it."""
        values = {f":{name}": amount for name, amount in amounts.items()}
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "SET #ttl = if_not_exists(#ttl, :expiry) ADD "
            + ", ".join(f"{name} :{name}" for name in amounts),
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": to_attributes({**values, ":expiry": now() + USAGE_DAYS_KEPT * 86400}),
        }
        if limit is not None:
            # The budget check and the reservation are one conditional write, so concurrent runs cannot all
            # pass one read of the counter.
            update["ConditionExpression"] = "attribute_not_exists(committed) OR committed < :limit"
            update["ExpressionAttributeValues"] |= to_attributes({":limit": limit})
        return {"Update": update}

    def reserve(self, reservation: Reservation, budget: Budget) -> None:
        tokens = reservation.tokens
        writes = [
            self._add_to_day(
                self.keys.usage_day(reservation.day), {"reserved": tokens, "committed": tokens}, budget.daily_tokens
            )
        ]
        if reservation.user_id:
            key = self.keys.usage_day(reservation.day, reservation.user_id)
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
        writes = [self._add_to_day(self.keys.usage_day(reservation.day), {"reserved": tokens, "committed": tokens})]
        if reservation.user_id:
            key = self.keys.usage_day(reservation.day, reservation.user_id)
            writes.append(self._add_to_day(key, {"reserved": tokens, "committed": tokens}))
        self._client.transact_write_items(TransactItems=writes)

    def record_response(
        self, response_id: str, reservation: Reservation, thread_id: str, run_id: str, unsettled: bool = False
    ) -> None:
        values = {**reservation.model_dump(), "thread_id": thread_id, "run_id": run_id}
        item = self._put(
            self.keys.response(response_id), "response", values | ({"unsettled": True} if unsettled else {})
        )
        expiry = {"N": str(now() + RESPONSES_DAYS_KEPT * 86400)}
        item["Item"]["ttl"] = expiry
        if not unsettled:
            self._client.put_item(**item)
            return
        listed = {"project": self.project, "response_id": response_id, "reservation": reservation.model_dump()}
        entry = self._put(keys.unsettled(self.project, response_id), "unsettled response", listed)
        entry["Item"]["ttl"] = expiry
        self._client.transact_write_items(TransactItems=[{"Put": item}, {"Put": entry}])

    def is_forwarded(self, response_id: str) -> bool:
        entry = self._get(self.keys.response(response_id))
        return entry is not None and entry.get("run_id") == ""

    def settle(self, response_id: str, usage: Usage | None) -> bool:
        entry = self._get(self.keys.response(response_id))
        if entry is None or entry.get("settled"):
            return False
        reservation = Reservation.model_validate(fields(entry, "thread_id", "run_id", "ttl", "unsettled"))
        # A response the provider never counted (cancelled early, or gone) is charged its prompt: it was read.
        used = usage or Usage(prompt_tokens=reservation.prompt_tokens, total_tokens=reservation.prompt_tokens)
        settled = {
            "Update": {
                "TableName": self._table,
                "Key": self.keys.response(response_id),
                "UpdateExpression": "SET settled = :yes",
                # Each response counts once, however often the tasks that end it are retried.
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(settled)",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        }
        writes = [settled, *self._used_instead(reservation, used)]
        if entry.get("unsettled"):  # off the sweep's list with the settlement
            writes.append({"Delete": {"TableName": self._table, "Key": keys.unsettled(self.project, response_id)}})
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return False
        if reservation.user_id:
            try:  # the user's lifetime usage; a deleted user is not brought back by it
                self._client.update_item(
                    TableName=self._table,
                    Key=self.keys.user(reservation.user_id),
                    UpdateExpression="ADD usage_prompt :p, usage_completion :c",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues=to_attributes({":p": used.prompt_tokens, ":c": used.completion_tokens}),
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass
        return True

    def spend(self, reservation: Reservation, usage: Usage) -> None:
        self._client.transact_write_items(TransactItems=self._used_instead(reservation, usage))

    def _used_instead(self, reservation: Reservation, used: Usage) -> list[dict[str, Any]]:
        """The updates of the day's counters (the user's too) that replace a reservation by what was used."""
        amounts = {
            "usage_prompt": used.prompt_tokens,
            "usage_completion": used.completion_tokens,
            "reserved": -reservation.tokens,
            "committed": used.total_tokens - reservation.tokens,
        }
        writes = [self._add_to_day(self.keys.usage_day(reservation.day), amounts)]
        if reservation.user_id:
            writes.append(self._add_to_day(self.keys.usage_day(reservation.day, reservation.user_id), amounts))
        return writes

    def usage_today(self, day: str, user_id: str | None = None) -> DayUsage:
        values = self._get(self.keys.usage_day(day, user_id)) or {}
        return DayUsage(
            usage=usage_of(values),
            reserved=values.get("reserved", 0),
            code_interpreter_seconds=values.get("code_interpreter_seconds", 0),
        )

    def add_code_seconds(self, day: str, seconds: float) -> None:
        # Milliseconds are what a day's sum needs; a float's other digits would only cost bytes.
        update = self._add_to_day(self.keys.usage_day(day), {"code_interpreter_seconds": round(seconds, 3)})
        self._client.update_item(**update["Update"])

    def count_thread_usage(self, run: Run) -> bool:
        usage = run.usage or Usage()
        writes = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self.keys.run(run.thread_id, run.id),
                    "UpdateExpression": "SET usage_counted = :yes",
                    # Each run counts once, however often its announcement is retried.
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(usage_counted)",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self.keys.thread(run.thread_id),
                    "UpdateExpression": "ADD usage_prompt :p, usage_completion :c",
                    "ConditionExpression": "attribute_exists(PK)",  # a deleted thread is not brought back
                    "ExpressionAttributeValues": to_attributes(
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
        return usage_of(self._thread_item(thread_id))


class DynamoDBUnsettledResponses:
    """:class:`threadrunner.ports.UnsettledResponses`: the partition ``unsettled#responses``."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = GuardedClient(client)

    def listed(self) -> Iterator[UnsettledResponse]:
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.UNSETTLED}},
        }
        for item in queried(self._client, request):
            yield UnsettledResponse.model_validate(fields(item, "ttl"))

    def forget(self, project: str, response_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=keys.unsettled(project, response_id))
