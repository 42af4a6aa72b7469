"""Run steps and their tool calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threadrunner.domain.message import Message
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.domain.run_step import RunStep, RunStepStatus
from threadrunner.domain.tool_call import ToolCall
from threadrunner.errors import NotFound

from .world import ThreadEntry, World, store_item, stored_item

_STAMPS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}


class FakeSteps:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_step(self, step: RunStep, tool_calls: list[ToolCall], also: Sequence[Message | RunStep] = ()) -> None:
        self.world.record(step.thread_id, step.run_id)
        entry = self.world.threads[step.thread_id]
        if any((item.id in entry.begun) is False for item in (step, *also) if stored_item(entry, item) is not None):
            return  # a retry writes nothing twice; only what a stream began is replaced
        for item in (step, *also):
            store_item(entry, item)
        entry.calls[(step.run_id, step.id)] = [call.model_copy() for call in tool_calls]

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> RunStep:
        for step in self.list_steps(thread_id, run_id, PageRequest(limit=100, order="asc")).data:
            if step.id == step_id:
                return step
        raise NotFound("run step", step_id)

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at_ms: int) -> None:
        entry = self.world.threads.get(thread_id)
        step = entry.steps.get((run_id, step_id)) if entry else None
        if entry is None or step is None:
            raise NotFound("run step", step_id)
        stamp: dict[str, Any] = {}
        if status in _STAMPS:
            stamp[_STAMPS[status]] = at_ms // 1000
            if step.timing is not None:
                stamp["timing"] = step.timing.model_copy(update={"ended_at_ms": at_ms})
        entry.steps[(run_id, step_id)] = step.model_copy(update={"status": status, **stamp})

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]:
        self.world.record(thread_id, run_id)
        entry = self.world.threads[thread_id]
        steps = sorted((step for (run, _), step in entry.steps.items() if run == run_id), key=lambda s: s.id)
        return paginate([self._with_outputs(entry, step) for step in steps], page)

    @staticmethod
    def _with_outputs(entry: ThreadEntry, step: RunStep) -> RunStep:
        """A ``tool_calls`` step as it reads: each call with its output so far."""
        if step.step_details.type != "tool_calls":
            return step
        calls = [c.as_step_item(with_content=True) for c in entry.calls.get((step.run_id, step.id), [])]
        details = {"type": "tool_calls", "tool_calls": calls}
        return RunStep.model_validate({**step.model_dump(), "step_details": details})

    def _calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]:
        """A step's calls; none once its thread is gone, as the table's conditional writes find none."""
        entry = self.world.threads.get(thread_id)
        return entry.calls.get((run_id, step_id), []) if entry else []

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]:
        return [call.model_copy() for call in self._calls(thread_id, run_id, step_id)]

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str, at_ms: int) -> ToolCall | None:
        for call in self._calls(thread_id, run_id, step_id):
            if call.call_id == call_id and call.status == "pending":
                call.status, call.started_at_ms = "running", at_ms
                return call.model_copy()
        return None

    def ask_for_outputs(self, thread_id: str, run_id: str, step_id: str, call_ids: list[str], at_ms: int) -> None:
        for call in self._calls(thread_id, run_id, step_id):
            if call.call_id in call_ids and call.started_at_ms is None:
                call.started_at_ms = at_ms

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        for stored in self._calls(thread_id, call.run_id, call.step_id):
            if stored.call_id == call.call_id and stored.status == "running":
                stored.status, stored.output, stored.is_error = "completed", call.output, call.is_error
                stored.duration_ms, stored.execution = call.duration_ms, call.execution
                stored.completed_at_ms = call.completed_at_ms
