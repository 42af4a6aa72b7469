"""In-memory fakes of the ports, for fast unit tests of the use cases and the run loop's tasks.

They keep the contracts of ``threadrunner.ports`` as the DynamoDB stores do (the thread's lock, the
run-status table, claims made once, calls claimed once, reservations against budgets, the mark of a
thread being deleted), on plain dicts: what a unit test of a branch needs, without moto.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import Budget, DayUsage, ProjectPolicy, Reservation, UnsettledResponse, over_budget
from threadrunner.domain.circuits import CircuitState
from threadrunner.domain.code_sandbox import CodeSession, Execution, SandboxLimits, SessionKey, StagedFile, checked_path
from threadrunner.domain.common import FunctionDefinition, Usage
from threadrunner.domain.files import FileObject, Upload, UploadPart
from threadrunner.domain.lambda_tools import LambdaTool
from threadrunner.domain.message import Message
from threadrunner.domain.model_turn import ModelTurn, TurnEvent, TurnRequest
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.run import Run
from threadrunner.domain.run_record import RunRecord, RunRef
from threadrunner.domain.run_status import RunStatus, can_move, is_terminal
from threadrunner.domain.run_step import RunStep, RunStepStatus
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.domain.vector_stores import (
    Chunk,
    FileCounts,
    FileError,
    Hit,
    IndexJob,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    batch_status,
)
from threadrunner.errors import (
    BudgetExceeded,
    Conflict,
    InvalidRequest,
    InvalidTransition,
    ModelUnavailable,
    NotFound,
    RunActive,
    SessionEnded,
    TooLarge,
    TooManyActiveRuns,
)
from threadrunner.ports import Event, Stores

T = TypeVar("T")

_STAMPS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}


@dataclass
class _Thread:
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


@dataclass
class World:
    """Everything of one project, shared by its fake stores."""

    project: str = "acme"
    assistants: dict[str, Assistant] = field(default_factory=dict)
    threads: dict[str, _Thread] = field(default_factory=dict)
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
    tools: dict[str, LambdaTool] = field(default_factory=dict)
    forwarded: set[str] = field(default_factory=set)
    unsettled: dict[tuple[str, str], UnsettledResponse] = field(default_factory=dict)
    """The deployment's list of unsettled responses, by project and id: worlds of several projects may share it."""

    def thread(self, thread_id: str) -> _Thread:
        entry = self.threads.get(thread_id)
        if entry is None or entry.deleting:
            raise NotFound("thread", thread_id)
        return entry

    def record(self, thread_id: str, run_id: str) -> RunRecord:
        entry = self.threads.get(thread_id)
        if entry is None or run_id not in entry.runs:
            raise NotFound("run", run_id)
        return entry.runs[run_id]


class FakeAssistants:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_assistant(self, assistant: Assistant) -> None:
        self.world.assistants[assistant.id] = assistant

    def get_assistant(self, assistant_id: str) -> Assistant:
        if assistant_id not in self.world.assistants:
            raise NotFound("assistant", assistant_id)
        return self.world.assistants[assistant_id]

    def update_assistant(self, assistant_id: str, changes: dict[str, Any]) -> Assistant:
        updated = self.get_assistant(assistant_id).model_copy(update=changes)
        self.world.assistants[assistant_id] = Assistant.model_validate(updated.model_dump())
        return self.world.assistants[assistant_id]

    def delete_assistant(self, assistant_id: str) -> None:
        self.get_assistant(assistant_id)
        del self.world.assistants[assistant_id]

    def list_assistants(self, page: PageRequest) -> Page[Assistant]:
        return paginate(sorted(self.world.assistants.values(), key=lambda a: a.id), page)


class FakeThreads:
    def __init__(self, world: World) -> None:
        self.world = world

    def create_thread(self, thread: Thread, messages: list[Message]) -> None:
        self.world.threads[thread.id] = _Thread(thread=thread, messages={m.id: m for m in messages})

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
        entry.messages[message.id] = message

    def get_message(self, thread_id: str, message_id: str) -> Message:
        entry = self.world.thread(thread_id)
        if message_id not in entry.messages:
            raise NotFound("message", message_id)
        return entry.messages[message_id]

    def update_message(self, thread_id: str, message_id: str, changes: dict[str, Any]) -> Message:
        updated = self.get_message(thread_id, message_id).model_copy(update=changes)
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
        return iter(sorted(self.world.thread(thread_id).messages.values(), key=lambda m: m.id, reverse=True))

    def list_threads(self, page: PageRequest) -> Page[Thread]:
        listed = sorted((e.thread for e in self.world.threads.values() if not e.deleting), key=lambda t: t.id)
        return paginate(listed, page)


