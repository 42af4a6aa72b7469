"""The Responses API's state: conversations and their items (a thread read as one too), and prompts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from threadrunner.domain.common import now
from threadrunner.domain.conversation import (
    Conversation,
    Hold,
    Item,
    as_message,
    call_items,
    call_of,
    is_thread,
    message_item,
    page_of,
    position,
)
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.prompts import MAX_VERSIONS, Prompt
from threadrunner.errors import Conflict, ConversationLocked, InvalidRequest, NotFound, RunActive, TurnAnswered

from .world import ConversationEntry, ThreadEntry, World


class FakeConversations:
    def __init__(self, world: World) -> None:
        self.world = world

    def _entry(self, conversation_id: str) -> ThreadEntry | ConversationEntry:
        entry = self.world.threads.get(conversation_id) if is_thread(conversation_id) else None
        if entry is not None and not entry.deleting:
            return entry
        found = self.world.conversations.get(conversation_id)
        if found is None:
            raise NotFound("conversation", conversation_id)
        return found

    def create_conversation(self, conversation: Conversation, items: Sequence[Item]) -> None:
        self.world.conversations[conversation.id] = ConversationEntry(conversation, {item.id: item for item in items})

    def get_conversation(self, conversation_id: str) -> Conversation:
        entry = self._entry(conversation_id)
        if isinstance(entry, ConversationEntry):
            return entry.conversation
        thread = entry.thread
        return Conversation(id=thread.id, created_at=thread.created_at, metadata=thread.metadata)

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]) -> Conversation:
        entry = self._entry(conversation_id)
        if isinstance(entry, ConversationEntry):
            entry.conversation = entry.conversation.model_copy(update={"metadata": metadata})
        else:
            entry.thread = entry.thread.model_copy(update={"metadata": metadata})
        return self.get_conversation(conversation_id)

    def delete_conversation(self, conversation_id: str) -> None:
        if is_thread(conversation_id):
            raise InvalidRequest("A thread is deleted with DELETE /v1/threads/{thread_id}.", param="conversation_id")
        self._entry(conversation_id)
        del self.world.conversations[conversation_id]

    def list_conversations(self, page: PageRequest) -> Page[Conversation]:
        return paginate(sorted((c.conversation for c in self.world.conversations.values()), key=lambda c: c.id), page)

    def _items(self, entry: ThreadEntry | ConversationEntry) -> list[Item]:
        if isinstance(entry, ConversationEntry):
            return list(entry.items.values())
        messages = [entry.given.get(m.id) or message_item(m) for m in entry.messages.values()]
        calls = [
            made for calls in entry.calls.values() for index, c in enumerate(calls) for made in call_items(c, index)
        ]
        return messages + list(entry.items.values()) + calls

    def _open(self, conversation_id: str) -> ThreadEntry | ConversationEntry:
        entry = self._entry(conversation_id)
        if isinstance(entry, ThreadEntry) and entry.active_run_id:
            raise RunActive(conversation_id, entry.active_run_id)
        if entry.held:
            raise ConversationLocked(conversation_id)
        return entry

    def _append(self, entry: ThreadEntry | ConversationEntry, items: Sequence[Item]) -> None:
        for item in items:
            message = as_message(item, entry.thread.id, now()) if isinstance(entry, ThreadEntry) else None
            if isinstance(entry, ThreadEntry) and message is not None:
                entry.messages[message.id], entry.given[message.id] = message, item
            else:
                entry.items[item.id] = item

    def add_items(self, conversation_id: str, items: Sequence[Item]) -> None:
        self._append(self._open(conversation_id), items)

    def get_item(self, conversation_id: str, item_id: str) -> Item:
        found = [item for item in self._items(self._entry(conversation_id)) if item.id == item_id]
        if not found:
            raise NotFound("item", item_id)
        return found[0]

    def delete_item(self, conversation_id: str, item_id: str) -> None:
        entry = self._entry(conversation_id)
        if isinstance(entry, ThreadEntry) and call_of(item_id) is not None:
            raise InvalidRequest("A run's tool call is part of the run's steps: it cannot be deleted.", param="item_id")
        if isinstance(entry, ThreadEntry) and item_id in entry.messages:
            del entry.messages[item_id]
            entry.given.pop(item_id, None)
        elif item_id in entry.items:
            del entry.items[item_id]
        else:
            raise NotFound("item", item_id)

    def list_items(self, conversation_id: str, page: PageRequest) -> Page[Item]:
        return page_of(self._items(self._entry(conversation_id)), page)

    def newest_items(self, conversation_id: str) -> Iterator[Item]:
        return iter(sorted(self._items(self._entry(conversation_id)), key=lambda i: position(i.id), reverse=True))

    def hold(self, conversation_id: str, hold: Hold) -> None:
        entry = self._open(conversation_id)
        if hold.key is not None and hold.key in entry.turns:
            raise TurnAnswered(conversation_id)
        entry.hold = hold

    def append_turn(self, conversation_id: str, hold: Hold, items: Sequence[Item]) -> bool:
        entry = self._entry(conversation_id)
        if entry.hold is None or entry.hold.id != hold.id or (hold.key is not None and hold.key in entry.turns):
            return False
        self._append(entry, items)
        entry.hold = None
        if hold.key is not None:
            entry.turns.add(hold.key)
        return True

    def release(self, conversation_id: str, hold: Hold) -> None:
        entry = self._entry(conversation_id)
        if entry.hold is not None and entry.hold.id == hold.id:
            entry.hold = None


class FakePrompts:
    def __init__(self, world: World) -> None:
        self.world = world

    def _versions(self, prompt_id: str) -> list[Prompt]:
        if not self.world.prompts.get(prompt_id):
            raise NotFound("prompt", prompt_id)
        return self.world.prompts[prompt_id]

    def create_prompt(self, prompt: Prompt) -> None:
        self.world.prompts[prompt.id] = [prompt]

    def add_version(self, prompt: Prompt) -> Prompt:
        versions = self._versions(prompt.id)
        if len(versions) >= MAX_VERSIONS:
            raise Conflict(f"The prompt '{prompt.id}' has {MAX_VERSIONS} versions, the most one may have.")
        made = prompt.model_copy(update={"version": str(len(versions) + 1)})
        versions.append(made)
        return made

    def get_prompt(self, prompt_id: str, version: str | None = None) -> Prompt:
        versions = self._versions(prompt_id)
        if version is None:
            return versions[-1]
        found = [p for p in versions if p.version == version]
        if not found:
            raise NotFound("prompt", f"{prompt_id}' version '{version[:16]}")
        return found[0]

    def list_versions(self, prompt_id: str, page: PageRequest) -> Page[Prompt]:
        versions = self._versions(prompt_id)
        for cursor in (page.after, page.before):
            if cursor is not None and not (cursor.isdigit() and 1 <= int(cursor) <= MAX_VERSIONS):
                raise InvalidRequest("A cursor must be a version of the prompt: 1, 2, ...")
        padded = {
            name: f"{int(value):05d}" for name, value in (("after", page.after), ("before", page.before)) if value
        }
        keyed = [(f"{int(p.version):05d}", p) for p in versions]
        chosen = paginate([_Keyed(key, p) for key, p in keyed], page.model_copy(update=padded), key="sort")
        return Page(data=[k.prompt for k in chosen.data], has_more=chosen.has_more)

    def delete_prompt(self, prompt_id: str) -> None:
        self._versions(prompt_id)
        del self.world.prompts[prompt_id]


@dataclass(frozen=True)
class _Keyed:
    sort: str
    prompt: Prompt
