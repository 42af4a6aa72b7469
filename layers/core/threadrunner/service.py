"""What the API does with a request, on the ports: build the objects, store them, drive the loop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .api.requests import (
    AssistantCreate,
    AssistantUpdate,
    MessageCreate,
    RunCreate,
    SubmitToolOutputsRequest,
    ThreadAndRunCreate,
    ThreadCreate,
    ThreadUpdate,
)
from .domain import server_tools
from .domain.assistant import Assistant
from .domain.budget import Budget, ProjectLimits, ProjectPolicy, over_budget, today
from .domain.common import AssistantTool, LastError, now
from .domain.ids import new_id
from .domain.message import (
    Attachment,
    ImageFileContentBlock,
    ImageURLContentBlock,
    Message,
    MessageContent,
    text_content,
)
from .domain.pagination import PageRequest
from .domain.run import Run, TruncationStrategy
from .domain.run_record import RunRef
from .domain.run_status import ACTIVE
from .domain.thread import Thread
from .errors import RUN_CANCELLED, BudgetExceeded, InvalidRequest, InvalidTransition
from .ports import RunLoopControl, Store, ToolCatalogue

_NO_STREAMING = "Streaming is not supported yet: call without stream=true and poll the run."


def given_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a request sets: ``null`` counts as not given, as SDKs send it."""
    return body.model_dump(exclude_unset=True, exclude_none=True)


def check_tools(catalogue: ToolCatalogue, tools: Sequence[AssistantTool]) -> None:
    """Refuse unknown server tools and clashing function names; the catalogue is asked only when server tools
    are declared."""
    server_tools.check_tools(tools, catalogue.server_tools() if server_tools.server_tool_names(tools) else {})


def check_model(store: Store, model: str) -> None:
    """Refuse a model the project's operator did not allow (``scripts/keys.py models``)."""
    allowed = store.get_policy().models
    if allowed is not None and model not in allowed:
        raise InvalidRequest(
            f"The model '{model}' is not allowed for this project; allowed: {', '.join(sorted(allowed))}.",
            param="model",
            code="model_not_allowed",
        )


def create_assistant(store: Store, catalogue: ToolCatalogue, body: AssistantCreate) -> Assistant:
    assistant = Assistant(id=new_id("asst"), created_at=now(), **given_fields(body))
    check_model(store, assistant.model)
    check_tools(catalogue, assistant.tools)
    check_vector_stores(store, assistant.tool_resources)
    store.put_assistant(assistant)
    return assistant


def update_assistant(store: Store, catalogue: ToolCatalogue, assistant_id: str, body: AssistantUpdate) -> Assistant:
    if body.model is not None:
        check_model(store, body.model)
    if body.tools is not None:
        check_tools(catalogue, body.tools)
    check_vector_stores(store, body.tool_resources)
    return store.update_assistant(assistant_id, given_fields(body))


def new_message(thread_id: str, body: MessageCreate) -> Message:
    content: list[MessageContent]
    if isinstance(body.content, str):
        content = text_content(body.content)
    else:
        content = []
        for part in body.content:
            if part.type == "text":
                content += text_content(part.text)
            elif part.type == "image_file":
                content.append(ImageFileContentBlock.model_validate(part.model_dump()))
            else:
                content.append(ImageURLContentBlock.model_validate(part.model_dump()))
    at = now()
    return Message(
        id=new_id("msg"),
        created_at=at,
        completed_at=at,
        thread_id=thread_id,
        role=body.role,
        content=content,
        attachments=[Attachment(**a.model_dump()) for a in body.attachments] if body.attachments else [],
        metadata=body.metadata or {},
    )


def create_thread(store: Store, body: ThreadCreate) -> Thread:
    check_vector_stores(store, body.tool_resources)
    thread = Thread(
        id=new_id("thread"), created_at=now(), metadata=body.metadata or {}, tool_resources=body.tool_resources
    )
    store.create_thread(thread, [new_message(thread.id, message) for message in body.messages or []])
    return thread


def update_thread(store: Store, thread_id: str, body: ThreadUpdate) -> Thread:
    check_vector_stores(store, body.tool_resources)
    return store.update_thread(thread_id, given_fields(body))


def add_message(store: Store, thread_id: str, body: MessageCreate) -> Message:
    message = new_message(thread_id, body)
    store.add_message(message)
    return message


