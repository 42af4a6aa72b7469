"""The stores of the Responses API's state: conversations with their items, and prompts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..domain.conversation import Conversation, Hold, Item
from ..domain.pagination import Page, PageRequest
from ..domain.prompts import Prompt


class ConversationStore(Protocol):
    """Conversations and their items. A thread's id names the thread, read as a conversation: its messages and
    its runs' tool calls are its items, and what a response adds to it joins it (the messages as messages)."""

    def create_conversation(self, conversation: Conversation, items: Sequence[Item]) -> None: ...

    def get_conversation(self, conversation_id: str) -> Conversation:
        """The conversation (a thread as one); NotFound also while it is being deleted."""
        ...

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]) -> Conversation: ...

    def delete_conversation(self, conversation_id: str) -> None:
        """Delete a conversation and every item of it; no write lands in it from the moment this starts."""
        ...

    def list_conversations(self, page: PageRequest) -> Page[Conversation]:
        """A page of the project's conversations (an extension, like the list of threads), without those being
        deleted."""
        ...

    def add_items(self, conversation_id: str, items: Sequence[Item]) -> None:
        """Append items, in order, in one write.

        Raises :class:`~threadrunner.errors.ConversationLocked` while a response holds the conversation (and
        :class:`~threadrunner.errors.RunActive` while a run holds a thread), and writes nothing.
        """
        ...

    def get_item(self, conversation_id: str, item_id: str) -> Item: ...

    def delete_item(self, conversation_id: str, item_id: str) -> None:
        """Delete an item; a thread's run tool calls are its run's and refused (InvalidRequest)."""
        ...

    def list_items(self, conversation_id: str, page: PageRequest) -> Page[Item]:
        """A page of the items in list order (``after`` and ``before`` are item ids)."""
        ...

    def newest_items(self, conversation_id: str) -> Iterator[Item]:
        """The items, newest first, read only as far as the caller iterates: what a response sends the model."""
        ...

    def hold(self, conversation_id: str, hold: Hold) -> None:
        """Take the conversation for a response until it appends its turn or lets it go.

        Raises :class:`~threadrunner.errors.ConversationLocked` while another response holds it (a hold that
        lapsed holds nothing), :class:`~threadrunner.errors.RunActive` while a run holds a thread, and
        :class:`~threadrunner.errors.TurnAnswered` when a turn with the hold's key was appended already.
        """
        ...

    def append_turn(self, conversation_id: str, hold: Hold, items: Sequence[Item]) -> bool:
        """Append a response's turn (its input, then its output) and let the hold go, in one write; False, and
        nothing written, when the hold is no longer this one (it lapsed and another took it) or the turn of its
        key was appended already."""
        ...

    def release(self, conversation_id: str, hold: Hold) -> None:
        """Let the hold go without a turn (the response failed); nothing if it is no longer this one."""
        ...


class PromptStore(Protocol):
    """The project's prompts, each a series of versions."""

    def create_prompt(self, prompt: Prompt) -> None:
        """Store a prompt's first version."""
        ...

    def add_version(self, prompt: Prompt) -> Prompt:
        """Store ``prompt`` as the prompt's next version (its ``version`` is set here) and return it; NotFound when
        there is no such prompt."""
        ...

    def get_prompt(self, prompt_id: str, version: str | None = None) -> Prompt:
        """A version of the prompt, the latest without ``version``."""
        ...

    def list_versions(self, prompt_id: str, page: PageRequest) -> Page[Prompt]:
        """A page of the prompt's versions (``after`` and ``before`` are versions)."""
        ...

    def delete_prompt(self, prompt_id: str) -> None:
        """Delete the prompt with every version."""
        ...
