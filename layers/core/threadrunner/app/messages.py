"""Messages a caller writes into a thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.common import now
from ..domain.ids import new_id
from ..domain.message import (
    Attachment,
    ImageFileContentBlock,
    ImageURLContentBlock,
    Message,
    MessageContent,
    text_content,
)
from ..ports import IndexJobs, Stores
from . import vector_stores

if TYPE_CHECKING:
    from .requests import MessageCreate


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


def add_message(stores: Stores, jobs: IndexJobs, thread_id: str, body: MessageCreate) -> Message:
    """A message; its attachments for ``file_search`` join the thread's vector store."""
    attached = vector_stores.searched_attachments(body.attachments or [])
    vector_stores.check_attachments(stores, attached)
    message = new_message(thread_id, body)
    stores.threads.add_message(message)
    vector_stores.attach(stores, jobs, thread_id, attached)
    return message