@dataclass(frozen=True)
class RunDefaults:
    """What the deployment decides for every new run."""

    model_override: str = ""
    """A model every run uses instead of the assistant's (``MODEL_OVERRIDE``)."""
    budget: Budget = field(default_factory=Budget)
    """Daily token budgets for projects without their own (``DAILY_TOKEN_BUDGET*``)."""
    limits: ProjectLimits = field(default_factory=ProjectLimits)
    """Limits of projects that have none of their own (``PROJECT_MAX_ACTIVE_RUNS``, ``PROJECT_REQUESTS_PER_MINUTE``)."""


def budget_of(store: Store, defaults: RunDefaults) -> Budget:
    """The project's daily budgets: its own, else the deployment's defaults."""
    return store.get_policy().budget or defaults.budget


def limits_of(policy: ProjectPolicy, defaults: RunDefaults) -> ProjectLimits:
    """The project's limits: each its own where set, else the deployment's."""
    own = policy.limits.model_dump(exclude_none=True)
    return ProjectLimits.model_validate({**defaults.limits.model_dump(exclude_none=True), **own})


def check_budget(store: Store, defaults: RunDefaults, user_id: str | None = None) -> None:
    """Refuse to start a run when the project's (or the user's) committed tokens of today reach its budget."""
    budget = budget_of(store, defaults)
    if budget.daily_tokens is None and budget.daily_tokens_per_user is None:
        return
    day = today()
    user_today = store.usage_today(day, user_id) if user_id else None
    problem = over_budget(budget, store.usage_today(day), user_today)
    if problem:
        raise BudgetExceeded(problem, code="daily_budget_exceeded")


def build_run(assistant: Assistant, thread_id: str, body: RunCreate, model_override: str = "") -> Run:
    """A queued run: the assistant's settings, with what the request overrides."""
    instructions = body.instructions if body.instructions is not None else (assistant.instructions or "")
    if body.additional_instructions:
        instructions = (
            f"{instructions}\n\n{body.additional_instructions}" if instructions else body.additional_instructions
        )
    return Run(
        id=new_id("run"),
        created_at=now(),
        thread_id=thread_id,
        assistant_id=assistant.id,
        model=model_override or body.model or assistant.model,
        instructions=instructions,
        tools=body.tools if body.tools is not None else assistant.tools,
        metadata=body.metadata or {},
        temperature=body.temperature if body.temperature is not None else assistant.temperature,
        top_p=body.top_p if body.top_p is not None else assistant.top_p,
        max_prompt_tokens=body.max_prompt_tokens,
        max_completion_tokens=body.max_completion_tokens,
        truncation_strategy=body.truncation_strategy or TruncationStrategy(),
        response_format=body.response_format if body.response_format is not None else assistant.response_format,
        tool_choice=body.tool_choice if body.tool_choice is not None else "auto",
        parallel_tool_calls=body.parallel_tool_calls if body.parallel_tool_calls is not None else True,
    )


def start_loop(store: Store, control: RunLoopControl, run: Run) -> None:
    """Start the loop of a stored queued run; if it cannot start, the run fails at once."""
    try:
        control.start(RunRef(project=store.project, thread_id=run.thread_id, run_id=run.id))
    except Exception:
        # Never leave a queued run that nothing drives: it would hold the thread for good.
        store.transition_run(
            run.thread_id,
            run.id,
            "failed",
            failed_at=now(),
            last_error=LastError(code="server_error", message="The run loop could not be started."),
        )
        raise


def _vector_store_ids_of(tool_resources: Any) -> list[str]:
    return list(((tool_resources or {}).get("file_search") or {}).get("vector_store_ids") or [])


def check_vector_stores(store: Store, tool_resources: Any) -> None:
    """Refuse vector stores the project does not own: the provider searches them with the deployment's key."""
    ids = _vector_store_ids_of(tool_resources)
    unknown = [vector_store_id for vector_store_id in ids if vector_store_id not in store.owned_vector_stores(ids)]
    if unknown:
        raise InvalidRequest(
            f"No vector store found with id '{unknown[0]}'.", param="tool_resources.file_search.vector_store_ids"
        )


def vector_store_ids(store: Store, thread: Thread, assistant: Assistant) -> list[str]:
    """The vector stores of ``file_search``: the thread's tool resources first, then the assistant's; only ones the
    project still owns reach the provider."""
    for resource in (thread.tool_resources, assistant.tool_resources):
        ids = _vector_store_ids_of(resource)
        if ids:
            owned = store.owned_vector_stores(ids)
            return [vector_store_id for vector_store_id in ids if vector_store_id in owned]
    return []


