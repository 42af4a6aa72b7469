"""One project's state, shared by its fake stores: plain dicts the stores read and write."""

from __future__ import annotations

from dataclasses import dataclass, field

from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import DayUsage, ProjectPolicy, Reservation, UnsettledResponse
from threadrunner.domain.code_interpreter import KeptSession
from threadrunner.domain.common import Usage, now
from threadrunner.domain.conversation import Conversation, Hold, Item
from threadrunner.domain.files import FileObject, Upload
from threadrunner.domain.lambda_tools import LambdaTool
from threadrunner.domain.message import Message
from threadrunner.domain.prompts import Prompt
from threadrunner.domain.run_record import RunRecord
from threadrunner.domain.run_step import RunStep
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.domain.vector_stores import VectorStore, VectorStoreFile, VectorStoreFileBatch
from threadrunner.errors import NotFound


@dataclass
class ThreadEntry:
    """A thread and everything in it: messages, queue, runs, steps and their calls."""

    thread: Thread
    messages: dict[str, Message] = field(default_factory=dict)
    queue: dict[str, QueuedMessage] = field(default_factory=dict)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    steps: dict[tuple[str, str], RunStep] = field(default_factory=dict)
    calls: dict[tuple[str, str], list[ToolCall]] = field(default_factory=dict)
    active_run_id: str | None = None
    user_id: str | None = None
    deleting: bool = False
    usage: Usage = field(default_factory=Usage)
    begun: set[str] = field(default_factory=set)
    """The messages and steps a run's stream stored in progress."""
    items: dict[str, Item] = field(default_factory=dict)
    """What responses added that is no message (read as a conversation)."""
    given: dict[str, Item] = field(default_factory=dict)
    """The messages responses added, as they gave them."""
    hold: Hold | None = None
    turns: set[str] = field(default_factory=set)
    """The keys of the turns appended."""
    code_session: KeptSession | None = None
    code_holder: tuple[str, int] | None = None
    """The call that holds the thread's code session, and until when."""

    @property
    def held(self) -> bool:
        return self.hold is not None and self.hold.until >= now()


@dataclass
class ConversationEntry:
    """A conversation of the Conversations API and its items."""

    conversation: Conversation
    items: dict[str, Item] = field(default_factory=dict)
    hold: Hold | None = None
    turns: set[str] = field(default_factory=set)

    @property
    def held(self) -> bool:
        return self.hold is not None and self.hold.until >= now()


@dataclass
class World:
    """Everything of one project, shared by its fake stores."""

    project: str = "acme"
    assistants: dict[str, Assistant] = field(default_factory=dict)
    threads: dict[str, ThreadEntry] = field(default_factory=dict)
    users: dict[str, UserRecord] = field(default_factory=dict)
    days: dict[tuple[str, str | None], DayUsage] = field(default_factory=dict)
    responses: dict[str, tuple[Reservation, bool]] = field(default_factory=dict)
    """Each recorded response's reservation, and whether it is settled."""
    policy: ProjectPolicy = field(default_factory=ProjectPolicy)
    files: dict[str, tuple[FileObject, str]] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    parts: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    stores: dict[str, VectorStore] = field(default_factory=dict)
    store_files: dict[str, dict[str, tuple[VectorStoreFile, int]]] = field(default_factory=dict)
    """Each store's files, with the chunks each has in the index."""
    batches: dict[tuple[str, str], tuple[VectorStoreFileBatch, list[str], bool]] = field(default_factory=dict)
    requests: dict[int, int] = field(default_factory=dict)
    open_streams: dict[str, int] = field(default_factory=dict)
    """The project's open streams, with when each expires."""
    active_runs: set[tuple[str, str]] = field(default_factory=set)
    counted_runs: set[str] = field(default_factory=set)
    usage_responses: dict[str, set[str]] = field(default_factory=dict)
    """Each run's model responses whose usage it counts."""
    tools: dict[str, LambdaTool] = field(default_factory=dict)
    forwarded: set[str] = field(default_factory=set)
    unsettled: dict[tuple[str, str], UnsettledResponse] = field(default_factory=dict)
    """The deployment's list of unsettled responses, by project and id: worlds of several projects may share it."""
    conversations: dict[str, ConversationEntry] = field(default_factory=dict)
    prompts: dict[str, list[Prompt]] = field(default_factory=dict)

    def thread(self, thread_id: str) -> ThreadEntry:
        entry = self.threads.get(thread_id)
        if entry is None or entry.deleting:
            raise NotFound("thread", thread_id)
        return entry

    def found_record(self, thread_id: str, run_id: str) -> RunRecord | None:
        """The run's record; ``None`` once the run or its thread is gone."""
        entry = self.threads.get(thread_id)
        return entry.runs.get(run_id) if entry else None

    def record(self, thread_id: str, run_id: str) -> RunRecord:
        record = self.found_record(thread_id, run_id)
        if record is None:
            raise NotFound("run", run_id)
        return record


def stored_item(entry: ThreadEntry, item: Message | RunStep) -> Message | RunStep | None:
    if isinstance(item, Message):
        return entry.messages.get(item.id)
    return entry.steps.get((item.run_id, item.id))


def store_item(entry: ThreadEntry, item: Message | RunStep, begun: bool = False) -> None:
    """Write a message or a step; ``begun``: in progress, by a run's stream, for the loop to replace."""
    if isinstance(item, Message):
        entry.messages[item.id] = item
    else:
        entry.steps[(item.run_id, item.id)] = item
    if begun:
        entry.begun.add(item.id)
    else:
        entry.begun.discard(item.id)
