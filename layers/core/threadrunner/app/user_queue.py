"""The queue of a user's thread: messages that arrived while the thread was busy, and the run that
answers them (:mod:`threadrunner.app.users` explains the whole).

Apart from the users' use cases, so that the run loop, which drains the queue as a run ends, loads no request model.
"""

from __future__ import annotations

from ..domain.common import now
from ..domain.deployment import RunDefaults
from ..domain.ids import new_id
from ..domain.run import Run
from ..errors import NotFound
from ..observability import logger
from ..ports import RunControl, Stores
from . import projects, runs

MAX_MESSAGES_PER_RUN = 20
"""The most queued messages one follow-up run takes; more wait for the run after it."""


def drain(stores: Stores, control: RunControl, thread_id: str, defaults: RunDefaults) -> tuple[Run, list[str]] | None:
    """Start a run for the oldest queued messages of an idle thread; ``None`` if none or the thread is busy."""
    queued = stores.users.queued(thread_id, MAX_MESSAGES_PER_RUN)
    if not queued or stores.threads.active_run_id(thread_id):
        return None
    assistant = None
    for entry in reversed(queued):  # the assistant of the latest message that still exists answers
        try:
            assistant = stores.assistants.get_assistant(entry.assistant_id)
            break
        except NotFound:
            continue
    if assistant is None:
        logger.error("queued messages wait: none of their assistants exists", extra={"thread_id": thread_id})
        return None
    thread = stores.threads.get_thread(thread_id)
    run = runs.build_run(assistant, thread_id, None, defaults.model_override)
    at = now()
    # A message joins the thread now, after the reply it waited for: new ids keep the thread in order.
    landed = [
        entry.message.model_copy(update={"id": new_id("msg"), "created_at": at, "completed_at": at}) for entry in queued
    ]
    active_runs = projects.limits_of(stores.projects.get_policy(), defaults).active_runs
    vector_stores = runs.vector_store_ids(stores, thread, assistant)
    if not stores.runs.start_queued_run(run, queued, landed, vector_stores, active_runs):
        return None
    runs.start_loop(stores, control, run)
    return run, [entry.message.id for entry in queued]
