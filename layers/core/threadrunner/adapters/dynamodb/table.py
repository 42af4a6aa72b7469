"""What every store of the table shares: the client, the project's keys, reads, writes and pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...domain.common import now
from ...domain.pagination import PageRequest
from ...errors import ConversationLocked, NotFound, RunActive
from . import keys
from .codec import GuardedClient, from_attributes, plain, to_attributes

FREE = "(attribute_not_exists(held_until) OR held_until < :now)"
"""A condition that no response holds the conversation or thread (a hold that lapsed holds nothing); ``:now`` is
:func:`free_now`."""


def free_now() -> dict[str, Any]:
    """The value :data:`FREE` compares with."""
    return {":now": {"N": str(now())}}


def held(item: dict[str, Any]) -> bool:
    """Whether a response holds this conversation or thread now."""
    return bool(item.get("held_by")) and item.get("held_until", 0) >= now()


def queried(client: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query answers, read page after page as the caller consumes."""
    while True:
        answer = client.query(**request)
        for item in answer.get("Items", []):
            yield from_attributes(item)
        if "LastEvaluatedKey" not in answer:
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


class Table:
    """One project's view of the table. The stores of each aggregate build on it."""

    def __init__(self, table_name: str, project: str, client: Any, retention_days: int = 0) -> None:
        self.project = project
        self.keys = keys.Keys(project)
        self._table = table_name
        self._client = GuardedClient(client)
        self._retention = retention_days * 86400

    def _put(self, key: dict[str, Any], kind: str, values: dict[str, Any], condition: str | None = None) -> dict:
        """A put of an item (for ``put_item`` or a transaction), with the thread's lifetime where it has one."""
        item = {**to_attributes(values), **key, "entity": {"S": kind}}
        if kind == "thread":  # listed in the project's threads
            item[keys.THREADS.partition_key] = {"S": self.keys.threads}
        elif kind == "conversation":  # and conversations, in a partition of their own of the same index
            item[keys.THREADS.partition_key] = {"S": self.keys.conversations}
        partition = key["PK"]["S"]
        if self._retention and any(part in partition for part in ("#THREAD#", "#USER#", "#CONV#")):
            # Everything of a thread (and its user), or of a conversation, expires together, RETENTION_DAYS after
            # its last activity.
            item["ttl"] = {"N": str(now() + self._retention)}
        request: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition:
            request["ConditionExpression"] = condition
        return request

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return from_attributes(item) if item else None

    def _update(self, key: dict[str, Any], kind: str, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Set ``fields`` on an existing item and return the item; NotFound if there is none."""
        if not fields:
            item = self._get(key)
            if item is None:
                raise NotFound(kind, object_id)
            return item
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in fields),
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={f"#{name}": name for name in fields},
                ExpressionAttributeValues=to_attributes({f":{name}": plain(v) for name, v in fields.items()}),
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound(kind, object_id) from exc
        return from_attributes(answer["Attributes"])

    def _delete(self, key: dict[str, Any], kind: str, object_id: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=key, ConditionExpression="attribute_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound(kind, object_id) from exc

    def _query(
        self,
        pk: str,
        low: str | None = None,
        high: str = keys.HIGHEST,
        forward: bool = True,
        limit: int | None = None,
        index: keys.Index = keys.TABLE,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a partition of the table or ``index`` (with ``low <= sort key <= high``), read page after
        page as the caller consumes."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": index.partition_key},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": forward,
        }
        if index.name is None:
            request["ConsistentRead"] = True
        else:  # a global secondary index is read eventually consistent: there is no other way
            request["IndexName"] = index.name
        if low is not None:
            request["KeyConditionExpression"] += " AND #sk BETWEEN :low AND :high"
            request["ExpressionAttributeNames"]["#sk"] = index.sort_key
            request["ExpressionAttributeValues"] |= {":low": {"S": low}, ":high": {"S": high}}
        if limit is not None:
            request["Limit"] = limit
        return queried(self._client, request)

    def _page(
        self, pk: str, prefix: str, page: PageRequest, index: keys.Index = keys.TABLE
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the items whose sort key is ``prefix + <id>``, in list order, and whether more follow."""
        ascending = page.order == "asc"
        low, high = prefix or keys.LOWEST, prefix + keys.HIGHEST
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
        for item in self._query(pk, low, high, ascending != backwards, page.limit + 2, index):
            if item[index.sort_key] not in excluded:
                items.append(item)
            if len(items) > page.limit:
                break
        has_more = len(items) > page.limit
        items = items[: page.limit]
        if backwards:
            items.reverse()
        return items, has_more

    def _delete_keys(self, targets: list[dict[str, Any]]) -> None:
        """Delete the items of these keys, in batches, until every one is gone."""
        for start in range(0, len(targets), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in targets[start : start + 25]]
            while requests:
                answer = self._client.batch_write_item(RequestItems={self._table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self._table, [])

    # the thread partition: the thread, its messages, runs, steps and queue --------------------------

    def _thread_item(self, thread_id: str) -> dict[str, Any]:
        item = self._get(self.keys.thread(thread_id))
        if item is None or item.get("deleting"):
            raise NotFound("thread", thread_id)
        return item

    def _thread_alive(self, thread_id: str) -> dict[str, Any]:
        """A transaction's check that the thread exists and is not being deleted."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": self.keys.thread(thread_id),
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleting)",
            }
        }

    def _refusal(self, thread_id: str, adding_message: bool = False) -> Exception:
        """Why a write guarded by the thread's lock was refused: the thread is gone (NotFound), a run holds it, or a
        response."""
        thread = self._thread_item(thread_id)
        active = thread.get("active_run_id")
        if active:
            return RunActive(thread_id, active, adding_message)
        return ConversationLocked(thread_id) if held(thread) else RuntimeError(f"{thread_id} refused a write")

    def _touch(self, thread_id: str) -> None:
        """Activity on a thread: once its items are half-way to expiry, push all of them back a full lifetime."""
        self._touch_partition(self.keys.thread(thread_id))

    def _touch_partition(self, head: dict[str, Any]) -> None:
        """Activity on a thread or a conversation (``head`` is its item's key): once its items are half-way to
        expiry, push all of them back a full lifetime.

        Refreshing only every half lifetime keeps the cost of this sweep (a query and one update per
        item) to twice per retention period of an active thread.
        """
        if not self._retention:
            return
        thread = self._get(head)
        if thread is None or thread.get("ttl", 0) >= now() + self._retention // 2:
            return
        expiry = to_attributes({":expiry": now() + self._retention})
        pk = head["PK"]["S"]
        targets = [keys.key(pk, item["SK"]) for item in self._query(pk)]
        if thread.get("user_id"):
            targets.append(self.keys.user(thread["user_id"]))
        for key in targets:
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

    def _leave_active_runs(self, thread_id: str, run_id: str) -> dict[str, Any]:
        """A transaction's removal of a run from the project's set of unfinished runs."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": self.keys.active_runs(),
                "UpdateExpression": "DELETE runs :run",
                "ExpressionAttributeValues": {":run": {"SS": [f"{thread_id}/{run_id}"]}},
            }
        }
