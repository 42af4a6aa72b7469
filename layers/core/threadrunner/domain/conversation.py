"""The Conversations API's objects: a conversation, its items, and how a thread reads as one.

An item is stored as the client or the provider gave it (its type's fields, checked where threadrunner reads
them), under an id of threadrunner's whose part after the prefix sorts by creation time, like every id here:
that part is the item's place in its conversation. Items the provider wrote keep the provider's id beside it,
sent back with them so the provider recognises its own items (a reasoning item, say); the rest go without one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import InvalidRequest
from .budget import estimate_tokens
from .common import Metadata, WireModel
from .ids import new_id
from .message import ImageFileContentBlock, ImageURLContentBlock, Message, TextContentBlock
from .pagination import Page, PageRequest
from .tool_call import ToolCall

MAX_ITEMS_PER_REQUEST = 20
"""Items one request adds to a conversation (the spec's ``maxItems``)."""

_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
"""The id prefix of each type of item; others are ``item_...``."""
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
CALLS = ("function_call", "custom_tool_call")
"""Item types a client answers with an output item naming its ``call_id``."""
OUTPUTS = ("function_call_output", "custom_tool_call_output")
_TEXT_PARTS = ("input_text", "output_text")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Conversation(WireModel):
    id: str
    """The identifier, ``conv_...`` (or a thread's id, for a thread read as a conversation)."""
    object: Literal["conversation"] = "conversation"
    created_at: int
    """Unix seconds when the conversation was created."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""


class Item(BaseModel):
    """One item of a conversation."""

    id: str
    """threadrunner's id of the item: ``msg_...``, ``fc_...``, ``fco_...``, ``rs_...``, ``item_...``."""
    data: dict[str, Any]
    """The item's fields as the API shows them, but its id: ``type`` and the type's own."""
    provider_id: str | None = None
    """The id the provider gave an item it wrote, sent back with it."""

    @property
    def type(self) -> str:
        return str(self.data.get("type"))

    def wire(self) -> dict[str, Any]:
        """The item as the API answers it."""
        return {"id": self.id, **self.data}

    def for_provider(self) -> dict[str, Any]:
        """The item as a response's input sends it: the provider's own id, or none; and without the parts that
        name threadrunner's files (a thread's ``image_file``), which the provider would look for in its account."""
        data = self.data
        if self.type == "message" and isinstance(data.get("content"), list):
            kept = [part for part in data["content"] if not (isinstance(part, dict) and "file_id" in part)]
            data = data | {"content": kept}
        return data | ({"id": self.provider_id} if self.provider_id else {})


def position(item_id: str) -> str:
    """Where an item sorts in its conversation: its id after the prefix (ids sort by creation time)."""
    return item_id.split("_", 1)[1] if "_" in item_id else item_id


def is_thread(conversation_id: str) -> bool:
    """Whether a conversation id names a thread, read and continued as a conversation."""
    return conversation_id.startswith("thread_")


def new_item_id(item_type: str) -> str:
    return new_id(_PREFIXES.get(item_type, "item"))


def input_items(raw: Any, where: str) -> list[Item]:
    """A response's ``input`` (a string or items) as the items it adds to a conversation, each given its id."""
    if isinstance(raw, str):
        return [Item(id=new_item_id("message"), data=_message("user", raw))]
    if not isinstance(raw, list):
        raise InvalidRequest(f"'{where}' must be a string or an array of items.", param=where)
    return [client_item(item, f"{where}[{index}]") for index, item in enumerate(raw)]


def client_item(raw: Any, where: str) -> Item:
    """An item a client adds, checked where threadrunner reads it, with an id of its own.

    A message's content given as a string becomes one text part (``input_text``, ``output_text`` for an
    assistant's); a reasoning item, and every type threadrunner does not read, is kept as given (with the id the
    client gave it, for the provider).
    """
    if not isinstance(raw, dict):
        raise InvalidRequest(f"'{where}' must be an object: an item.", param=where)
    data = {key: value for key, value in raw.items() if key != "id"}
    kind = data.setdefault("type", "message" if "role" in data else None)
    if not isinstance(kind, str) or not kind:
        raise InvalidRequest(f"'{where}.type' is required: the item's type.", param=f"{where}.type")
    if kind == "item_reference":
        raise InvalidRequest(
            "An item reference names an item stored at the provider; send the item itself.", param=where
        )
    if kind == "message":
        data = _checked_message(data, where)
    elif kind in CALLS:
        _require_strings(data, where, "call_id", "name", "arguments" if kind == "function_call" else "input")
        data.setdefault("status", "completed")
    elif kind in OUTPUTS:
        _require_strings(data, where, "call_id")
        if not isinstance(data.get("output"), str | list):
            raise InvalidRequest(f"'{where}.output' must be a string or an array of parts.", param=f"{where}.output")
        data.setdefault("status", "completed")
    elif kind == "reasoning":
        data.setdefault("summary", [])
    given = raw.get("id")
    kept = given if kind not in ("message", *CALLS, *OUTPUTS) and isinstance(given, str) else None
    return Item(id=new_item_id(kind), data=data, provider_id=kept)


def provider_item(raw: dict[str, Any]) -> Item:
    """An item of a response's output, kept as the provider wrote it, under an id of threadrunner's."""
    data = {key: value for key, value in raw.items() if key != "id"}
    given = raw.get("id")
    return Item(id=new_item_id(str(data.get("type"))), data=data, provider_id=given if isinstance(given, str) else None)


def _require_strings(data: dict[str, Any], where: str, *names: str) -> None:
    for name in names:
        if not isinstance(data.get(name), str):
            raise InvalidRequest(f"'{where}.{name}' is required: a string.", param=f"{where}.{name}")


def _checked_message(data: dict[str, Any], where: str) -> dict[str, Any]:
    role = data.get("role")
    if role not in MESSAGE_ROLES:
        raise InvalidRequest(
            f"'{where}.role' must be one of {', '.join(MESSAGE_ROLES)}.", param=f"{where}.role", code="invalid_value"
        )
    content = data.get("content")
    if isinstance(content, str):
        return data | _message(role, content)
    if not isinstance(content, list):
        raise InvalidRequest(f"'{where}.content' must be a string or an array of parts.", param=f"{where}.content")
    parts = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidRequest(f"'{at}' must be an object with a 'type'.", param=at)
        if part["type"] in _TEXT_PARTS and not isinstance(part.get("text"), str):
            raise InvalidRequest(f"'{at}.text' is required: a string.", param=f"{at}.text")
        parts.append(part | {"annotations": part.get("annotations") or []} if part["type"] == "output_text" else part)
    return data | {"content": parts, "status": data.get("status") or "completed"}


def _message(role: str, text: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []} if role == "assistant" else {"type": "input_text"}
    return {"type": "message", "role": role, "content": [part | {"text": text}], "status": "completed"}


def text_of(item: Item) -> str:
    """What the model reads of an item, to count its tokens: the item itself, as JSON."""
    return json.dumps(item.data, separators=(",", ":"))


CONTEXT_EXCEEDED = "Your input exceeds the context window of this model. Please adjust your input and try again."


def fitted(newest_first: Iterable[Item], room: int, truncate: bool) -> list[Item]:
    """The items of a conversation the provider reads, oldest first: all that fit ``room`` tokens.

    With ``truncate`` (``truncation: "auto"``) the oldest that do not fit are left out, and with them an output
    whose call was left out (the provider refuses an output without its call); without it, a conversation that does
    not fit is refused, as OpenAI refuses it. Items are read newest first and only as far as they fit.

    Raises
    ------
    InvalidRequest
        ``context_length_exceeded`` when the conversation does not fit and may not be cut.
    """
    if room < 0:
        raise InvalidRequest(CONTEXT_EXCEEDED, param="input", code="context_length_exceeded")
    kept: list[Item] = []
    for item in newest_first:
        room -= estimate_tokens(text_of(item))
        if room < 0:
            if not truncate:
                raise InvalidRequest(CONTEXT_EXCEEDED, param="input", code="context_length_exceeded")
            called = {kept_item.data.get("call_id") for kept_item in kept if kept_item.type in CALLS}
            while kept and kept[-1].type in OUTPUTS and kept[-1].data.get("call_id") not in called:
                kept.pop()
            break
        kept.append(item)
    kept.reverse()
    return kept


def page_of(items: Sequence[Item], page: PageRequest) -> Page[Item]:
    """One page of a conversation's items, in list order; ``after`` and ``before`` are item ids."""
    ascending = page.order == "asc"
    ordered = sorted(items, key=lambda item: position(item.id), reverse=not ascending)

    def beyond(item: Item, cursor: str) -> bool:
        return position(item.id) > cursor if ascending else position(item.id) < cursor

    if page.after is not None:
        ordered = [item for item in ordered if beyond(item, position(page.after))]
    if page.before is not None:
        before = position(page.before)
        ordered = [item for item in ordered if not beyond(item, before) and position(item.id) != before]
        if page.after is None:  # only `before`: the page ends right at the cursor
            return Page(data=ordered[-page.limit :], has_more=len(ordered) > page.limit)
    return Page(data=ordered[: page.limit], has_more=len(ordered) > page.limit)


def checked_item_id(item_id: str) -> bool:
    """Whether ``item_id`` can name an item (ids are letters, digits, ``_`` and ``-``)."""
    return _ID.fullmatch(item_id) is not None


# A thread read as a conversation -----------------------------------------------------------------------------


def message_item(message: Message) -> Item:
    """A thread's message as a conversation item: its text and images as parts (the citations of the Assistants
    API have no place in a Responses message and are left out)."""
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextContentBlock):
            text = part.text.value
            parts.append(
                {"type": "output_text", "text": text, "annotations": []}
                if message.role == "assistant"
                else {"type": "input_text", "text": text}
            )
        elif isinstance(part, ImageURLContentBlock):
            parts.append({"type": "input_image", "image_url": part.image_url.url, "detail": part.image_url.detail})
        elif isinstance(part, ImageFileContentBlock):
            parts.append({"type": "input_image", "file_id": part.image_file.file_id, "detail": part.image_file.detail})
    status = "incomplete" if message.status == "incomplete" else "completed"
    return Item(id=message.id, data={"type": "message", "role": message.role, "content": parts, "status": status})


