"""Messages a caller writes into a thread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..domain.common import now
from ..domain.ids import new_id
from ..domain.message import (
    MAX_MESSAGE_FILES,
    Attachment,
    ImageFileContentBlock,
    ImageURLContentBlock,
    Message,
    MessageContent,
    text_content,
)
from ..errors import InvalidRequest, NotFound
from ..ports import IndexJobs, Stores
from . import vector_stores

if TYPE_CHECKING:
    from .requests.messages import MessageCreate


def new_message(thread_id: str, body: MessageCreate) -> Message:
    """The message a request describes, with a new id, in ``thread_id``."""
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


def check_files(stores: Stores, messages: Sequence[MessageCreate], param: str | None = None) -> None:
    """Every file the messages name (their attachments', their ``image_file`` parts') is the project's, else 400
    naming where (``param`` names the list the messages are in)."""
    for number, message in enumerate(messages):
        named = [(f"attachments[{i}].file_id", a.file_id) for i, a in enumerate(message.attachments or [])]
        if not isinstance(message.content, str):
            named += [
                (f"content[{i}].image_file.file_id", part.model_dump()["image_file"]["file_id"])
                for i, part in enumerate(message.content)
                if part.type == "image_file"
            ]
        prefix = f"{param}[{number}]." if param else ""
        first: dict[str, str] = {}  # each file looked up once, where it is first named
        for where, file_id in named:
            first.setdefault(file_id, where)
        if len(first) > MAX_MESSAGE_FILES:
            raise InvalidRequest(f"A message may name at most {MAX_MESSAGE_FILES} files.", param=prefix + "attachments")
        for file_id, where in first.items():
            try:
                stores.files.get_file(file_id)
            except NotFound as exc:
                raise InvalidRequest(f"No file found with id '{file_id}'.", param=prefix + where) from exc


def add_message(stores: Stores, jobs: IndexJobs, thread_id: str, body: MessageCreate) -> Message:
    """A message; its attachments for ``file_search`` join the thread's vector store."""
    check_files(stores, [body])
    attached = vector_stores.searched_attachments(body.attachments or [])
    message = new_message(thread_id, body)
    stores.threads.add_message(message)
    vector_stores.attach(stores, jobs, thread_id, attached)
    return message
