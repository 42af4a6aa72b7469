"""The stores: one small protocol per aggregate, each of one project, bundled as :class:`Stores`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.assistant import Assistant
from ..domain.budget import Budget, DayUsage, ProjectPolicy, Reservation
from ..domain.code_interpreter import KeptSession
from ..domain.common import FunctionDefinition, Usage
from ..domain.lambda_tools import LambdaTool
from ..domain.message import Message
from ..domain.pagination import Page, PageRequest
from ..domain.run import Run
from ..domain.run_record import RunRecord
from ..domain.run_status import RunStatus
from ..domain.run_step import RunStep, RunStepStatus
from ..domain.thread import Thread
from ..domain.tool_call import ToolCall
from ..domain.user import QueuedMessage, UserRecord
from .conversations import ConversationStore, PromptStore
from .files import FileStore, VectorStoreStore


class AssistantStore(Protocol):
    def put_assistant(self, assistant: Assistant) -> None: ...

    def get_assistant(self, assistant_id: str) -> Assistant: ...

    def update_assistant(self, assistant_id: str, changes: dict[str, Any]) -> Assistant:
        """Set the given wire fields and return the assistant."""
        ...

    def delete_assistant(self, assistant_id: str) -> None: ...

    def list_assistants(self, page: PageRequest) -> Page[Assistant]: ...


class ThreadStore(Protocol):
    """Threads and their messages."""

    def create_thread(self, thread: Thread, messages: list[Message]) -> None: ...

    def get_thread(self, thread_id: str) -> Thread:
        """The thread; NotFound also while it is being deleted."""
        ...

    def update_thread(self, thread_id: str, changes: dict[str, Any]) -> Thread: ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete the thread and everything in it (messages, runs, steps, tool calls, queued messages) and the
        mapping of the user whose thread it is; no write lands in the thread from the moment this starts."""
        ...

    def thread_user(self, thread_id: str) -> str | None:
        """The user whose thread this is, if it is one."""
        ...

    def active_run_id(self, thread_id: str) -> str | None:
        """The run that holds the thread, if one does."""
        ...

    def add_message(self, message: Message) -> None:
        """Add a caller's message; refuses with :class:`~threadrunner.errors.RunActive` while a run is active."""
        ...

    def get_message(self, thread_id: str, message_id: str) -> Message: ...

    def update_message(self, thread_id: str, message_id: str, changes: dict[str, Any]) -> Message: ...

    def delete_message(self, thread_id: str, message_id: str) -> None: ...

    def list_messages(self, thread_id: str, page: PageRequest, run_id: str | None = None) -> Page[Message]:
        """A page of the thread's messages, or of the messages ``run_id`` wrote (one per model turn with text)."""
        ...

    def newest_messages(self, thread_id: str) -> Iterator[Message]:
        """The thread's messages, newest first, read only as far as the caller iterates: what the model reads."""
        ...

    def list_threads(self, page: PageRequest) -> Page[Thread]:
        """A page of the project's threads (an extension: the hosted API listed none), without those being
        deleted."""
        ...

    def hold_code_session(self, thread_id: str, holder: str, until: int) -> KeptSession | None:
        """Hold the thread's code session for ``holder`` (a call) until ``until`` (Unix seconds), so the thread's
        calls run one at a time; the session the thread keeps, if any.

        Raises :class:`~threadrunner.errors.CodeSessionBusy` while another holder has it (and its hold has not
        expired), :class:`~threadrunner.errors.NotFound` when the thread is gone.
        """
        ...

    def keep_code_session(self, thread_id: str, holder: str, kept: KeptSession | None) -> None:
        """Keep ``kept`` as the thread's session (``None``: it has none) and let go of the hold, if ``holder`` still
        has it; a thread deleted meanwhile keeps nothing."""
        ...