def _stored(entry: _Thread, item: Message | RunStep) -> Message | RunStep | None:
    if isinstance(item, Message):
        return entry.messages.get(item.id)
    return entry.steps.get((item.run_id, item.id))


def _store(entry: _Thread, item: Message | RunStep, begun: bool = False) -> None:
    """Write a message or a step; ``begun``: in progress, by a run's stream, for the loop to replace."""
    if isinstance(item, Message):
        entry.messages[item.id] = item
    else:
        entry.steps[(item.run_id, item.id)] = item
    if begun:
        entry.begun.add(item.id)
    else:
        entry.begun.discard(item.id)


class FakeRuns:
    def __init__(self, world: World) -> None:
        self.world = world

    def create_run(
        self,
        run: Run,
        vector_store_ids: list[str] | None = None,
        messages: Sequence[Message] = (),
        max_active_runs: int | None = None,
    ) -> None:
        if not self._create(run, vector_store_ids or [], messages, max_active_runs):
            raise RunActive(run.thread_id, self.world.thread(run.thread_id).active_run_id or "")

    def has_room_for_run(self, max_active_runs: int) -> bool:
        return len(self.world.active_runs) < max_active_runs

    def start_queued_run(
        self,
        run: Run,
        queued: list[QueuedMessage],
        messages: list[Message],
        vector_store_ids: list[str],
        max_active_runs: int | None = None,
    ) -> bool:
        entry = self.world.thread(run.thread_id)
        if any(q.message.id not in entry.queue for q in queued):
            return False
        if not self._create(run, vector_store_ids, messages, max_active_runs):
            return False
        for q in queued:
            del entry.queue[q.message.id]
        return True

    def _create(
        self, run: Run, vector_store_ids: list[str], messages: Sequence[Message], max_active_runs: int | None
    ) -> bool:
        entry = self.world.thread(run.thread_id)
        if max_active_runs is not None and len(self.world.active_runs) >= max_active_runs:
            raise TooManyActiveRuns(max_active_runs)
        if entry.active_run_id:
            return False
        entry.active_run_id = run.id
        entry.runs[run.id] = RunRecord(run=run, vector_store_ids=vector_store_ids)
        entry.messages |= {m.id: m for m in messages}
        self.world.active_runs.add((run.thread_id, run.id))
        return True

    def get_run(self, thread_id: str, run_id: str) -> Run:
        return self.world.record(thread_id, run_id).run

    def get_run_record(self, thread_id: str, run_id: str) -> RunRecord:
        return self.world.record(thread_id, run_id).model_copy(deep=True)

    def list_runs(self, thread_id: str, page: PageRequest) -> Page[Run]:
        records = sorted(self.world.thread(thread_id).runs.values(), key=lambda r: r.run.id)
        return paginate([record.run for record in records], page)

    def update_run(self, thread_id: str, run_id: str, metadata: dict[str, str] | None) -> Run:
        record = self.world.record(thread_id, run_id)
        if metadata is not None:
            record.run = record.run.model_copy(update={"metadata": metadata})
        return record.run

    def transition_run(
        self, thread_id: str, run_id: str, status: RunStatus, *, puts: Sequence[Message | RunStep] = (), **changes: Any
    ) -> Run:
        record = self.world.record(thread_id, run_id)
        if not can_move(record.run.status, status):
            raise InvalidTransition(f"Cannot move run {run_id} from status '{record.run.status}' to '{status}'.")
        bookkeeping = {name: changes.pop(name) for name in ("task_token", "waiting_step_id") if name in changes}
        for name, value in bookkeeping.items():
            setattr(record, name, value)
        record.run = Run.model_validate({**record.run.model_dump(), **_plain(changes), "status": status})
        entry = self.world.threads[thread_id]
        for item in puts:
            _store(entry, item)
        if is_terminal(status):
            self.world.active_runs.discard((thread_id, run_id))
            if entry.active_run_id == run_id:
                entry.active_run_id = None
        return record.run

    def accept_tool_outputs(
        self, thread_id: str, run_id: str, step_id: str, outputs: dict[str, str], at_ms: int
    ) -> None:
        record = self.world.record(thread_id, run_id)
        calls = {c.call_id: c for c in self.world.threads[thread_id].calls.get((run_id, step_id), [])}
        waiting = record.run.status == "requires_action" and record.waiting_step_id == step_id
        if not waiting or any(calls[i].status != "pending" or calls[i].side != "client" for i in outputs):
            raise InvalidTransition(f"Run {run_id} is not waiting for these tool outputs.")
        for call_id, output in outputs.items():
            calls[call_id].status, calls[call_id].output = "completed", output
            calls[call_id].completed_at_ms = at_ms
        self.transition_run(
            thread_id,
            run_id,
            "in_progress",
            required_action=None,
            expires_at=None,
            task_token=None,
            waiting_step_id=None,
        )

    def set_turn(self, thread_id: str, run_id: str, response_id: str, tool_round: bool, started_at_ms: int) -> None:
        record = self.world.record(thread_id, run_id)
        record.response_id, record.turn_started_at_ms = response_id, started_at_ms
        record.tool_rounds += int(tool_round)

    def set_server_tools(self, thread_id: str, run_id: str, tools: list[FunctionDefinition]) -> None:
        self.world.record(thread_id, run_id).server_tools = list(tools)

    def set_task_token(self, thread_id: str, run_id: str, task_token: str) -> None:
        self.world.record(thread_id, run_id).task_token = task_token

    def begin_output(self, thread_id: str, run_id: str, response_id: str, objects: Sequence[Message | RunStep]) -> bool:
        record, entry = self.world.record(thread_id, run_id), self.world.threads[thread_id]
        if record.run.status != "in_progress" or record.response_id != response_id:
            return False
        if any(_stored(entry, item) is not None for item in objects):
            return False
        for item in objects:
            _store(entry, item, begun=True)
        return True

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        return self.world.record(thread_id, run_id).claims.setdefault(slot, candidate)

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        record = self.world.record(thread_id, run_id)
        slot = f"usage:{response_id}"
        if slot not in record.claims:
            record.claims[slot] = "counted"
            record.usage += usage


