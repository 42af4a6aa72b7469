"""Forwarded calls (``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/responses`` ...): the project's models,
the deployment's override and the budgets first, then the provider, then what the call used, in the same
ledgers as runs (docs/forwarding.md); and the sweep that counts the background responses nobody asked about."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from ..domain.budget import Reservation, today
from ..domain.common import Usage
from ..domain.deployment import RunDefaults
from ..domain.forwarding import (
    BUDGETED,
    GENERATING,
    METERED,
    RESPONSE_BODIES,
    RESPONSE_ENDINGS,
    RUNNING,
    EventReader,
    Kind,
    ProviderAnswer,
    check_request,
    prepared,
    reservation_of,
    scrubbed,
    usage_of,
    user_of,
)
from ..domain.ids import new_id
from ..domain.user import USER_ID_PATTERN
from ..errors import InvalidRequest, NotFound, ThreadrunnerError
from ..observability import add_metric, logger
from ..ports import Provider, Stores, UnsettledResponses
from . import conversation_turns as turns
from . import projects, prompts

RESPONSE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class Call:
    """One forwarded request, as the route read it."""

    kind: Kind
    method: str
    path: str
    """Under the provider's ``/v1``: ``/chat/completions``."""
    body: dict[str, Any] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    response_id: str | None = None
    """For ``/responses/{id}`` and its sub-paths: the response, which must be one the project created."""
    idempotency_key: str | None = None
    """The request's ``Idempotency-Key``: a response bound to a conversation appends one turn per key."""
    seconds: float = 30.0
    """How long the entry point serving the call may take: a conversation's hold lapses after it."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes | Iterator[str]
    """The provider's answer, or a stream's text as it comes."""


def forward(stores: Stores, provider: Provider, defaults: RunDefaults, call: Call) -> Answer:
    """The provider's answer to ``call``, once the project may make it; its usage counted. A response's ``prompt``
    and ``conversation`` are threadrunner's own, served before the provider sees the request (``prompts``,
    ``conversation_turns``)."""
    creating = call.method == "POST" and call.response_id is None and call.body is not None
    body = call.body or {}
    if call.response_id is not None and not (
        RESPONSE_ID.fullmatch(call.response_id) and stores.usage.is_forwarded(call.response_id)
    ):
        raise NotFound("response", call.response_id[:70])
    prompt, conversation_id = None, None
    if creating and call.kind in RESPONSE_BODIES:
        body, prompt = prompts.apply(stores, body)
        conversation_id = turns.conversation_of(body)
    if creating:
        check_request(call.kind, body, stores.projects.get_policy().hosted_tools, bound=conversation_id is not None)
    if creating and call.kind in RESPONSE_BODIES:
        _check_previous_response(stores, body)
    if creating and call.kind in GENERATING:
        model = body.get("model")
        if not isinstance(model, str):
            raise InvalidRequest("'model' is required: the model to use, a string.", param="model")
        projects.check_model(stores, model)
    turn = None
    if conversation_id is not None and call.kind == "responses":
        turn, body = turns.begin(
            stores, conversation_id, body, call.idempotency_key, call.seconds, defaults.context_tokens
        )
    elif conversation_id is not None:
        body = turns.counted(stores, conversation_id, body, defaults.context_tokens)
    forwarded, usage_asked = prepared(call.kind, body, defaults.model_override) if creating else (call.body, True)
    stream = creating and body.get("stream") is True
    reservation = None
    try:
        reservation = _reserve(stores, defaults, call.kind, body) if creating and call.kind in BUDGETED else None
        answer = provider.forward(call.method, call.path, forwarded, call.query, stream)
    except BaseException:
        if reservation is not None:
            stores.usage.release(reservation)  # nothing reached the provider's counters
        turns.release(stores, turn)
        raise
    show = functools.partial(turns.shown, conversation_id=conversation_id, prompt=prompt)
    if answer.chunks is not None:
        background = call.kind == "responses" and body.get("background") is True
        chunks = _metered(stores, call.kind, answer.chunks, reservation, usage_asked, background)
        if turn is not None or prompt is not None:
            chunks = turns.relayed(stores, turn, chunks, show)
        return Answer(answer.status, answer.content_type, chunks)
    if answer.status >= 400:
        if reservation is not None:
            stores.usage.release(reservation)
        turns.release(stores, turn)
        return _refusal(answer)
    decoded = _json(answer.body)
    if call.kind == "models":
        return _allowed_models(stores, answer, decoded)
    if reservation is not None:
        response_id = decoded.get("id") if call.kind == "responses" else None
        response_id = response_id if isinstance(response_id, str) else new_id("fwd")
        running = call.kind == "responses" and decoded.get("status") in RUNNING  # a background response
        # Counted when a request sees it end, or else by the sweep (settle_unsettled): nobody need ask for it.
        stores.usage.record_response(response_id, reservation, "", "", unsettled=running)
        if not running:
            stores.usage.settle(response_id, usage_of(call.kind, decoded))
    elif call.response_id is not None and decoded.get("object") == "response" and decoded.get("status") not in RUNNING:
        stores.usage.settle(call.response_id, usage_of(call.kind, decoded))  # once, whoever sees it end first
    if turn is not None:
        turns.finish(stores, turn, decoded)
    if call.kind == "responses" and (turn is not None or prompt is not None):
        return Answer(answer.status, answer.content_type, json.dumps(show(decoded)).encode())
    return Answer(answer.status, answer.content_type, answer.body)


def _check_previous_response(stores: Stores, body: dict[str, Any]) -> None:
    """A response chained to another must chain to one the project created."""
    previous = body.get("previous_response_id")
    if previous is not None and not (
        isinstance(previous, str) and RESPONSE_ID.fullmatch(previous) and stores.usage.is_forwarded(previous)
    ):
        raise InvalidRequest(
            f"Previous response with id '{str(previous)[:70]}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )


def _reserve(stores: Stores, defaults: RunDefaults, kind: Kind, body: dict[str, Any]) -> Reservation | None:
    """Refuse (429) a call while the budgets are used up; a metered call sets its tokens aside."""
    user_id = user_of(body, USER_ID_PATTERN)
    if kind not in METERED:
        projects.check_budget(stores, defaults, user_id=user_id)
        return None
    estimate = reservation_of(kind, body, defaults.output_reserve_tokens)
    reservation = Reservation(
        day=today(), user_id=user_id, prompt_tokens=estimate.prompt_tokens, completion_tokens=estimate.completion_tokens
    )
    stores.usage.reserve(reservation, projects.budget_of(stores, defaults))
    return reservation


def _metered(
    stores: Stores,
    kind: Kind,
    chunks: Iterator[str],
    reservation: Reservation | None,
    usage_asked: bool,
    background: bool,
) -> Iterator[str]:
    """The stream's events as they come; the usage its last events carry counted when it ends, its estimated
    prompt if it ends without one (a client that left, a stream that broke), unless it is a background response,
    which goes on without the stream: the sweep counts it when it ended."""
    reader, response_id, usage = EventReader(), None, None
    try:
        for chunk in chunks:
            for text, data in reader.feed(chunk):
                if kind == "responses" and isinstance(data, dict):
                    given = data.get("response")
                    response: dict[str, Any] = given if isinstance(given, dict) else {}
                    if response_id is None and isinstance(response.get("id"), str) and reservation is not None:
                        response_id = response["id"]
                        stores.usage.record_response(response_id, reservation, "", "", unsettled=background)
                    if data.get("type") in RESPONSE_ENDINGS:
                        usage = usage_of(kind, response)
                elif kind == "chat.completions" and isinstance(data, dict) and usage_of(kind, data) is not None:
                    usage = usage_of(kind, data)
                    if not usage_asked and not data.get("choices"):
                        continue  # the chunk threadrunner asked for, not the client
                yield text
        rest = reader.rest()
        if rest:
            yield rest
    finally:
        if reservation is not None:
            if response_id is None:
                response_id = new_id("fwd")
                stores.usage.record_response(response_id, reservation, "", "")
            if usage is not None or not background:
                stores.usage.settle(response_id, usage)


@dataclass
class Swept:
    """What one sweep of the unsettled responses did."""

    settled: int = 0
    """Responses that had ended (or that the provider no longer has), now counted."""
    running: int = 0
    """Responses still running: the next sweep looks again."""
    unanswered: int = 0
    """Responses the provider did not say anything readable about (unreachable, 5xx, 429): looked at again."""


class Settlement:
    """The SettleResponsesFunction's sweeps of the unsettled responses (:func:`settle_unsettled`), on the provider
    (made on the first sweep); each stops while one more retrieve, of at most ``call_seconds``, would still end in
    the invocation's time (so two sweeps never overlap: the schedule's rate is longer than the timeout)."""

    def __init__(
        self,
        unsettled: UnsettledResponses,
        stores_for: Callable[[str], Stores],
        provider: Callable[[], Provider],
        call_seconds: float,
    ) -> None:
        self._unsettled, self._stores_for, self._provider = unsettled, stores_for, provider
        self._margin_ms = (call_seconds + 5) * 1000

    def sweep(self, remaining_ms: Callable[[], int]) -> dict[str, int]:
        """One sweep within the invocation whose time left is ``remaining_ms()``: what it did, logged and counted."""
        swept = settle_unsettled(
            self._unsettled, self._stores_for, self._provider(), lambda: remaining_ms() > self._margin_ms
        )
        logger.info("unsettled responses swept", extra=asdict(swept))
        add_metric("ResponsesSettled", "Count", swept.settled)
        return asdict(swept)


def settle_unsettled(
    unsettled: UnsettledResponses, stores_for: Callable[[str], Stores], provider: Provider, more: Callable[[], bool]
) -> Swept:
    """Count every forwarded background response that ended since it was created, whether or not anyone asked for
    it: what the provider says it used, or, for one the provider no longer has (deleted while it ran), its whole
    reservation. One retrieve per listed response, while ``more()`` (the function's time) allows."""
    swept = Swept()
    for entry in unsettled.listed():
        if not more():
            break
        try:
            answer = provider.forward("GET", f"/responses/{quote(entry.response_id, safe='')}", None, {}, False)
        except ThreadrunnerError:
            swept.unanswered += 1
            continue
        decoded = _json(answer.body)
        if answer.status == 404:
            whole = entry.reservation
            usage: Usage | None = Usage(
                prompt_tokens=whole.prompt_tokens, completion_tokens=whole.completion_tokens, total_tokens=whole.tokens
            )
        elif answer.status == 200 and decoded.get("object") == "response":
            if decoded.get("status") in RUNNING:
                swept.running += 1
                continue
            usage = usage_of("responses", decoded)
        else:
            swept.unanswered += 1
            continue
        if stores_for(entry.project).usage.settle(entry.response_id, usage):
            swept.settled += 1
        else:  # settled meanwhile by a request that saw it end, or its entry is gone
            unsettled.forget(entry.project, entry.response_id)
    return swept


def _allowed_models(stores: Stores, answer: ProviderAnswer, decoded: dict[str, Any]) -> Answer:
    """The provider's models the project may use: all of them without an allow-list (``scripts/keys.py models``).
    A model it may not use is answered as the provider answers a model it does not have."""
    allowed = stores.projects.get_policy().models
    if allowed is None:
        return Answer(answer.status, answer.content_type, answer.body)
    if decoded.get("object") == "list":
        models = [
            model for model in decoded.get("data") or [] if isinstance(model, dict) and model.get("id") in allowed
        ]
        return Answer(answer.status, answer.content_type, json.dumps({**decoded, "data": models}).encode())
    if decoded.get("id") in allowed:
        return Answer(answer.status, answer.content_type, answer.body)
    message = f"The model '{str(decoded.get('id'))[:100]}' does not exist or you do not have access to it."
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "model_not_found"}}
    return Answer(404, "application/json", json.dumps(body).encode())


def _refusal(answer: ProviderAnswer) -> Answer:
    """The provider's error, unless it is about the provider's own key or account: then threadrunner's words."""
    if answer.status in (401, 403):
        return _error(502, "The model provider refused threadrunner's credentials; the operator must fix them.")
    if answer.status == 429:
        return _error(429, "The model provider is limiting requests; retry later.", kind="requests")
    return Answer(answer.status, answer.content_type, scrubbed(answer.body.decode("utf-8", "replace")).encode())


def _error(status: int, message: str, kind: str = "server_error") -> Answer:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return Answer(status, "application/json", json.dumps(body).encode())


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
