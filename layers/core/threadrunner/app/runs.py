"""Runs: built from an assistant and a request, started, answered with tool outputs, cancelled."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..domain.assistant import Assistant
from ..domain.common import LastError, now, now_ms
from ..domain.deployment import RunDefaults
from ..domain.ids import new_id
from ..domain.run import Run, TruncationStrategy
from ..domain.run_record import RunRef
from ..domain.server_tools import check_tool_choice
from ..domain.thread import Thread
from ..errors import RUN_CANCELLED, InvalidRequest, InvalidTransition
from ..ports import IndexJobs, RunControl, Stores, ToolCatalogue
from . import projects, vector_stores
from .messages import check_files, new_message
from .tools import check_tools

if TYPE_CHECKING:
    from .requests.runs import RunCreate, SubmitToolOutputsRequest


def build_run(assistant: Assistant, thread_id: str, body: RunCreate | None, model_override: str = "") -> Run:
    """A queued run: the assistant's settings, with what the request overrides (``None``: nothing, as for the
    run that answers a user's queued messages)."""

    def given(name: str) -> Any:
        return getattr(body, name) if body is not None else None

    def given_or(name: str, default: Any) -> Any:
        value = given(name)
        return default if value is None else value

    instructions = given_or("instructions", assistant.instructions or "")
    if given("additional_instructions"):
        extra = given("additional_instructions")
        instructions = f"{instructions}\n\n{extra}" if instructions else extra
    return Run(
        id=new_id("run"),
        created_at=now(),
        thread_id=thread_id,
        assistant_id=assistant.id,
        model=model_override or given("model") or assistant.model,
        instructions=instructions,
        tools=given_or("tools", assistant.tools),
        metadata=given("metadata") or {},
        temperature=given_or("temperature", assistant.temperature),
        top_p=given_or("top_p", assistant.top_p),
        max_prompt_tokens=given("max_prompt_tokens"),
        max_completion_tokens=given("max_completion_tokens"),
        truncation_strategy=given("truncation_strategy") or TruncationStrategy(),
        response_format=given_or("response_format", assistant.response_format),
        tool_choice=given_or("tool_choice", "auto"),
        parallel_tool_calls=given_or("parallel_tool_calls", True),
    )


def start_loop(stores: Stores, control: RunControl, run: Run) -> None:
    """Start the loop of a stored queued run; if it cannot start, the run fails at once."""
    try:
        control.start(RunRef(project=stores.project, thread_id=run.thread_id, run_id=run.id))
    except Exception:
        # Never leave a queued run that nothing drives: it would hold the thread for good.
        stores.runs.transition_run(
            run.thread_id,
            run.id,
            "failed",
            failed_at=now(),
            last_error=LastError(code="server_error", message="The run loop could not be started."),
        )
        raise


def vector_store_ids(stores: Stores, thread: Thread, assistant: Assistant) -> list[str]:
    """The vector stores a run of ``assistant`` on ``thread`` searches: the thread's, else the assistant's."""
    return projects.vector_store_ids(stores, thread.tool_resources, assistant.tool_resources)


def create_run(
    stores: Stores,
    control: RunControl,
    catalogue: ToolCatalogue,
    jobs: IndexJobs,
    thread_id: str,
    body: RunCreate,
    defaults: RunDefaults,
) -> Run:
    """Store a queued run built from the assistant and the request, and start its loop."""
    if body.tools is not None:
        check_tools(catalogue, stores, body.tools)
    assistant = stores.assistants.get_assistant(body.assistant_id)
    projects.check_model(stores, body.model or assistant.model)
    thread = stores.threads.get_thread(thread_id)
    active_runs = projects.admit_run(stores, defaults, thread_id=thread_id)
    check_files(stores, body.additional_messages or [], "additional_messages")
    attached = vector_stores.searched_attachments(
        [a for m in body.additional_messages or [] for a in m.attachments or []]
    )
    additional = [new_message(thread_id, extra) for extra in body.additional_messages or []]
    run = build_run(assistant, thread_id, body, defaults.model_override)
    check_tool_choice(run.tools, run.tool_choice)
    if attached:  # the files join the thread's store before the run knows its stores
        vector_stores.attach(stores, jobs, thread_id, attached)
        thread = stores.threads.get_thread(thread_id)
    stores.runs.create_run(run, vector_store_ids(stores, thread, assistant), additional, max_active_runs=active_runs)
    start_loop(stores, control, run)
    return run


def submit_tool_outputs(
    stores: Stores,
    control: RunControl,
    thread_id: str,
    run_id: str,
    body: SubmitToolOutputsRequest,
    max_output_bytes: int,
) -> Run:
    """Answer every call the run waits for, exactly once, and resume its loop.

    An output longer than ``max_output_bytes`` (the cap of server tools' outputs) is refused, not cut:
    the client can shorten it knowing what it holds.
    """
    for index, output in enumerate(body.tool_outputs):
        size = len(output.output.encode("utf-8", "surrogatepass"))
        if size > max_output_bytes:
            raise InvalidRequest(
                f"The output for {output.tool_call_id} has {size} bytes; tool outputs hold at most {max_output_bytes}.",
                param=f"tool_outputs[{index}].output",
                code="string_above_max_length",
            )
    record = stores.runs.get_run_record(thread_id, run_id)
    run = record.run
    if run.status != "requires_action" or run.required_action is None or record.waiting_step_id is None:
        raise InvalidRequest(f'Runs in status "{run.status}" do not accept tool outputs.', param="tool_outputs")
    pending = [call.id for call in run.required_action.submit_tool_outputs.tool_calls]
    given = [output.tool_call_id for output in body.tool_outputs]
    repeated = sorted(call_id for call_id, count in Counter(given).items() if count > 1)
    if repeated:
        raise InvalidRequest(f"Duplicate tool outputs for tool_call_ids {repeated}.", param="tool_outputs")
    unknown = sorted(set(given) - set(pending))
    if unknown:
        raise InvalidRequest(f"No pending tool calls with ids {unknown} in run {run_id}.", param="tool_outputs")
    if set(given) != set(pending):
        raise InvalidRequest(f"Expected tool outputs for call_ids {pending}, got {given}.", param="tool_outputs")
    try:
        stores.runs.accept_tool_outputs(
            thread_id, run_id, record.waiting_step_id, {o.tool_call_id: o.output for o in body.tool_outputs}, now_ms()
        )
    except InvalidTransition as exc:
        raise InvalidRequest(
            f"Run {run_id} is not waiting for these tool outputs (it moved on, or they were submitted).",
            param="tool_outputs",
        ) from exc
    if record.task_token is None or not control.resume(record.task_token):
        raise InvalidRequest("The run stopped waiting for tool outputs: it expired or was cancelled.")
    return stores.runs.get_run(thread_id, run_id)


def cancel_run(stores: Stores, control: RunControl, thread_id: str, run_id: str) -> Run:
    """Move the run to ``cancelling``; its loop finishes the cancel (response cancelled, thread freed)."""
    try:
        run = stores.runs.transition_run(thread_id, run_id, "cancelling")
    except InvalidTransition as exc:
        current = stores.runs.get_run(thread_id, run_id).status
        raise InvalidRequest(f"Cannot cancel run with status '{current}'.") from exc
    token = stores.runs.get_run_record(thread_id, run_id).task_token
    if token:
        # The loop sleeps on its task token: wake it with the cancel. (A loop that parks after this
        # point finds the run cancelling and wakes itself.)
        control.interrupt(token, RUN_CANCELLED, "The run was cancelled.")
    return run