class FakeSteps:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_step(self, step: RunStep, tool_calls: list[ToolCall], also: Sequence[Message | RunStep] = ()) -> None:
        self.world.record(step.thread_id, step.run_id)
        entry = self.world.threads[step.thread_id]
        if any((item.id in entry.begun) is False for item in (step, *also) if _stored(entry, item) is not None):
            return  # a retry writes nothing twice; only what a stream began is replaced
        for item in (step, *also):
            _store(entry, item)
        entry.calls[(step.run_id, step.id)] = [call.model_copy() for call in tool_calls]

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> RunStep:
        for step in self.list_steps(thread_id, run_id, PageRequest(limit=100, order="asc")).data:
            if step.id == step_id:
                return step
        raise NotFound("run step", step_id)

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at_ms: int) -> None:
        steps = self.world.thread(thread_id).steps
        step = steps[(run_id, step_id)]
        stamp: dict[str, Any] = {}
        if status in _STAMPS:
            stamp[_STAMPS[status]] = at_ms // 1000
            if step.timing is not None:
                stamp["timing"] = step.timing.model_copy(update={"ended_at_ms": at_ms})
        steps[(run_id, step_id)] = step.model_copy(update={"status": status, **stamp})

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]:
        self.world.record(thread_id, run_id)
        entry = self.world.threads[thread_id]
        steps = sorted((step for (run, _), step in entry.steps.items() if run == run_id), key=lambda s: s.id)
        return paginate([self._with_outputs(entry, step) for step in steps], page)

    @staticmethod
    def _with_outputs(entry: _Thread, step: RunStep) -> RunStep:
        """A ``tool_calls`` step as it reads: each call with its output so far."""
        if step.step_details.type != "tool_calls":
            return step
        calls = [c.as_step_item(with_content=True) for c in entry.calls.get((step.run_id, step.id), [])]
        details = {"type": "tool_calls", "tool_calls": calls}
        return RunStep.model_validate({**step.model_dump(), "step_details": details})

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]:
        return [call.model_copy() for call in self.world.thread(thread_id).calls.get((run_id, step_id), [])]

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str, at_ms: int) -> ToolCall | None:
        for call in self.world.thread(thread_id).calls.get((run_id, step_id), []):
            if call.call_id == call_id and call.status == "pending":
                call.status, call.started_at_ms = "running", at_ms
                return call.model_copy()
        return None

    def ask_for_outputs(self, thread_id: str, run_id: str, step_id: str, call_ids: list[str], at_ms: int) -> None:
        for call in self.world.thread(thread_id).calls.get((run_id, step_id), []):
            if call.call_id in call_ids and call.started_at_ms is None:
                call.started_at_ms = at_ms

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        for stored in self.world.thread(thread_id).calls.get((call.run_id, call.step_id), []):
            if stored.call_id == call.call_id and stored.status == "running":
                stored.status, stored.output, stored.is_error = "completed", call.output, call.is_error
                stored.duration_ms, stored.execution = call.duration_ms, call.execution
                stored.completed_at_ms = call.completed_at_ms


