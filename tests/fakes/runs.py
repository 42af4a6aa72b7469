"""Runs and the run loop's bookkeeping of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threadrunner.domain.common import FunctionDefinition, Usage
from threadrunner.domain.message import Message
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.run import Run
from threadrunner.domain.run_record import RunRecord
from threadrunner.domain.run_status import RunStatus, can_move, is_terminal
from threadrunner.domain.run_step import RunStep
from threadrunner.domain.user import QueuedMessage
from threadrunner.errors import ConversationLocked, InvalidTransition, RunActive, TooManyActiveRuns

from .world import World, store_item, stored_item


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
            entry = self.world.thread(run.thread_id)
            if not entry.active_run_id and entry.held:
                raise ConversationLocked(run.thread_id)
            raise RunActive(run.thread_id, entry.active_run_id or "")

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
        return self._create(run, vector_store_ids, messages, max_active_runs, queued)

    def _create(
        self,
        run: Run,
        vector_store_ids: list[str],
        messages: Sequence[Message],
        max_active_runs: int | None,
        queued: Sequence[QueuedMessage] = (),
    ) -> bool:
        """Create the run, taking ``queued`` out of the thread's queue; False when the thread refused it (busy,
        gone, or another caller took the queued messages)."""
        if max_active_runs is not None and len(self.world.active_runs) >= max_active_runs:
            raise TooManyActiveRuns(max_active_runs)
        entry = self.world.threads.get(run.thread_id)
        if entry is None or entry.deleting or entry.active_run_id or entry.held:
            return False
        if any(q.message.id not in entry.queue for q in queued):
            return False
        for q in queued:
            del entry.queue[q.message.id]
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
            store_item(entry, item)
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
        if not waiting or any(
            i not in calls or (calls[i].status, calls[i].side) != ("pending", "client") for i in outputs
        ):
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

    def wait_on(self, thread_id: str, run_id: str, response_id: str, task_token: str) -> bool:
        record = self.world.found_record(thread_id, run_id)
        if record is None or record.run.status != "in_progress" or record.response_id != response_id:
            return False
        record.task_token = task_token
        return True

    def take_task_token(self, thread_id: str, run_id: str, task_token: str) -> bool:
        record = self.world.found_record(thread_id, run_id)
        if record is None or record.task_token != task_token:
            return False
        record.task_token = None
        return True

    def begin_output(self, thread_id: str, run_id: str, response_id: str, objects: Sequence[Message | RunStep]) -> bool:
        record = self.world.found_record(thread_id, run_id)
        if record is None or record.run.status != "in_progress" or record.response_id != response_id:
            return False
        entry = self.world.threads[thread_id]
        if any(stored_item(entry, item) is not None for item in objects):
            return False
        for item in objects:
            store_item(entry, item, begun=True)
        return True

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        return self.world.record(thread_id, run_id).claims.setdefault(slot, candidate)

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        record = self.world.found_record(thread_id, run_id)
        counted = self.world.usage_responses.setdefault(run_id, set())
        if record is not None and response_id not in counted:  # a deleted thread's run is not brought back
            counted.add(response_id)
            record.usage += usage


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value.model_dump() if hasattr(value, "model_dump") else value for name, value in values.items()}
