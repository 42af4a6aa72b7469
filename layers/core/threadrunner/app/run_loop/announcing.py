"""AnnounceRun's work, which every ending of a run passes: the thread's queued messages get their run, the run's
event goes to EventBridge once, and the run's metrics are measured once."""

from __future__ import annotations

from ...domain.common import now
from ...domain.deployment import RunDefaults
from ...domain.run_event import run_event
from ...domain.run_record import RunRecord
from ...ports import EventPublisher, RunControl, Stores
from .. import user_queue
from . import written
from .state import Done, LoopState, Metric, TurnState


def announce(
    stores: Stores, control: RunControl, events: EventPublisher, defaults: RunDefaults, state: LoopState
) -> Done:
    """Start a run for messages queued meanwhile, then put the ended run's event on EventBridge."""
    record = stores.runs.get_run_record(state.thread_id, state.run_id)
    run = record.run
    if not run.is_terminal:
        return Done(TurnState(outcome="stopped"))
    user_id = stores.threads.thread_user(state.thread_id)
    # Once per run, for the thread's usage and the run's metrics.
    measured = run_metrics(record) if stores.usage.count_thread_usage(run) else ()
    # Messages queued meanwhile get their run first: an event EventBridge refuses must not stall them.
    user_queue.drain(stores, control, state.thread_id, defaults)
    if "announced" not in record.claims:  # a retried task does not announce twice
        messages = stores.threads.list_messages(state.thread_id, written.ALL, run_id=state.run_id).data
        reply = messages[-1] if messages else None  # the last turn's answer
        events.publish(run_event(state.project, run, user_id, reply))
        stores.runs.claim_id(state.thread_id, state.run_id, "announced", "yes")
    return Done(TurnState(outcome="failed" if run.status == "failed" else "stopped"), measured)


def run_metrics(record: RunRecord) -> tuple[Metric, ...]:
    """The metrics of an ended run: its outcome, duration, model turns and tokens."""
    run = record.run
    ended = run.completed_at or run.failed_at or run.cancelled_at or now()
    usage = run.usage or record.usage
    return (
        Metric(f"Runs{run.status.title()}", "Count", 1),
        Metric("RunLatency", "Milliseconds", (ended - run.created_at) * 1000),
        Metric("ModelTurns", "Count", record.tool_rounds + 1),
        Metric("PromptTokens", "Count", usage.prompt_tokens),
        Metric("CompletionTokens", "Count", usage.completion_tokens),
    )