class FakeUsers:
    def __init__(self, world: World) -> None:
        self.world = world

    def get_user(self, user_id: str) -> UserRecord | None:
        return self.world.users.get(user_id)

    def create_user(self, user: UserRecord, thread: Thread, replacing: str | None = None) -> UserRecord:
        existing = self.world.users.get(user.user_id)
        if (existing is not None and existing.thread_id != replacing) or (existing is None and replacing):
            return existing or user
        self.world.threads[thread.id] = _Thread(thread=thread, user_id=user.user_id)
        self.world.users[user.user_id] = user.model_copy(update={"thread_id": thread.id})
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
        return self.world.thread(thread_id).queue.pop(message_id, None) is not None


class FakeUsage:
    def __init__(self, world: World) -> None:
        self.world = world

    def reserve(self, reservation: Reservation, budget: Budget) -> None:
        project, user = self.usage_today(reservation.day), None
        if reservation.user_id:
            user = self.usage_today(reservation.day, reservation.user_id)
        problem = over_budget(budget, project, user)
        if problem:
            raise BudgetExceeded(problem, code="daily_budget_exceeded")
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = day.model_copy(
                update={"reserved": day.reserved + reservation.tokens}
            )

    def release(self, reservation: Reservation) -> None:
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = day.model_copy(
                update={"reserved": day.reserved - reservation.tokens}
            )

    def record_response(
        self, response_id: str, reservation: Reservation, thread_id: str, run_id: str, unsettled: bool = False
    ) -> None:
        self.world.responses[response_id] = (reservation, False)
        if not run_id:
            self.world.forwarded.add(response_id)
        if unsettled:
            listed = UnsettledResponse(project=self.world.project, response_id=response_id, reservation=reservation)
            self.world.unsettled[(self.world.project, response_id)] = listed

    def is_forwarded(self, response_id: str) -> bool:
        return response_id in self.world.forwarded

    def settle(self, response_id: str, usage: Usage | None) -> bool:
        if response_id not in self.world.responses or self.world.responses[response_id][1]:
            return False
        reservation, _ = self.world.responses[response_id]
        self.spend(
            reservation, usage or Usage(prompt_tokens=reservation.prompt_tokens, total_tokens=reservation.prompt_tokens)
        )
        self.world.responses[response_id] = (reservation, True)
        self.world.unsettled.pop((self.world.project, response_id), None)
        return True

    def spend(self, reservation: Reservation, usage: Usage) -> None:
        for who in (None, reservation.user_id) if reservation.user_id else (None,):
            day = self.usage_today(reservation.day, who)
            self.world.days[(reservation.day, who)] = DayUsage(
                usage=day.usage + usage, reserved=day.reserved - reservation.tokens
            )

    def usage_today(self, day: str, user_id: str | None = None) -> DayUsage:
        return self.world.days.get((day, user_id), DayUsage())

    def count_thread_usage(self, run: Run) -> bool:
        if run.id in self.world.counted_runs or run.thread_id not in self.world.threads:
            return False
        self.world.counted_runs.add(run.id)
        entry = self.world.threads[run.thread_id]
        entry.usage += run.usage or Usage()
        return True

    def thread_usage(self, thread_id: str) -> Usage:
        return self.world.thread(thread_id).usage


@dataclass
class FakeUnsettled:
    """The deployment's list of unsettled responses: the one the worlds given share."""

    listing: dict[tuple[str, str], UnsettledResponse]

    def listed(self) -> Iterator[UnsettledResponse]:
        yield from list(self.listing.values())

    def forget(self, project: str, response_id: str) -> None:
        self.listing.pop((project, response_id), None)