class RunStore(Protocol):
    """Runs, and the run loop's bookkeeping of them. Every status change goes through the run-status table."""

    def create_run(
        self,
        run: Run,
        vector_store_ids: list[str] | None = None,
        messages: Sequence[Message] = (),
        max_active_runs: int | None = None,
    ) -> None:
        """Store a queued run (with ``messages`` added to the thread before it), make it the thread's active run
        and count it among the project's unfinished runs, all in one write.

        Raises :class:`~threadrunner.errors.RunActive` (the thread is busy) or
        :class:`~threadrunner.errors.TooManyActiveRuns` (the project has ``max_active_runs``) and writes nothing.
        """
        ...

    def has_room_for_run(self, max_active_runs: int) -> bool:
        """Whether the project has fewer than ``max_active_runs`` unfinished runs (runs that ended without leaving
        its set of them are taken out first). A read: :meth:`create_run` checks it again as it writes."""
        ...

    def start_queued_run(
        self,
        run: Run,
        queued: list[QueuedMessage],
        messages: list[Message],
        vector_store_ids: list[str],
        max_active_runs: int | None = None,
    ) -> bool:
        """Replace ``queued`` by ``messages`` in the thread and create ``run`` as :meth:`create_run` does, in one
        write; False, and nothing written, when the thread is busy or another caller moved them first."""
        ...

    def get_run(self, thread_id: str, run_id: str) -> Run: ...

    def get_run_record(self, thread_id: str, run_id: str) -> RunRecord: ...

    def list_runs(self, thread_id: str, page: PageRequest) -> Page[Run]: ...

    def update_run(self, thread_id: str, run_id: str, metadata: dict[str, str] | None) -> Run:
        """Set the run's metadata, the one field a caller changes (``None`` leaves it), and return the run."""
        ...

    def transition_run(
        self, thread_id: str, run_id: str, status: RunStatus, *, puts: Sequence[Message | RunStep] = (), **changes: Any
    ) -> Run:
        """Move the run to ``status``, set ``changes`` and write ``puts``, all at once, if the transition table
        allows the move from the run's status.

        Raises :class:`~threadrunner.errors.InvalidTransition` otherwise, and writes nothing. A move to a
        terminal status also frees the thread and takes the run out of the project's unfinished runs.
        """
        ...

    def accept_tool_outputs(
        self, thread_id: str, run_id: str, step_id: str, outputs: dict[str, str], at_ms: int
    ) -> None:
        """Store the client's outputs (received at ``at_ms``) and move the run from ``requires_action`` to
        ``in_progress``, at once.

        Raises :class:`~threadrunner.errors.InvalidTransition` if the run is not waiting for exactly these calls.
        """
        ...

    def set_turn(self, thread_id: str, run_id: str, response_id: str, tool_round: bool, started_at_ms: int) -> None:
        """Record the run's current model response, asked for at ``started_at_ms``; ``tool_round`` counts a turn
        that answers tool calls."""
        ...

    def set_server_tools(self, thread_id: str, run_id: str, tools: list[FunctionDefinition]) -> None:
        """Keep the definitions of the run's server tools, so every turn offers the same."""
        ...

    def set_task_token(self, thread_id: str, run_id: str, task_token: str) -> None:
        """The token the loop now waits on for the client's tool outputs."""
        ...

    def wait_on(self, thread_id: str, run_id: str, response_id: str, task_token: str) -> bool:
        """The token the loop now waits on for the webhook of ``response_id``, stored while the run is
        ``in_progress`` on that response; False (nothing stored) when it is not (a cancel came first)."""
        ...

    def take_task_token(self, thread_id: str, run_id: str, task_token: str) -> bool:
        """Take the token off the run if the run holds it: True for the one caller that took it (it wakes the
        loop), False for any other."""
        ...

    def begin_output(self, thread_id: str, run_id: str, response_id: str, objects: Sequence[Message | RunStep]) -> bool:
        """Store the in-progress ``objects`` a run's stream saw the model start (a message and its step, or a
        ``tool_calls`` step), while the run is ``in_progress`` on ``response_id`` and none of them exists; whether
        they were stored. The loop's writes of the finished objects replace them."""
        ...

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        """Fix the id of something a run task creates (its message, a turn's step) on the first attempt.

        Returns ``candidate`` the first time a slot is claimed and the first candidate on every later
        call, so a retried task writes the same objects again instead of new ones.
        """
        ...

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        """Add one model response's usage to the run, once per response however often it is called."""
        ...


class StepStore(Protocol):
    """Run steps, and the tool calls of ``tool_calls`` steps."""

    def put_step(self, step: RunStep, tool_calls: list[ToolCall], also: Sequence[Message | RunStep] = ()) -> None:
        """Store a run step and, for ``tool_calls`` steps, its calls, with ``also`` in the same write (a retry
        writes nothing; a step or message a stream began is replaced); NotFound when the run is gone."""
        ...

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> RunStep: ...

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at_ms: int) -> None:
        """Move the step to ``status``; a terminal one is stamped (``completed_at`` ..., and ``timing.ended_at_ms``)."""
        ...

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]: ...

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]: ...

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str, at_ms: int) -> ToolCall | None:
        """Mark a pending call running since ``at_ms`` and return it; ``None`` if it was claimed before (a retried
        task)."""
        ...

    def ask_for_outputs(self, thread_id: str, run_id: str, step_id: str, call_ids: list[str], at_ms: int) -> None:
        """Note when the client was first asked for these calls' outputs (a retried ask keeps the first time)."""
        ...

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        """Store a call's output (with its ``completed_at_ms``) and mark it completed."""
        ...


