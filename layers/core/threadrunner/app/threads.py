"""Threads: created (alone or with a run), changed, and deleted with everything in them."""

from __future__ import annotations

from ..domain.common import now
from ..domain.deployment import RunDefaults
from ..domain.ids import new_id
from ..domain.pagination import PageRequest
from ..domain.run import Run
from ..domain.run_status import ACTIVE
from ..domain.server_tools import check_tool_choice
from ..domain.thread import Thread
from ..errors import BudgetExceeded, InvalidRequest, TooManyActiveRuns
from ..ports import IndexJobs, RunControl, Stores, ToolCatalogue
from . import projects, runs, vector_stores
from .messages import check_files, new_message
from .requests.common import given_fields
from .requests.runs import RunCreate, ThreadAndRunCreate
from .requests.threads import ThreadCreate, ThreadUpdate
from .tools import check_tools


def create_thread(stores: Stores, jobs: IndexJobs, body: ThreadCreate) -> Thread:
    """A thread with its messages; their attachments for ``file_search`` join its vector store."""
    check_files(stores, body.messages or [], "messages")
    attached = vector_stores.searched_attachments([a for m in body.messages or [] for a in m.attachments or []])
    resources = vector_stores.resolved_resources(stores, jobs, body.tool_resources)
    projects.check_resources(stores, resources)
    thread = Thread(id=new_id("thread"), created_at=now(), metadata=body.metadata or {}, tool_resources=resources)
    stores.threads.create_thread(thread, [new_message(thread.id, message) for message in body.messages or []])
    vector_stores.attach(stores, jobs, thread.id, attached)
    return stores.threads.get_thread(thread.id) if attached else thread


def update_thread(stores: Stores, jobs: IndexJobs, thread_id: str, body: ThreadUpdate) -> Thread:
    stores.threads.get_thread(thread_id)
    changes = given_fields(body)
    if "tool_resources" in changes:
        changes["tool_resources"] = vector_stores.resolved_resources(stores, jobs, body.tool_resources)
        projects.check_resources(stores, changes["tool_resources"])
    return stores.threads.update_thread(thread_id, changes)


def create_thread_and_run(
    stores: Stores,
    control: RunControl,
    catalogue: ToolCatalogue,
    jobs: IndexJobs,
    body: ThreadAndRunCreate,
    defaults: RunDefaults,
) -> tuple[Thread, Run]:
    """A new thread and its first run; nothing is written when the request would be refused."""
    if body.tools is not None:
        check_tools(catalogue, stores, body.tools)
    assistant = stores.assistants.get_assistant(body.assistant_id)
    check_tool_choice(body.tools if body.tools is not None else assistant.tools, body.tool_choice)
    projects.check_model(stores, body.model or assistant.model)
    projects.admit_run(stores, defaults)
    thread_body = body.thread or ThreadCreate()
    if body.tool_resources and not thread_body.tool_resources:
        thread_body = thread_body.model_copy(update={"tool_resources": body.tool_resources})
    thread = create_thread(stores, jobs, thread_body)
    run_body = RunCreate.model_validate(body.model_dump(exclude={"thread", "tool_resources"}, exclude_none=True))
    try:
        return thread, runs.create_run(stores, control, catalogue, jobs, thread.id, run_body, defaults)
    except (BudgetExceeded, TooManyActiveRuns):
        # Checked again as the run is made, and refused: concurrent runs took the last place or the budget's rest
        # since. The thread made for the run goes too, so a refusal (and its retries) leaves nothing.
        stores.threads.delete_thread(thread.id)
        raise


def delete_thread(stores: Stores, control: RunControl, thread_id: str) -> None:
    """Cancel the thread's active run, if any, then delete the thread and everything in it."""
    newest = stores.runs.list_runs(thread_id, PageRequest(limit=1, order="desc")).data
    if newest and newest[0].status in ACTIVE and newest[0].status != "cancelling":
        try:
            runs.cancel_run(stores, control, thread_id, newest[0].id)
        except InvalidRequest:
            pass  # it ended meanwhile
    stores.threads.delete_thread(thread_id)