class FakeProjects:
    def __init__(self, world: World) -> None:
        self.world = world

    def get_policy(self) -> ProjectPolicy:
        return self.world.policy

    def set_policy(self, policy: ProjectPolicy) -> None:
        self.world.policy = policy

    def count_request(self, minute: int, limit: int) -> bool:
        if self.world.requests.get(minute, 0) >= limit:
            return False
        self.world.requests[minute] = self.world.requests.get(minute, 0) + 1
        return True

    def open_stream(self, stream_id: str, expires_at: int, limit: int) -> bool:
        if len(self.world.open_streams) >= limit:
            self.world.open_streams = {s: at for s, at in self.world.open_streams.items() if at >= time.time()}
            if len(self.world.open_streams) >= limit:
                return False
        self.world.open_streams[stream_id] = expires_at
        return True

    def close_stream(self, stream_id: str, expires_at: int) -> None:
        self.world.open_streams.pop(stream_id, None)


class FakeFiles:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_file(self, file: FileObject, content_key: str) -> None:
        self.world.files[file.id] = (file, content_key)

    def get_file(self, file_id: str) -> FileObject:
        if file_id not in self.world.files:
            raise NotFound("file", file_id)
        return self.world.files[file_id][0]

    def content_key(self, file_id: str) -> str:
        self.get_file(file_id)
        return self.world.files[file_id][1]

    def list_files(self, page: PageRequest, purpose: str | None = None) -> Page[FileObject]:
        listed = sorted((f for f, _ in self.world.files.values() if purpose in (None, f.purpose)), key=lambda f: f.id)
        return paginate(listed, page)

    def delete_file(self, file_id: str) -> None:
        self.get_file(file_id)
        del self.world.files[file_id]

    def put_upload(self, upload: Upload) -> None:
        self.world.uploads[upload.id] = upload

    def get_upload(self, upload_id: str) -> Upload:
        if upload_id not in self.world.uploads:
            raise NotFound("upload", upload_id)
        return self.world.uploads[upload_id]

    def add_part(self, upload_id: str, part: UploadPart, content_key: str, size: int) -> None:
        if self.get_upload(upload_id).status != "pending":
            raise InvalidRequest("The upload takes no more parts.")
        self.world.parts.setdefault(upload_id, {})[part.id] = (content_key, size)

    def parts(self, upload_id: str) -> dict[str, tuple[str, int]]:
        return dict(self.world.parts.get(upload_id, {}))

    def end_upload(self, upload_id: str, status: str, file: FileObject | None = None) -> Upload:
        upload = self.get_upload(upload_id)
        if upload.status != "pending":
            raise InvalidRequest(f"The upload is {upload.status}.")
        self.world.uploads[upload_id] = upload.model_copy(update={"status": status, "file": file})
        return self.world.uploads[upload_id]

    def complete_upload(self, upload_id: str, file: FileObject, content_key: str) -> Upload:
        completed = self.end_upload(upload_id, "completed", file)
        self.put_file(file, content_key)
        return completed


