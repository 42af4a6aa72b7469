"""One task of the run loop per invocation of a Task state (statemachine/run_loop.asl.json): on the run's project,
logged, measured, and the loop's state handed back with the new turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...observability import add_metric, log_keys, logger
from .state import Done, LoopState, Metric
from .tasks import RunLoop

Task = Callable[[RunLoop, LoopState], Done]
"""A task of :class:`RunLoop` (``RunLoop.start_turn``, ...)."""


class TaskRunner:
    """Runs the loop's tasks, each on a :class:`RunLoop` of the run's project (``loop_for(project)``)."""

    def __init__(self, loop_for: Callable[[str], RunLoop]) -> None:
        self._loop_for = loop_for

    def run(self, task: Task, event: dict[str, Any]) -> dict[str, Any]:
        """The task on the loop's state (a Task state's input; a waiting state's has the state and its task token)."""
        if "state" in event and "task_token" in event:
            event = {**event["state"], "task_token": event["task_token"]}
        return self._run(task, LoopState.model_validate(event))

    def reconcile(self, event: dict[str, Any]) -> dict[str, Any]:
        """A Step Functions execution status change (FAILED, TIMED_OUT, ABORTED) of the run loop: its run ended."""
        state = LoopState.after_execution_ended(event["detail"])
        return self._run(RunLoop.reconcile, state, Metric("RunsReconciled", "Count", 1))

    def _run(self, task: Task, state: LoopState, *measured: Metric) -> dict[str, Any]:
        """Log, publish what the task measured, return the state with the new turn."""
        log_keys(project=state.project, thread_id=state.thread_id, run_id=state.run_id)
        turn, metrics = task(self._loop_for(state.project), state)
        logger.info(
            "run loop task", extra={"task": task.__name__, "outcome": turn.outcome, "response_id": turn.response_id}
        )
        for name, unit, value in (*measured, *metrics):
            add_metric(name, unit, value)
        return state.after(turn)
