"""What the API does with a request, on the ports: build the objects, store them, start runs."""

from __future__ import annotations

from .api.requests import AssistantCreate, MessageCreate, RunCreate, ThreadCreate
from .domain.assistant import Assistant
from .domain.common import LastError, now
from .domain.ids import new_id
from .domain.message import (
    Attachment,
    ImageFileContentBlock,
    ImageURLContentBlock,
    Message,
    MessageContent,
    Text,
    TextContentBlock,
)
from .domain.run import Run, TruncationStrategy
from .domain.run_record import RunRef
from .domain.thread import Thread
from .errors import InvalidRequest
from .ports import RunLauncher, Store


def create_assistant(store: Store, body: AssistantCreate) -> Assistant:
    assistant = Assistant(
        id=new_id("asst"),
        created_at=now(),
        **body.model_dump(exclude_none=True, exclude={"reasoning_effort"}),
    )
    store.put_assistant(assistant)
    return assistant


def _message(thread_id: str, body: MessageCreate) -> Message:
    content: list[MessageContent]
    if isinstance(body.content, str):
        content = [TextContentBlock(text=Text(value=body.content))]
    else:
        content = []
        for part in body.content:
            if part.type == "text":
                content.append(TextContentBlock(text=Text(value=part.text)))
            elif part.type == "image_file":
                content.append(ImageFileContentBlock(image_file=part.image_file))
            else:
                content.append(ImageURLContentBlock(image_url=part.image_url))
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
    thread = Thread(
        id=new_id("thread"), created_at=now(), metadata=body.metadata or {}, tool_resources=body.tool_resources
    )
    store.create_thread(thread, [_message(thread.id, message) for message in body.messages or []])
    return thread


def add_message(store: Store, thread_id: str, body: MessageCreate) -> Message:
    message = _message(thread_id, body)
    store.add_message(message)
    return message


def create_run(store: Store, launcher: RunLauncher, thread_id: str, body: RunCreate, model_override: str = "") -> Run:
    """Store a queued run built from the assistant and the request, and start its loop."""
    if body.stream:
        raise InvalidRequest(
            "Streaming is not supported yet: create the run without stream=true and poll it.",
            param="stream",
            code="unsupported_parameter",
        )
    assistant = store.get_assistant(body.assistant_id)
    store.get_thread(thread_id)
    for extra in body.additional_messages or []:
        store.add_message(_message(thread_id, extra))
    instructions = body.instructions if body.instructions is not None else (assistant.instructions or "")
    if body.additional_instructions:
        instructions = (
            f"{instructions}\n\n{body.additional_instructions}" if instructions else body.additional_instructions
        )
    run = Run(
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
    store.create_run(run)
    try:
        launcher.launch(RunRef(project=store.project, thread_id=thread_id, run_id=run.id))
    except Exception:
        # Never leave a queued run that nothing drives: it would hold the thread for good.
        store.transition_run(
            thread_id,
            run.id,
            "failed",
            failed_at=now(),
            last_error=LastError(code="server_error", message="The run loop could not be started."),
        )
        raise
    return run