class FakeVectorStores:
    """Stores, their files (by store), batches and counts, as the table keeps them."""

    def __init__(self, world: World) -> None:
        self.world = world

    def put_store(self, store: VectorStore) -> None:
        self.world.stores[store.id] = store.model_copy(update={"file_counts": FileCounts()})

    def get_store(self, vector_store_id: str) -> VectorStore:
        if vector_store_id not in self.world.stores:
            raise NotFound("vector store", vector_store_id)
        return self.world.stores[vector_store_id]

    def list_stores(self, page: PageRequest) -> Page[VectorStore]:
        return paginate(sorted(self.world.stores.values(), key=lambda s: s.id), page)

    def update_store(self, vector_store_id: str, changes: dict[str, Any]) -> VectorStore:
        store = self.get_store(vector_store_id)
        self.world.stores[vector_store_id] = VectorStore.model_validate({**store.model_dump(), **changes})
        return self.world.stores[vector_store_id]

    def delete_store(self, vector_store_id: str) -> None:
        self.get_store(vector_store_id)
        del self.world.stores[vector_store_id]

    def _count(self, vector_store_id: str, changes: dict[str, int], usage: int = 0) -> None:
        if vector_store_id not in self.world.stores:
            return
        store = self.world.stores[vector_store_id]
        counts = store.file_counts.model_copy(
            update={name: getattr(store.file_counts, name) + value for name, value in changes.items()}
        )
        self.world.stores[vector_store_id] = store.model_copy(
            update={"file_counts": counts, "usage_bytes": store.usage_bytes + usage}
        )

    def add_file(self, entry: VectorStoreFile, batch_id: str | None = None) -> bool:
        self.get_store(entry.vector_store_id)
        files = self.world.store_files.setdefault(entry.vector_store_id, {})
        if entry.id in files:
            return False
        files[entry.id] = (entry, 0)
        self._count(entry.vector_store_id, {"in_progress": 1, "total": 1})
        return True

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile:
        if file_id not in self.world.store_files.get(vector_store_id, {}):
            raise NotFound("file", file_id)
        return self.world.store_files[vector_store_id][file_id][0]

    def update_file(self, vector_store_id: str, file_id: str, changes: dict[str, Any]) -> VectorStoreFile:
        entry, chunks = self.world.store_files.get(vector_store_id, {}).get(file_id) or (None, 0)
        if entry is None:
            raise NotFound("file", file_id)
        entry = VectorStoreFile.model_validate({**entry.model_dump(), **changes})
        self.world.store_files[vector_store_id][file_id] = (entry, chunks)
        return entry

    def list_files(self, vector_store_id: str, page: PageRequest, status: str | None = None) -> Page[VectorStoreFile]:
        self.get_store(vector_store_id)
        entries = sorted((e for e, _ in self.world.store_files.get(vector_store_id, {}).values()), key=lambda e: e.id)
        return paginate([e for e in entries if status in (None, e.status)], page)

    def finish_file(
        self,
        vector_store_id: str,
        file_id: str,
        status: str,
        usage_bytes: int = 0,
        chunks: int = 0,
        last_error: FileError | None = None,
    ) -> bool:
        files = self.world.store_files.get(vector_store_id, {})
        if file_id not in files or files[file_id][0].status != "in_progress":
            return False
        changes = {"status": status, "usage_bytes": usage_bytes, "last_error": last_error}
        files[file_id] = (files[file_id][0].model_copy(update=changes), chunks)
        self._count(vector_store_id, {"in_progress": -1, status: 1}, usage_bytes)
        return True

    def remove_file(self, vector_store_id: str, file_id: str) -> int:
        entry, chunks = self.world.store_files.get(vector_store_id, {}).pop(file_id, (None, 0))
        if entry is None:
            raise NotFound("file", file_id)
        self._count(vector_store_id, {entry.status: -1, "total": -1}, -entry.usage_bytes)
        return chunks

    def stores_of_file(self, file_id: str) -> list[str]:
        return sorted(store for store, files in self.world.store_files.items() if file_id in files)

    def file_ids(self, vector_store_id: str) -> list[str]:
        return sorted(self.world.store_files.get(vector_store_id, {}))

    def purge(self, vector_store_id: str) -> None:
        self.world.store_files.pop(vector_store_id, None)
        self.world.batches = {key: value for key, value in self.world.batches.items() if key[0] != vector_store_id}

    def put_batch(self, batch: VectorStoreFileBatch, file_ids: list[str]) -> None:
        self.world.batches[(batch.vector_store_id, batch.id)] = (batch, list(file_ids), False)

    def get_batch(self, vector_store_id: str, batch_id: str) -> tuple[VectorStoreFileBatch, list[str]]:
        if (vector_store_id, batch_id) not in self.world.batches:
            raise NotFound("file batch", batch_id)
        batch, file_ids, cancelled = self.world.batches[(vector_store_id, batch_id)]
        counts = FileCounts()
        for file_id in file_ids:
            if file_id in self.world.store_files.get(vector_store_id, {}):
                status = self.world.store_files[vector_store_id][file_id][0].status
                setattr(counts, status, getattr(counts, status) + 1)
                counts.total += 1
        return batch.model_copy(update={"file_counts": counts, "status": batch_status(counts, cancelled)}), file_ids

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> None:
        batch, file_ids, _ = self.world.batches[(vector_store_id, batch_id)]
        self.world.batches[(vector_store_id, batch_id)] = (batch, file_ids, True)


@dataclass
class FakeIndex:
    """The vector index: every chunk with its vectors, by kind; queries by exhaustive cosine distance."""

    vectors: dict[str, dict[str, tuple[Chunk, list[float]]]] = field(default_factory=dict)

    def put(self, kind: str, chunks: Sequence[Chunk], vectors: Sequence[list[float]]) -> None:
        for chunk, vector in zip(chunks, vectors, strict=True):
            self.vectors.setdefault(kind, {})[chunk.key] = (chunk, list(vector))

    def delete(self, kind: str, keys: Sequence[str]) -> None:
        for key in keys:
            self.vectors.get(kind, {}).pop(key, None)

    def query(self, kind: str, vector: list[float], stores: Sequence[str], top_k: int) -> list[Hit]:
        hits = [
            Hit(
                key=key,
                distance=1.0 - sum(a * b for a, b in zip(vector, other, strict=True)),
                store=chunk.store,
                file_id=chunk.file_id,
                text=chunk.text,
            )
            for key, (chunk, other) in self.vectors.get(kind, {}).items()
            if chunk.store in stores
        ]
        return sorted(hits, key=lambda hit: hit.distance)[:top_k]


