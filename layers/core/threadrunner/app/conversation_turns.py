"""A response bound to a conversation (``responses.create(conversation=...)``), served by threadrunner: the
conversation's items and the new input go to the provider, which stores nothing; the input and the response's
output are appended to the conversation, once, when the response ends (docs/forwarding.md, "Conversations").

The response holds its conversation from the request until its turn is appended (or it failed): a second response
on the conversation meanwhile is refused (400 ``conversation_locked``), so two turns never interleave.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..domain.budget import estimate_tokens
from ..domain.common import now
from ..domain.conversation import Hold, Item, fitted, input_items, provider_item, text_of
from ..domain.forwarding import RESPONSE_ENDINGS, EventReader
from ..domain.ids import new_id
from ..domain.model_input import REPLY_ROOM_TOKENS
from ..errors import InvalidRequest, NotFound
from ..observability import logger
from ..ports import Stores

HOLD_MARGIN_SECONDS = 60
"""How long after its entry point's longest answer a hold lapses when its response never let it go."""
APPENDED = frozenset({"completed", "incomplete"})
"""How a response ends when its turn joins the conversation; a failed or cancelled one adds nothing."""


def conversation_of(body: dict[str, Any]) -> str | None:
    """The conversation a response's request names (its id, or ``{"id": ...}``), if any."""
    given = body.get("conversation")
    if given is None:
        return None
    conversation_id = given.get("id") if isinstance(given, dict) else given
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InvalidRequest(
            "'conversation' must be a conversation's id, or an object with its 'id'.", param="conversation"
        )
    return conversation_id


@dataclass(frozen=True)
class Turn:
    """A response's turn in its conversation, while the provider answers it."""

    conversation_id: str
    hold: Hold
    items: list[Item]
    """The request's input, as the items it appends before the response's output."""


def _room(body: dict[str, Any], context_tokens: int, new_items: list[Item]) -> int:
    """The tokens the conversation's history may fill: the context, less the reply's room, the instructions, the
    tools and the new input."""
    reply = body.get("max_output_tokens")
    reply = reply if isinstance(reply, int) and not isinstance(reply, bool) and reply > 0 else REPLY_ROOM_TOKENS
    fixed = json.dumps([body.get("instructions"), body.get("tools")])
    return context_tokens - reply - estimate_tokens(fixed) - sum(estimate_tokens(text_of(item)) for item in new_items)


def _assembled(
    stores: Stores, conversation_id: str, body: dict[str, Any], context_tokens: int, new: list[Item]
) -> dict[str, Any]:
    """The request the provider gets: the conversation's items that fit, then the new input, and nothing that
    names the conversation."""
    history = fitted(
        stores.conversations.newest_items(conversation_id),
        _room(body, context_tokens, new),
        truncate=body.get("truncation") == "auto",
    )
    sent = {key: value for key, value in body.items() if key not in ("conversation", "truncation")}
    return sent | {"input": [item.for_provider() for item in history + new]}


def counted(stores: Stores, conversation_id: str, body: dict[str, Any], context_tokens: int) -> dict[str, Any]:
    """A request to count a bound response's input tokens: what the response would send (nothing is held)."""
    try:
        stores.conversations.get_conversation(conversation_id)
    except NotFound as exc:
        raise NotFound("conversation", conversation_id[:70], param="conversation") from exc
    return _assembled(stores, conversation_id, body, context_tokens, input_items(body.get("input", []), "input"))


def begin(
    stores: Stores,
    conversation_id: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    seconds: float,
    context_tokens: int,
) -> tuple[Turn, dict[str, Any]]:
    """Hold the conversation for a response and assemble what the provider gets; the hold lapses after ``seconds``
    (what the entry point may take) if it is never let go.

    Raises
    ------
    ConversationLocked, RunActive
        Another response holds the conversation, or a run the thread.
    TurnAnswered
        The turn of this ``Idempotency-Key`` was appended already.
    InvalidRequest
        ``context_length_exceeded``: the conversation does not fit and ``truncation`` is not ``auto``.
    """
    new = input_items(body.get("input", []), "input")
    key = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else None
    hold = Hold(id=new_id("hold"), until=now() + int(seconds) + HOLD_MARGIN_SECONDS, key=key)
    try:
        stores.conversations.hold(conversation_id, hold)
    except NotFound as exc:
        raise NotFound("conversation", conversation_id[:70], param="conversation") from exc
    turn = Turn(conversation_id, hold, new)
    try:
        return turn, _assembled(stores, conversation_id, body, context_tokens, new)
    except BaseException:
        release(stores, turn)
        raise


def finish(stores: Stores, turn: Turn, response: dict[str, Any] | None) -> None:
    """The response ended (``None``: its stream broke before its end): its turn joins the conversation if it has
    one to show, and the hold goes."""
    if response is None or response.get("status") not in APPENDED:
        release(stores, turn)
        return
    output = [provider_item(item) for item in response.get("output") or [] if isinstance(item, dict)]
    try:
        appended = stores.conversations.append_turn(turn.conversation_id, turn.hold, turn.items + output)
    except BaseException:  # an item the table cannot hold (over 400 KB): the conversation is not left held
        release(stores, turn)
        raise
    if not appended:
        # Its hold lapsed and another response took the conversation: this turn is not appended over it.
        logger.warning("a response's turn came after its hold lapsed", extra={"response_id": response.get("id")})


def release(stores: Stores, turn: Turn | None) -> None:
    """Let the conversation go without a turn (nothing reached the provider, or it refused)."""
    if turn is not None:
        stores.conversations.release(turn.conversation_id, turn.hold)


def shown(response: dict[str, Any], conversation_id: str | None, prompt: dict[str, Any] | None) -> dict[str, Any]:
    """A response as its client sees it: the conversation it belongs to and the prompt it used, which the
    provider never saw."""
    return (
        response
        | ({"conversation": {"id": conversation_id}} if conversation_id else {})
        | ({"prompt": prompt} if prompt is not None else {})
    )


def relayed(
    stores: Stores, turn: Turn | None, chunks: Iterator[str], show: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[str]:
    """A streamed response's events, each response object in them as its client sees it; its turn appended when
    the stream ends. A client that leaves does not end the turn: the rest of the stream is read (and counted) and
    the turn appended as the provider finished it. A stream that breaks before its end appends nothing."""
    reader, ended = EventReader(), None
    try:
        for chunk in chunks:
            for text, data in reader.feed(chunk):
                given = data.get("response") if isinstance(data, dict) else None
                if isinstance(given, dict):
                    if data.get("type") in RESPONSE_ENDINGS:
                        ended = given
                    text = _with_data(text, data | {"response": show(given)})
                yield text
        rest = reader.rest()
        if rest:
            yield rest
    finally:
        if turn is not None:
            if ended is None:
                ended = _rest_of(reader, chunks)
            finish(stores, turn, ended)


def _rest_of(reader: EventReader, chunks: Iterator[str]) -> dict[str, Any] | None:
    """What the rest of a stream its client left ends with: the response, if it ends."""
    ended = None
    for chunk in chunks:
        for _, data in reader.feed(chunk):
            if (
                isinstance(data, dict)
                and data.get("type") in RESPONSE_ENDINGS
                and isinstance(data.get("response"), dict)
            ):
                ended = data["response"]
    return ended


def _with_data(event: str, data: dict[str, Any]) -> str:
    """An event with its data replaced, its other lines (``event:``, ``id:``) kept."""
    lines = [line for line in event.rstrip("\n").split("\n") if not line.startswith("data:")]
    return "\n".join([*lines, "data: " + json.dumps(data, separators=(",", ":"))]) + "\n\n"