class UserStore(Protocol):
    """Users (``/v1/users``): each user's thread, and the thread's queue of waiting messages."""

    def get_user(self, user_id: str) -> UserRecord | None: ...

    def create_user(self, user: UserRecord, thread: Thread, replacing: str | None = None) -> UserRecord:
        """Store a user with a new thread, or return the user another request created (or repaired) first.

        ``replacing`` is the user's thread that is gone: the mapping moves to ``thread`` only if it still names it.
        """
        ...

    def delete_user(self, user_id: str) -> None: ...

    def enqueue(self, queued: QueuedMessage) -> None:
        """Put a message in its thread's queue, in order, to be answered by the thread's next run.

        Raises NotFound when the thread is gone (or being deleted): no queued message outlives its thread.
        """
        ...

    def queued(self, thread_id: str, limit: int) -> list[QueuedMessage]:
        """The oldest queued messages of the thread."""
        ...

    def dequeue(self, thread_id: str, message_id: str) -> bool:
        """Take a message out of the queue; False if it is no longer there (a run took it)."""
        ...


class UsageStore(Protocol):
    """Tokens: reserved and settled per model response, summed per day, user, thread; and seconds of code."""

    def reserve(self, reservation: Reservation, budget: Budget) -> None:
        """Set tokens aside against the day's budgets for a model response about to start.

        Raises :class:`~threadrunner.errors.BudgetExceeded`, and sets nothing aside, when the day's
        committed tokens (used plus reserved) of the project or the user reached their budget.
        """
        ...

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose response was never created."""
        ...

    def record_response(
        self, response_id: str, reservation: Reservation, thread_id: str, run_id: str, unsettled: bool = False
    ) -> None:
        """Remember a created response's reservation, outside its thread, so it is settled whatever happens to it;
        ``unsettled``: nobody is bound to settle it (a forwarded background response), so it is listed for the
        sweep (:class:`~threadrunner.ports.UnsettledResponses`) until it is settled."""
        ...

    def is_forwarded(self, response_id: str) -> bool:
        """Whether the project created the response through a forwarded call (``record_response`` without a run)."""
        ...

    def settle(self, response_id: str, usage: Usage | None) -> bool:
        """Replace an ended response's reservation by its usage (``None``: the provider never counted it, and its
        estimated prompt is charged), once; False if it was settled before or never recorded."""
        ...

    def spend(self, reservation: Reservation, usage: Usage) -> None:
        """Replace a reservation by what its call used, at once: a call that ended as it answered (embeddings)."""
        ...

    def usage_today(self, day: str, user_id: str | None = None) -> DayUsage:
        """The project's (or one user's) tokens of a UTC day: used, and reserved by running responses; and the
        project's seconds of code execution."""
        ...

    def add_code_seconds(self, day: str, seconds: float) -> None:
        """Count seconds of ``code_interpreter`` execution in the project's day."""
        ...

    def count_thread_usage(self, run: Run) -> bool:
        """Add a finished run's usage to its thread, once; False if counted before (or the thread is gone)."""
        ...

    def thread_usage(self, thread_id: str) -> Usage: ...


class ProjectStore(Protocol):
    """What the project's operator set for it, and its request counts."""

    def get_policy(self) -> ProjectPolicy:
        """The project's budget, limits and models, as they were when this store first read them (a store
        serves one request or one task)."""
        ...

    def set_policy(self, policy: ProjectPolicy) -> None: ...

    def count_request(self, minute: int, limit: int) -> bool:
        """Count one request in a minute's window (Unix minutes); False, and nothing counted, at ``limit``."""
        ...

    def open_stream(self, stream_id: str, expires_at: int, limit: int) -> bool:
        """Count a stream among the project's open ones until it is closed or ``expires_at`` (Unix seconds) passes
        (its container may die first); False, and nothing counted, when ``limit`` streams are open."""
        ...

    def close_stream(self, stream_id: str, expires_at: int) -> None:
        """The stream counted with this id and expiry ended."""
        ...


class ToolStore(Protocol):
    """The project's registered server tools (Lambda functions)."""

    def put_tool(self, tool: LambdaTool) -> None:
        """Register a tool; Conflict if the project has one of that name."""
        ...

    def get_tool(self, name: str) -> LambdaTool: ...

    def list_tools(self) -> list[LambdaTool]: ...

    def delete_tool(self, name: str) -> None: ...


@dataclass(frozen=True)
class Stores:
    """The stores of one project: what a use case is handed, each part a port of its own."""

    project: str
    assistants: AssistantStore
    threads: ThreadStore
    runs: RunStore
    steps: StepStore
    users: UserStore
    usage: UsageStore
    projects: ProjectStore
    files: FileStore
    vector_stores: VectorStoreStore
    tools: ToolStore
    conversations: ConversationStore
    prompts: PromptStore