@dataclass
class FakeJobs:
    """The IndexFunction's queue: what was submitted, in order."""

    submitted: list[IndexJob] = field(default_factory=list)

    def submit(self, job: IndexJob) -> None:
        self.submitted.append(job)


@dataclass
class FakeContents:
    """Files' bytes, by key."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes, part: bool = False) -> None:
        self.blobs[key] = data

    def read(self, key: str) -> bytes:
        if key not in self.blobs:
            raise NotFound("file", key)
        return self.blobs[key]

    def join(self, keys: Sequence[str], into: str) -> str:
        self.blobs[into] = b"".join(self.read(key) for key in keys)
        return hashlib.md5(self.blobs[into], usedforsecurity=False).hexdigest()

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.blobs.pop(key, None)

    def link(self, key: str, filename: str, seconds: int) -> str:
        return f"https://files.example/{key}?for={seconds}"


def fake_stores(world: World | None = None) -> Stores:
    """The stores of one project, all on one in-memory world."""
    world = world or World()
    return Stores(
        project=world.project,
        assistants=FakeAssistants(world),
        threads=FakeThreads(world),
        runs=FakeRuns(world),
        steps=FakeSteps(world),
        users=FakeUsers(world),
        usage=FakeUsage(world),
        projects=FakeProjects(world),
        files=FakeFiles(world),
        vector_stores=FakeVectorStores(world),
        tools=FakeTools(world),
    )


class FakeTools:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_tool(self, tool: LambdaTool) -> None:
        if tool.name in self.world.tools:
            raise Conflict(f"A server tool named '{tool.name}' is registered already.", param="name")
        self.world.tools[tool.name] = tool

    def get_tool(self, name: str) -> LambdaTool:
        if name not in self.world.tools:
            raise NotFound("server tool", name)
        return self.world.tools[name]

    def list_tools(self) -> list[LambdaTool]:
        return [self.world.tools[name] for name in sorted(self.world.tools)]

    def delete_tool(self, name: str) -> None:
        self.get_tool(name)
        del self.world.tools[name]


@dataclass
class FakeCircuits:
    """Circuits that open after ``threshold`` failures in a row and stay open until a test closes them."""

    threshold: int = 3
    failures: dict[str, int] = field(default_factory=dict)
    opened: set[str] = field(default_factory=set)

    def guard(
        self,
        name: str,
        call: Callable[[], T],
        when_open: Callable[[], T],
        is_failure: Callable[[T], bool] = lambda answer: False,
        counted: tuple[type[Exception], ...] = (),
    ) -> tuple[T, CircuitState]:
        if name in self.opened:
            return when_open(), "open"
        try:
            answer = call()
        except counted:
            self._failed(name)
            raise
        if is_failure(answer):
            self._failed(name)
        else:
            self.failures[name] = 0
        return answer, "open" if name in self.opened else "closed"

    def _failed(self, name: str) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1
        if self.failures[name] >= self.threshold:
            self.opened.add(name)


class FakeModel:
    """A Responses API whose responses finish when a test says so, with what it says."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.turns: dict[str, ModelTurn] = {}
        self.requests: list[TurnRequest] = []
        self.cancelled: list[str] = []
        self.fail_create: Exception | None = None
        self.streams: dict[str, list[TurnEvent]] = {}
        self.breaks: dict[str, int] = {}
        self.followed: list[tuple[str, int | None]] = []
        """Each stream asked for: the response, and the event it was taken up after."""

    def create(self, request: TurnRequest) -> ModelTurn:
        if self.fail_create is not None:
            raise self.fail_create
        self.requests.append(request)
        turn = ModelTurn(id=f"resp_{next(self._ids)}", status="in_progress")
        self.turns[turn.id] = turn
        return turn

    def finish(self, response_id: str, **fields: Any) -> ModelTurn:
        """Make a response end: ``status`` (completed by default), ``output_text``, ``function_calls``, ``usage``."""
        fields.setdefault("status", "completed")
        fields.setdefault("usage", Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15))
        self.turns[response_id] = self.turns[response_id].model_copy(update=fields)
        return self.turns[response_id]

    def retrieve(self, response_id: str) -> ModelTurn:
        return self.turns[response_id]

    def events(self, response_id: str, after: int | None = None) -> Iterator[TurnEvent]:
        """The events a test scripted for the response (``streams``), after ``after``; a stream in ``breaks``
        breaks (ModelUnavailable) once, after that many events."""
        if response_id not in self.streams:
            raise ModelUnavailable("no stream")
        self.followed.append((response_id, after))
        for sent, event in enumerate(
            e for e in self.streams[response_id] if after is None or e.sequence_number > after
        ):
            if self.breaks.get(response_id) == sent:
                del self.breaks[response_id]
                raise ModelUnavailable("the stream broke")
            yield event

    def cancel(self, response_id: str) -> ModelTurn:
        self.cancelled.append(response_id)
        if not self.turns[response_id].is_finished:
            self.turns[response_id] = self.turns[response_id].model_copy(update={"status": "cancelled", "usage": None})
        return self.turns[response_id]


