"""Threads and their messages: one partition per thread, which also holds its runs, steps and queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...domain.code_interpreter import KeptSession
from ...domain.common import now
from ...domain.message import Message
from ...domain.pagination import Page, PageRequest, paginate
from ...domain.run_record import claimed_messages
from ...domain.thread import Thread
from ...errors import CodeSessionBusy, NotFound
from . import keys
from .codec import fields, from_attributes, to_attributes
from .table import FREE, Table, free_now

THREAD_BOOKKEEPING = (
    "active_run_id",
    "user_id",
    "usage_prompt",
    "usage_completion",
    "deleting",
    "held_by",
    "held_until",
    "code_session",
    "code_holder",
    "code_held_until",
    "ttl",
    keys.THREADS.partition_key,
)
"""What the thread item holds beside the wire object's fields."""


class DynamoDBThreads(Table):
    """:class:`threadrunner.ports.ThreadStore`."""

    def create_thread(self, thread: Thread, messages: list[Message]) -> None:
        writes = [{"Put": self._put(self.keys.thread(thread.id), "thread", thread.model_dump())}]
        writes += [{"Put": self._put(self.keys.message(thread.id, m.id), "message", m.model_dump())} for m in messages]
        self._client.transact_write_items(TransactItems=writes)

    def get_thread(self, thread_id: str) -> Thread:
        return Thread.model_validate(fields(self._thread_item(thread_id), *THREAD_BOOKKEEPING))

    def update_thread(self, thread_id: str, changes: dict[str, Any]) -> Thread:
        item = self._update(self.keys.thread(thread_id), "thread", thread_id, changes)
        return Thread.model_validate(fields(item, *THREAD_BOOKKEEPING))

    def thread_user(self, thread_id: str) -> str | None:
        return self._thread_item(thread_id).get("user_id")

    def active_run_id(self, thread_id: str) -> str | None:
        return self._thread_item(thread_id).get("active_run_id")

    def delete_thread(self, thread_id: str) -> None:
        thread = self._get(self.keys.thread(thread_id))
        if thread is None:
            raise NotFound("thread", thread_id)
        # The mark first: every write into a thread checks it, so nothing lands behind the sweep.
        self._client.update_item(
            TableName=self._table,
            Key=self.keys.thread(thread_id),
            UpdateExpression="SET deleting = :yes",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
        if thread.get("active_run_id"):  # its run will not end by a transition, so it leaves the active set now
            self._client.update_item(**self._leave_active_runs(thread_id, thread["active_run_id"])["Update"])
        # The thread item goes last, so a delete cut off half-way can be repeated and finds the thread.
        pk = self.keys.thread_pk(thread_id)
        self._delete_keys([keys.key(pk, item["SK"]) for item in self._query(pk) if item["SK"] != "THREAD"])
        if thread.get("user_id"):
            try:  # a user whose thread this is starts a new one with the next message
                self._client.delete_item(
                    TableName=self._table,
                    Key=self.keys.user(thread["user_id"]),
                    ConditionExpression="thread_id = :thread_id",
                    ExpressionAttributeValues={":thread_id": {"S": thread_id}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass  # the user has another thread already
        self._client.delete_item(TableName=self._table, Key=self.keys.thread(thread_id))

    def add_message(self, message: Message) -> None:
        thread = self.keys.thread(message.thread_id)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    # The thread's lock: no caller's message lands while a run reads the thread, or a response.
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": thread,
                            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(active_run_id) "
                            f"AND attribute_not_exists(deleting) AND {FREE}",
                            "ExpressionAttributeValues": free_now(),
                        }
                    },
                    {
                        "Put": self._put(
                            self.keys.message(message.thread_id, message.id), "message", message.model_dump()
                        )
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise self._refusal(message.thread_id, adding_message=True) from exc
        self._touch(message.thread_id)

    def get_message(self, thread_id: str, message_id: str) -> Message:
        item = self._get(self.keys.message(thread_id, message_id))
        if item is None:
            raise NotFound("message", message_id)
        return Message.model_validate(fields(item))

    def update_message(self, thread_id: str, message_id: str, changes: dict[str, Any]) -> Message:
        item = self._update(self.keys.message(thread_id, message_id), "message", message_id, changes)
        return Message.model_validate(fields(item))

    def delete_message(self, thread_id: str, message_id: str) -> None:
        self._delete(self.keys.message(thread_id, message_id), "message", message_id)

    def list_messages(self, thread_id: str, page: PageRequest, run_id: str | None = None) -> Page[Message]:
        self._thread_item(thread_id)
        if run_id is not None:
            # A run's messages are the ones its record names: a few reads, however long the thread.
            run = self._get(self.keys.run(thread_id, run_id))
            claimed = claimed_messages(run.get("claims", {})) if run else []
            # A claimed id may name nothing: a cancel can beat the task that claimed it.
            found = [self._get(self.keys.message(thread_id, message_id)) for message_id in claimed]
            return paginate([Message.model_validate(fields(item)) for item in found if item is not None], page)
        items, has_more = self._page(self.keys.thread_pk(thread_id), keys.MESSAGES, page)
        return Page(data=[Message.model_validate(fields(item)) for item in items], has_more=has_more)

    def list_threads(self, page: PageRequest) -> Page[Thread]:
        # The index lags writes by a moment: a thread just made may be listed a moment later.
        items, has_more = self._page(self.keys.threads, "", page, keys.THREADS)
        threads = [
            Thread.model_validate(fields(item, *THREAD_BOOKKEEPING)) for item in items if not item.get("deleting")
        ]
        return Page(data=threads, has_more=has_more)

    def newest_messages(self, thread_id: str) -> Iterator[Message]:
        pk = self.keys.thread_pk(thread_id)
        items = self._query(pk, keys.MESSAGES, keys.MESSAGES + keys.HIGHEST, forward=False, limit=50)
        return (Message.model_validate(fields(item)) for item in items)

    def hold_code_session(self, thread_id: str, holder: str, until: int) -> KeptSession | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self.keys.thread(thread_id),
                UpdateExpression="SET code_holder = :holder, code_held_until = :until",
                # One call of the thread at a time; a hold whose call died lapses.
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(deleting) AND "
                "(attribute_not_exists(code_held_until) OR code_held_until < :now OR code_holder = :holder)",
                ExpressionAttributeValues=to_attributes({":holder": holder, ":until": until, ":now": now()}),
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            self._thread_item(thread_id)  # NotFound for a thread that is gone
            raise CodeSessionBusy("Another code_interpreter call of this thread is running.") from exc
        kept = from_attributes(answer["Attributes"]).get("code_session")
        return KeptSession.model_validate(kept) if kept else None

    def keep_code_session(self, thread_id: str, holder: str, kept: KeptSession | None) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.thread(thread_id),
                UpdateExpression="SET code_session = :kept REMOVE code_holder, code_held_until",
                # Only by the call that holds it: one whose hold lapsed and was taken keeps nothing.
                ConditionExpression="attribute_exists(PK) AND code_holder = :holder",
                ExpressionAttributeValues=to_attributes(
                    {":kept": kept.model_dump(mode="json") if kept else None, ":holder": holder}
                ),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # the thread is gone, or another call holds its session now
