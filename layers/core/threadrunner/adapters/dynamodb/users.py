"""Users: each user's mapping to a thread, and the thread's queue of waiting messages."""

from __future__ import annotations

import itertools
from typing import Any

from ...domain.thread import Thread
from ...domain.user import QueuedMessage, UserRecord
from ...errors import NotFound
from . import keys
from .codec import fields, usage_of
from .table import Table


class DynamoDBUsers(Table):
    """:class:`threadrunner.ports.UserStore`."""

    def get_user(self, user_id: str) -> UserRecord | None:
        item = self._get(self.keys.user(user_id))
        return UserRecord.model_validate({**fields(item), "usage": usage_of(item)}) if item else None

    def create_user(self, user: UserRecord, thread: Thread, replacing: str | None = None) -> UserRecord:
        mapping: dict[str, Any]
        if replacing is None:
            # One thread per user: of two first messages at once, one creates it, the other finds it.
            mapping = {
                "Put": self._put(self.keys.user(user.user_id), "user", user.model_dump(), "attribute_not_exists(PK)")
            }
        else:
            # The user's thread is gone: of two repairs at once, one points the user at a new thread.
            mapping = {
                "Update": {
                    "TableName": self._table,
                    "Key": self.keys.user(user.user_id),
                    "UpdateExpression": "SET thread_id = :new",
                    "ConditionExpression": "thread_id = :old",
                    "ExpressionAttributeValues": {":new": {"S": thread.id}, ":old": {"S": replacing}},
                }
            }
        new_thread = {
            "Put": self._put(self.keys.thread(thread.id), "thread", {**thread.model_dump(), "user_id": user.user_id})
        }
        try:
            self._client.transact_write_items(TransactItems=[mapping, new_thread])
        except self._client.exceptions.TransactionCanceledException:
            existing = self.get_user(user.user_id)
            if existing is None and replacing is not None:  # deleted meanwhile: created again, on the new thread
                return self.create_user(user, thread)
            if existing is None or existing.thread_id == replacing:
                raise
            return existing
        return self.get_user(user.user_id) or user

    def delete_user(self, user_id: str) -> None:
        self._delete(self.keys.user(user_id), "user", user_id)

    def enqueue(self, queued: QueuedMessage) -> None:
        thread_id = queued.message.thread_id
        put = self._put(self.keys.queued(thread_id, queued.message.id), "queued_message", queued.model_dump())
        try:
            # No queued message outlives its thread: it lands only while the thread is there.
            self._client.transact_write_items(TransactItems=[self._thread_alive(thread_id), {"Put": put}])
        except self._client.exceptions.TransactionCanceledException as exc:
            raise NotFound("thread", thread_id) from exc
        self._touch(thread_id)

    def queued(self, thread_id: str, limit: int) -> list[QueuedMessage]:
        items = self._query(self.keys.thread_pk(thread_id), keys.QUEUE, keys.QUEUE + keys.HIGHEST, limit=limit)
        return [QueuedMessage.model_validate(fields(item)) for item in itertools.islice(items, limit)]

    def dequeue(self, thread_id: str, message_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self.keys.queued(thread_id, message_id),
                ConditionExpression="attribute_exists(PK)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