def create_run(
    store: Store,
    control: RunLoopControl,
    catalogue: ToolCatalogue,
    thread_id: str,
    body: RunCreate,
    defaults: RunDefaults,
) -> Run:
    """Store a queued run built from the assistant and the request, and start its loop."""
    if body.stream:
        raise InvalidRequest(_NO_STREAMING, param="stream", code="unsupported_parameter")
    if body.tools is not None:
        check_tools(catalogue, body.tools)
    assistant = store.get_assistant(body.assistant_id)
    check_model(store, body.model or assistant.model)
    thread = store.get_thread(thread_id)
    check_budget(store, defaults, store.thread_user(thread_id))
    additional = [new_message(thread_id, extra) for extra in body.additional_messages or []]
    run = build_run(assistant, thread_id, body, defaults.model_override)
    active_runs = limits_of(store.get_policy(), defaults).active_runs
    store.create_run(run, vector_store_ids(store, thread, assistant), additional, max_active_runs=active_runs)
    start_loop(store, control, run)
    return run


def create_thread_and_run(
    store: Store, control: RunLoopControl, catalogue: ToolCatalogue, body: ThreadAndRunCreate, defaults: RunDefaults
) -> Run:
    if body.stream:
        raise InvalidRequest(_NO_STREAMING, param="stream", code="unsupported_parameter")
    if body.tools is not None:
        check_tools(catalogue, body.tools)  # before anything is written
    assistant = store.get_assistant(body.assistant_id)
    check_model(store, body.model or assistant.model)
    check_budget(store, defaults)
    thread_body = body.thread or ThreadCreate()
    if body.tool_resources and not thread_body.tool_resources:
        thread_body = thread_body.model_copy(update={"tool_resources": body.tool_resources})
    thread = create_thread(store, thread_body)
    run_body = RunCreate.model_validate(body.model_dump(exclude={"thread", "tool_resources"}, exclude_none=True))
    return create_run(store, control, catalogue, thread.id, run_body, defaults)


def submit_tool_outputs(
    store: Store,
    control: RunLoopControl,
    thread_id: str,
    run_id: str,
    body: SubmitToolOutputsRequest,
    max_output_bytes: int,
) -> Run:
    """Answer every call the run waits for, exactly once, and resume its loop.

    An output longer than ``max_output_bytes`` (the cap of server tools' outputs) is refused, not cut:
    the client can shorten it knowing what it holds.
    """
    if body.stream:
        raise InvalidRequest(_NO_STREAMING, param="stream", code="unsupported_parameter")
    for index, output in enumerate(body.tool_outputs):
        size = len(output.output.encode("utf-8", "surrogatepass"))
        if size > max_output_bytes:
            raise InvalidRequest(
                f"The output for {output.tool_call_id} has {size} bytes; tool outputs hold at most {max_output_bytes}.",
                param=f"tool_outputs[{index}].output",
                code="string_above_max_length",
            )
    record = store.get_run_record(thread_id, run_id)
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
        store.accept_tool_outputs(
            thread_id, run_id, record.waiting_step_id, {o.tool_call_id: o.output for o in body.tool_outputs}
        )
    except InvalidTransition as exc:
        raise InvalidRequest(exc.message, param="tool_outputs") from exc
    if record.task_token is None or not control.resume(record.task_token):
        raise InvalidRequest("The run stopped waiting for tool outputs: it expired or was cancelled.")
    return store.get_run(thread_id, run_id)


def cancel_run(store: Store, control: RunLoopControl, thread_id: str, run_id: str) -> Run:
    """Move the run to ``cancelling``; its loop finishes the cancel (response cancelled, thread freed)."""
    try:
        run = store.transition_run(thread_id, run_id, "cancelling")
    except InvalidTransition as exc:
        current = store.get_run(thread_id, run_id).status
        raise InvalidRequest(f"Cannot cancel run with status '{current}'.") from exc
    token = store.get_run_record(thread_id, run_id).task_token
    if token:
        # The loop sleeps on its task token: wake it with the cancel. (A loop that parks after this
        # point finds the run cancelling and wakes itself.)
        control.interrupt(token, RUN_CANCELLED, "The run was cancelled.")
    return run


def delete_thread(store: Store, control: RunLoopControl, thread_id: str) -> None:
    """Cancel the thread's active run, if any, then delete the thread and everything in it."""
    newest = store.list_runs(thread_id, PageRequest(limit=1, order="desc")).data
    if newest and newest[0].status in ACTIVE and newest[0].status != "cancelling":
        try:
            cancel_run(store, control, thread_id, newest[0].id)
        except InvalidRequest:
            pass  # it ended meanwhile
    store.delete_thread(thread_id)