@dataclass
class FakeControl:
    """The run loop's control: what was started, resumed and interrupted."""

    started: list[RunRef] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    interrupted: list[tuple[str, str]] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)
    """Task tokens a loop waits on; resuming another answers False."""

    def start(self, ref: RunRef) -> None:
        self.started.append(ref)

    def resume(self, task_token: str) -> bool:
        self.resumed.append(task_token)
        return task_token in self.waiting

    def interrupt(self, task_token: str, error: str, cause: str) -> None:
        self.interrupted.append((task_token, error))


@dataclass
class FakeEvents:
    published: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.published.append(event)


@dataclass
class FakeCatalogue:
    tools: Mapping[str, FunctionDefinition] = field(default_factory=dict)

    def server_tools(self) -> Mapping[str, FunctionDefinition]:
        return self.tools


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.model_dump() if hasattr(value, "model_dump") else value for name, value in values.items()}


@dataclass
class _FakeSession:
    session: CodeSession
    files: dict[str, bytes] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)


class FakeCodeSandbox:
    """The code sandbox's contract (sessions per thread, reopened within their idle time, files under the data
    directory) in memory. It runs no code: an execution answers what ``run`` makes of the code and the session
    (which it may change), by default the code itself as output."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        run: Callable[[str, _FakeSession], Execution] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.run = run or (lambda code, entry: Execution(output=code, session=entry.session))
        self.clock = clock
        self.sessions: dict[str, _FakeSession] = {}
        self._ids = itertools.count(1)

    def open(self, key: SessionKey, resume: CodeSession | None = None) -> CodeSession:
        now = self.clock()
        entry = self.sessions.get(resume.session_id) if resume is not None else None
        if entry is not None and entry.session.key == key and not entry.session.idle(now, self.limits):
            entry.session = entry.session.model_copy(update={"last_used_at": now, "fresh": False})
            return entry.session
        for session_id in [sid for sid, other in self.sessions.items() if other.session.key == key]:
            del self.sessions[session_id]
        session = CodeSession(key=key, session_id=f"cs{next(self._ids)}", started_at=now, last_used_at=now, fresh=True)
        self.sessions[session.session_id] = _FakeSession(session)
        return session

    def _entry(self, session: CodeSession) -> _FakeSession:
        entry = self.sessions.get(session.session_id)
        if entry is None or entry.session.key != session.key:
            raise SessionEnded("The code session has ended: open it again.")
        entry.session = entry.session.model_copy(update={"last_used_at": self.clock(), "fresh": False})
        return entry

    def write_files(self, session: CodeSession, files: Sequence[StagedFile]) -> None:
        if len(files) > self.limits.max_files:
            raise ValueError(f"at most {self.limits.max_files} files can be given to a session at once")
        checked = [(checked_path(file.path), file.data) for file in files]
        if any(len(data) > self.limits.max_file_bytes for _, data in checked):
            raise TooLarge(f"A file is larger than {self.limits.max_file_bytes} bytes.")
        self._entry(session).files.update(checked)

    def execute(self, session: CodeSession, code: str) -> Execution:
        entry = self._entry(session)
        execution = self.run(code, entry)
        if execution.ended:
            del self.sessions[session.session_id]
        return execution.model_copy(update={"session": entry.session})

    def read_file(self, session: CodeSession, path: str) -> bytes:
        path = checked_path(path)
        files = self._entry(session).files
        if path not in files:
            raise NotFound("file in the code session", path)
        return files[path]

    def close(self, session: CodeSession) -> None:
        entry = self.sessions.get(session.session_id)
        if entry is not None and entry.session.key == session.key:
            del self.sessions[session.session_id]
