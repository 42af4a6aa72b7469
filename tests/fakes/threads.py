"""Threads and their messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from threadrunner.domain.code_interpreter import KeptSession
from threadrunner.domain.common import now
from threadrunner.domain.message import Message
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.thread import Thread
from threadrunner.errors import CodeSessionBusy, ConversationLocked, NotFound, RunActive

from .world import ThreadEntry, World


class FakeThreads:
    def __init__(self, world: World) -> None:
        self.world = world

    def create_thread(self, thread: Thread, messages: list[Message]) -> None:
        self.world.threads[thread.id] = ThreadEntry(thread=thread, messages={m.id: m for m in messages})

    def get_thread(self, thread_id: str) -> Thread:
        return self.world.thread(thread_id).thread

    def update_thread(self, thread_id: str, changes: dict[str, Any]) -> Thread:
        entry = self.world.thread(thread_id)
        entry.thread = Thread.model_validate({**entry.thread.model_dump(), **changes})
        return entry.thread

    def delete_thread(self, thread_id: str) -> None:
        entry = self.world.thread(thread_id)
        if entry.active_run_id:
            self.world.active_runs.discard((thread_id, entry.active_run_id))
        user = self.world.users.get(entry.user_id or "")
        if user is not None and user.thread_id == thread_id:
            del self.world.users[user.user_id]
        del self.world.threads[thread_id]

    def thread_user(self, thread_id: str) -> str | None:
        return self.world.thread(thread_id).user_id

    def active_run_id(self, thread_id: str) -> str | None:
        return self.world.thread(thread_id).active_run_id

    def add_message(self, message: Message) -> None:
        entry = self.world.thread(message.thread_id)
        if entry.active_run_id:
            raise RunActive(message.thread_id, entry.active_run_id, adding_message=True)
        if entry.held:
            raise ConversationLocked(message.thread_id)
        entry.messages[message.id] = message

    def get_message(self, thread_id: str, message_id: str) -> Message:
        entry = self.world.thread(thread_id)
        if message_id not in entry.messages:
            raise NotFound("message", message_id)
        return entry.messages[message_id]

    def update_message(self, thread_id: str, message_id: str, changes: dict[str, Any]) -> Message:
        updated = Message.model_validate({**self.get_message(thread_id, message_id).model_dump(), **changes})
        self.world.thread(thread_id).messages[message_id] = updated
        return updated

    def delete_message(self, thread_id: str, message_id: str) -> None:
        self.get_message(thread_id, message_id)
        del self.world.thread(thread_id).messages[message_id]

    def list_messages(self, thread_id: str, page: PageRequest, run_id: str | None = None) -> Page[Message]:
        entry = self.world.thread(thread_id)
        messages = sorted(entry.messages.values(), key=lambda m: m.id)
        if run_id is not None:  # the messages the run's turns claimed, as the table reads them
            claimed = set(entry.runs[run_id].message_ids) if run_id in entry.runs else set()
            messages = [m for m in messages if m.id in claimed]
        return paginate(messages, page)

    def newest_messages(self, thread_id: str) -> Iterator[Message]:
        entry = self.world.threads.get(thread_id)  # a thread deleted under the loop has none, as the table's query
        return iter(sorted(entry.messages.values() if entry else [], key=lambda m: m.id, reverse=True))

    def list_threads(self, page: PageRequest) -> Page[Thread]:
        listed = sorted((e.thread for e in self.world.threads.values() if not e.deleting), key=lambda t: t.id)
        return paginate(listed, page)

    def hold_code_session(self, thread_id: str, holder: str, until: int) -> KeptSession | None:
        entry = self.world.thread(thread_id)
        if entry.code_holder is not None and entry.code_holder[0] != holder and entry.code_holder[1] >= now():
            raise CodeSessionBusy("Another code_interpreter call of this thread is running.")
        entry.code_holder = (holder, until)
        return entry.code_session

    def keep_code_session(self, thread_id: str, holder: str, kept: KeptSession | None) -> None:
        entry = self.world.threads.get(thread_id)
        if entry is None or entry.code_holder is None or entry.code_holder[0] != holder:
            return
        entry.code_session, entry.code_holder = kept, None