def as_message(item: Item, thread_id: str, created_at: int) -> Message | None:
    """A conversation item as a thread's message, when the Assistants API can show it as one: a user's or an
    assistant's message of text (and, a user's, of images by URL); ``None`` for every other item."""
    data = item.data
    if item.type != "message" or data.get("role") not in ("user", "assistant"):
        return None
    content: list[dict[str, Any]] = []
    for part in data.get("content") or []:
        if part.get("type") in _TEXT_PARTS:
            content.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
        elif part.get("type") == "input_image" and data["role"] == "user" and _image_url(part.get("image_url")):
            content.append({"type": "image_url", "image_url": {"url": part["image_url"], "detail": _detail(part)}})
        else:
            return None
    values = {"id": item.id, "created_at": created_at, "thread_id": thread_id, "role": data["role"]}
    return Message.model_validate(values | {"content": content})


def _image_url(url: Any) -> bool:
    return isinstance(url, str) and (url.startswith(("https://", "http://", "data:image/")))


def _detail(part: dict[str, Any]) -> str:
    detail = part.get("detail")
    return detail if detail in ("auto", "low", "high") else "auto"


def call_items(call: ToolCall, index: int) -> list[Item]:
    """A run's tool call (the ``index``-th of its step) as conversation items: the call, and its output once it
    has one. They sort where the call's step does (their ids hold the step's and the run's ids, so each can be read
    again), the calls before the outputs."""
    where = f"{position(call.step_id)}-{position(call.run_id)}"
    made = Item(
        id=f"fc_{where}-c{index:03d}",
        data={
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
            "status": "completed",
        },
    )
    if call.status != "completed" or call.output is None:
        return [made]
    answered = Item(
        id=f"fco_{where}-o{index:03d}",
        data={"type": "function_call_output", "call_id": call.call_id, "output": call.output, "status": "completed"},
    )
    return [made, answered]


def call_of(item_id: str) -> tuple[str, str, int] | None:
    """The run, step and position of the tool call a thread's ``fc_``/``fco_`` item shows; ``None`` for others."""
    match = re.fullmatch(r"fco?_([0-9A-Za-z]{22})-([0-9A-Za-z]{22})-[co](\d{3})", item_id)
    if match is None:
        return None
    return f"run_{match.group(2)}", f"step_{match.group(1)}", int(match.group(3))


class Hold(BaseModel):
    """A response's hold on its conversation while the provider answers it: no other response, and no item,
    joins the conversation meanwhile, so two turns never interleave."""

    id: str
    """The hold's id: only the response that took it appends under it and lets it go."""
    until: int
    """Unix seconds when it lapses, if its response never ends it (its function died): what the entry point
    serving the response may last."""
    key: str | None = None
    """The request's ``Idempotency-Key``, hashed: a conversation takes one turn per key."""
