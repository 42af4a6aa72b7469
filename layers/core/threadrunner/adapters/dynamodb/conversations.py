"""Conversations: one partition each, holding the conversation and its items; and threads read as conversations
(their messages, their runs' tool calls, and the items responses added, merged in order)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from ...domain.common import now
from ...domain.conversation import (
    Conversation,
    Hold,
    Item,
    as_message,
    call_items,
    call_of,
    is_thread,
    message_item,
    position,
)
from ...domain.message import Message
from ...domain.pagination import Page, PageRequest
from ...domain.tool_call import ToolCall
from ...errors import ConversationLocked, InvalidRequest, NotFound, RunActive, TurnAnswered
from . import keys
from .codec import fields, reason_codes, to_attributes
from .table import FREE, Table, free_now, held

TRANSACTION_ITEMS = 100
"""The most writes one DynamoDB transaction takes."""


class DynamoDBConversations(Table):
    """:class:`threadrunner.ports.ConversationStore`."""

    def _head(self, conversation_id: str) -> dict[str, Any]:
        """The key of the conversation's item, or of the thread's."""
        if is_thread(conversation_id):
            return self.keys.thread(conversation_id)
        return self.keys.conversation(conversation_id)

    def _head_item(self, conversation_id: str) -> dict[str, Any]:
        item = self._get(self._head(conversation_id))
        if item is None or item.get("deleting"):
            raise NotFound("conversation", conversation_id)
        return item

    # the conversation ---------------------------------------------------------------------------------------

    def create_conversation(self, conversation: Conversation, items: Sequence[Item]) -> None:
        head = self.keys.conversation(conversation.id)
        writes = [{"Put": self._put(head, "conversation", conversation.model_dump(), "attribute_not_exists(PK)")}]
        writes += self._item_puts(conversation.id, items)
        self._client.transact_write_items(TransactItems=writes)

    def get_conversation(self, conversation_id: str) -> Conversation:
        return _conversation(self._head_item(conversation_id))

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]) -> Conversation:
        self._head_item(conversation_id)
        return _conversation(
            self._update(self._head(conversation_id), "conversation", conversation_id, {"metadata": metadata})
        )

    def delete_conversation(self, conversation_id: str) -> None:
        if is_thread(conversation_id):
            raise InvalidRequest("A thread is deleted with DELETE /v1/threads/{thread_id}.", param="conversation_id")
        head = self.keys.conversation(conversation_id)
        if self._get(head) is None:
            raise NotFound("conversation", conversation_id)
        # The mark first: every write into a conversation checks it, so nothing lands behind the sweep.
        self._client.update_item(
            TableName=self._table,
            Key=head,
            UpdateExpression="SET deleting = :yes",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
        pk = head["PK"]["S"]
        self._delete_keys([keys.key(pk, item["SK"]) for item in self._query(pk) if item["SK"] != "CONV"])
        self._client.delete_item(TableName=self._table, Key=head)  # last: a delete cut off half-way can be repeated

    def list_conversations(self, page: PageRequest) -> Page[Conversation]:
        # The index lags writes by a moment: a conversation just made may be listed a moment later.
        items, has_more = self._page(self.keys.conversations, "", page, keys.THREADS)
        return Page(data=[_conversation(item) for item in items if not item.get("deleting")], has_more=has_more)

    # items --------------------------------------------------------------------------------------------------

    def _item_puts(self, conversation_id: str, items: Sequence[Item]) -> list[dict[str, Any]]:
        """The writes of items appended to a conversation; to a thread, its messages are messages."""
        puts = []
        created = now()
        for item in items:
            message = as_message(item, conversation_id, created) if is_thread(conversation_id) else None
            if message is not None:
                # The item as it was given is kept beside the message, so the conversation shows it unchanged.
                values = {**message.model_dump(), "conversation_item": item.data, "provider_id": item.provider_id}
                key, kind = self.keys.message(conversation_id, message.id), "message"
            else:
                values = {"id": item.id, "data": item.data, "provider_id": item.provider_id}
                key, kind = keys.key(self._head(conversation_id)["PK"]["S"], keys.item_sk(item.id)), "item"
            puts.append({"Put": self._put(key, kind, values, "attribute_not_exists(PK)")})
        return puts

    def _open(self, conversation_id: str) -> dict[str, Any]:
        """A transaction's check that the conversation takes items: it is there, and nothing holds it."""
        condition = f"attribute_exists(PK) AND attribute_not_exists(deleting) AND {FREE}"
        if is_thread(conversation_id):
            condition += " AND attribute_not_exists(active_run_id)"
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": self._head(conversation_id),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": free_now(),
            }
        }

    def _refused(self, conversation_id: str) -> Exception:
        """Why a conversation refused a write: it is gone, a run holds the thread, or a response holds it."""
        item = self._head_item(conversation_id)
        if item.get("active_run_id"):
            return RunActive(conversation_id, item["active_run_id"])
        if held(item):
            return ConversationLocked(conversation_id)
        return RuntimeError(f"{conversation_id} refused a write")

    def add_items(self, conversation_id: str, items: Sequence[Item]) -> None:
        try:
            self._client.transact_write_items(
                TransactItems=[self._open(conversation_id), *self._item_puts(conversation_id, items)]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise self._refused(conversation_id) from exc
        self._touch_partition(self._head(conversation_id))

    def get_item(self, conversation_id: str, item_id: str) -> Item:
        self._head_item(conversation_id)
        if is_thread(conversation_id):
            found = self._item_of_thread(conversation_id, item_id)
        else:
            stored = self._get(keys.key(self.keys.conversation_pk(conversation_id), keys.item_sk(item_id)))
            found = _item(stored) if stored else None
        if found is None:
            raise NotFound("item", item_id)
        return found

    def _item_of_thread(self, thread_id: str, item_id: str) -> Item | None:
        """One item of a thread read as a conversation: a message, a run's tool call (or its output), or an item a
        response added."""
        call = call_of(item_id)
        if call is not None:
            run_id, step_id, index = call
            prefix = keys.calls_of(run_id, step_id)
            for stored in self._query(self.keys.thread_pk(thread_id), prefix, prefix + keys.HIGHEST):
                if stored.get("position") == index:
                    return next((i for i in _call_items(stored) if i.id == item_id), None)
            return None
        message = self._get(self.keys.message(thread_id, item_id)) if item_id.startswith("msg_") else None
        if message is not None:
            return _message_item(message)
        added = self._get(keys.key(self.keys.thread_pk(thread_id), keys.item_sk(item_id)))
        return _item(added) if added else None

    def delete_item(self, conversation_id: str, item_id: str) -> None:
        self._head_item(conversation_id)
        pk = self._head(conversation_id)["PK"]["S"]
        if is_thread(conversation_id):
            if call_of(item_id) is not None:
                raise InvalidRequest(
                    "A run's tool call is part of the run's steps: it cannot be deleted.", param="item_id"
                )
            if item_id.startswith("msg_") and self._get(self.keys.message(conversation_id, item_id)) is not None:
                self._delete(self.keys.message(conversation_id, item_id), "item", item_id)
                return
        self._delete(keys.key(pk, keys.item_sk(item_id)), "item", item_id)

    def list_items(self, conversation_id: str, page: PageRequest) -> Page[Item]:
        self._head_item(conversation_id)
        if not is_thread(conversation_id):
            cursors = {
                name: position(value)
                for name, value in (("after", page.after), ("before", page.before))
                if value is not None
            }
            stored, has_more = self._page(
                self.keys.conversation_pk(conversation_id), keys.ITEMS, page.model_copy(update=cursors)
            )
            return Page(data=[_item(item) for item in stored], has_more=has_more)
        ascending = page.order == "asc"
        if page.before is not None and page.after is None:
            # With only `before`, the page ends at the cursor: read back from it, then restore list order.
            read = list(
                itertools.islice(self._merged(conversation_id, not ascending, position(page.before)), page.limit + 1)
            )
            return Page(data=read[: page.limit][::-1], has_more=len(read) > page.limit)
        stop = position(page.before) if page.before is not None else None
        found: list[Item] = []
        for item in self._merged(conversation_id, ascending, position(page.after) if page.after else None):
            if stop is not None and (position(item.id) >= stop if ascending else position(item.id) <= stop):
                break
            found.append(item)
            if len(found) > page.limit:
                break
        return Page(data=found[: page.limit], has_more=len(found) > page.limit)

    def newest_items(self, conversation_id: str) -> Iterator[Item]:
        if is_thread(conversation_id):
            return self._merged(conversation_id, False, None)
        pk = self.keys.conversation_pk(conversation_id)
        return (_item(item) for item in self._query(pk, keys.ITEMS, keys.ITEMS + keys.HIGHEST, forward=False, limit=50))

    # a thread's items, in order ----------------------------------------------------------------------------

    def _merged(self, thread_id: str, ascending: bool, start: str | None) -> Iterator[Item]:
        """A thread's items beyond the place ``start`` in the direction of reading: its messages, the items
        responses added and its runs' tool calls, three queries merged by place, each read as far as needed."""
        pk = self.keys.thread_pk(thread_id)
        sources = [
            (_message_item(item) for item in self._range(pk, keys.MESSAGES + "msg_", ascending, start)),
            (_item(item) for item in self._range(pk, keys.ITEMS, ascending, start)),
            self._calls(thread_id, ascending, start),
        ]
        merged = heapq.merge(*sources, key=lambda item: position(item.id), reverse=not ascending)
        return (item for item in merged if start is None or _beyond(item, start, ascending))

    def _range(self, pk: str, prefix: str, ascending: bool, start: str | None) -> Iterator[dict[str, Any]]:
        """The items of a prefix whose id (after its own prefix) is beyond ``start`` (or at it, when ids of
        another length name places between two of these)."""
        low, high = prefix, prefix + keys.HIGHEST
        if start is not None:
            head = start[:22]  # an id's time and randomness; what follows orders a step's calls among themselves
            if ascending:
                low = prefix + head
            else:
                high = prefix + head + keys.HIGHEST
        return self._query(pk, low, high, forward=ascending, limit=50)

    def _calls(self, thread_id: str, ascending: bool, start: str | None) -> Iterator[Item]:
        """The thread's runs' tool calls as items, in order. A thread's runs never overlap (one is active at a
        time), so its steps' keys (the run's id, then the step's) are in the order the steps were made."""
        pk = self.keys.thread_pk(thread_id)
        low, high = keys.STEPS, keys.STEPS + keys.HIGHEST
        if start is not None and ascending:
            # The calls beyond a place are the steps of the run that was active then, and of later runs.
            earlier = self._query(pk, keys.RUNS, keys.RUNS + "run_" + start[:22], forward=False, limit=1)
            run = next(iter(earlier), None)
            low = keys.STEPS + (run["id"] if run else "run_" + start[:22])
        elif start is not None:
            high = keys.STEPS + "run_" + start[:22] + keys.HIGHEST
        stored = (item for item in self._query(pk, low, high, forward=ascending) if item["entity"] == "tool_call")
        for _, calls in itertools.groupby(stored, key=lambda item: item["step_id"]):
            made = sorted((i for call in calls for i in _call_items(call)), key=lambda item: position(item.id))
            yield from made if ascending else reversed(made)

    # a response's turn ---------------------------------------------------------------------------------------

    def hold(self, conversation_id: str, hold: Hold) -> None:
        head = self._head(conversation_id)
        take = self._open(conversation_id)["ConditionCheck"]
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": head,
                    "UpdateExpression": "SET held_by = :hold, held_until = :until",
                    # One response at a time: it takes the conversation, or a thread no run holds, or is refused.
                    "ConditionExpression": take["ConditionExpression"],
                    "ExpressionAttributeValues": {
                        **take["ExpressionAttributeValues"],
                        **to_attributes({":hold": hold.id, ":until": hold.until}),
                    },
                }
            }
        ]
        if hold.key is not None:
            writes.append(self._unanswered(head["PK"]["S"], hold.key))
        for attempt in range(2):
            try:
                self._client.transact_write_items(TransactItems=writes)
                return
            except self._client.exceptions.TransactionCanceledException as exc:
                if reason_codes(exc)[1:] == ["ConditionalCheckFailed"]:
                    raise TurnAnswered(conversation_id) from exc
                refusal = self._refused(conversation_id)
                if not isinstance(refusal, RuntimeError) or attempt:
                    raise refusal from exc
                # Else the hold that refused it was let go meanwhile: once more.

    def _unanswered(self, pk: str, key_hash: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": keys.key(pk, keys.turn_sk(key_hash)),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def append_turn(self, conversation_id: str, hold: Hold, items: Sequence[Item]) -> bool:
        head = self._head(conversation_id)
        pk = head["PK"]["S"]
        holding = {
            "TableName": self._table,
            "Key": head,
            "ConditionExpression": "held_by = :hold AND attribute_not_exists(deleting)",
            "ExpressionAttributeValues": {":hold": {"S": hold.id}},
        }
        # The hold goes with the last write, so no other turn lands between the writes of a long one.
        last: list[dict[str, Any]] = [{"Update": {**holding, "UpdateExpression": "REMOVE held_by, held_until"}}]
        if hold.key is not None:
            last.append(
                {"Put": self._put(keys.key(pk, keys.turn_sk(hold.key)), "turn", {}, "attribute_not_exists(PK)")}
            )
        puts = self._item_puts(conversation_id, items)
        room = TRANSACTION_ITEMS - len(last)
        chunks = [puts[start : start + room] for start in range(0, len(puts), room)] or [[]]
        try:
            for chunk in chunks[:-1]:
                self._client.transact_write_items(TransactItems=[{"ConditionCheck": holding}, *chunk])
            self._client.transact_write_items(TransactItems=[*last, *chunks[-1]])
        except self._client.exceptions.TransactionCanceledException:
            return False
        self._touch_partition(head)
        return True

    def release(self, conversation_id: str, hold: Hold) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._head(conversation_id),
                UpdateExpression="REMOVE held_by, held_until",
                ConditionExpression="held_by = :hold",
                ExpressionAttributeValues={":hold": {"S": hold.id}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # it lapsed, and another response took the conversation


def _conversation(item: dict[str, Any]) -> Conversation:
    return Conversation(id=item["id"], created_at=item["created_at"], metadata=item.get("metadata") or {})


def _item(stored: dict[str, Any]) -> Item:
    return Item(id=stored["id"], data=stored["data"], provider_id=stored.get("provider_id"))


def _message_item(stored: dict[str, Any]) -> Item:
    """A thread's message as an item: as a response gave it, or as the Assistants API made it."""
    if "conversation_item" in stored:
        return Item(id=stored["id"], data=stored["conversation_item"], provider_id=stored.get("provider_id"))
    return message_item(Message.model_validate(fields(stored)))


def _call_items(stored: dict[str, Any]) -> list[Item]:
    return call_items(ToolCall.model_validate(fields(stored, "position")), stored["position"])


def _beyond(item: Item, start: str, ascending: bool) -> bool:
    place = position(item.id)
    return place > start if ascending else place < start
