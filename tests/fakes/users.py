"""Users: each user's thread and its queue."""

from __future__ import annotations

from threadrunner.domain.thread import Thread
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.errors import NotFound

from .world import ThreadEntry, World


class FakeUsers:
    def __init__(self, world: World) -> None:
        self.world = world

    def get_user(self, user_id: str) -> UserRecord | None:
        return self.world.users.get(user_id)

    def create_user(self, user: UserRecord, thread: Thread, replacing: str | None = None) -> UserRecord:
        existing = self.world.users.get(user.user_id)
        if existing is not None and existing.thread_id != replacing:
            return existing  # another request created (or repaired) it first
        self.world.threads[thread.id] = ThreadEntry(thread=thread, user_id=user.user_id)
        # A user deleted meanwhile is created again, on the new thread.
        self.world.users[user.user_id] = existing.model_copy(update={"thread_id": thread.id}) if existing else user
        return self.world.users[user.user_id]

    def delete_user(self, user_id: str) -> None:
        if user_id not in self.world.users:
            raise NotFound("user", user_id)
        del self.world.users[user_id]

    def enqueue(self, queued: QueuedMessage) -> None:
        self.world.thread(queued.message.thread_id).queue[queued.message.id] = queued

    def queued(self, thread_id: str, limit: int) -> list[QueuedMessage]:
        queue = self.world.threads[thread_id].queue if thread_id in self.world.threads else {}
        return [queue[key] for key in sorted(queue)][:limit]

    def dequeue(self, thread_id: str, message_id: str) -> bool:
        entry = self.world.threads.get(thread_id)
        return entry is not None and entry.queue.pop(message_id, None) is not None
