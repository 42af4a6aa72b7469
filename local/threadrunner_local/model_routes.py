"""What the offline model server answers: one function per endpoint, found by method and path in :data:`ROUTES`.

An endpoint reads a parsed :class:`Request` and answers a JSON object or a stream of server-sent events; it refuses
with :class:`Refused`, which the server (:mod:`threadrunner_local.model_server`) answers as an OpenAI-style error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import model_faults
from .model_embeddings import embeddings
from .model_endpoints import MODELS, chat_chunks, chat_completion, model_object, moderation
from .model_events import text_pieces, timeline
from .model_faults import Fault
from .model_policy import tokens
from .model_responses import input_items_page
from .model_store import RUNNING, OfflineModel, StoredResponse


class Refused(Exception):
    """A request answered with an OpenAI-style error instead."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class StreamCut(Exception):
    """A stream cut on purpose (a ``drop_stream`` fault), as a dropped connection is: without its last chunk."""


@dataclass(frozen=True)
class Request:
    """A request as its endpoint reads it."""

    method: str
    path: str
    """Without its query."""
    params: tuple[str, ...]
    """What the route's pattern captures of the path: a response's or a model's id."""
    query: dict[str, str]
    body: Any
    """The JSON body of a ``POST``; ``{}`` for the other methods."""


Stream = Iterator[str]
"""A streamed answer: server-sent events, each written when it is yielded (the iterator waits for its time)."""
Reply = dict[str, Any] | Stream
"""What an endpoint answers: a JSON object (status 200), or a stream."""


def not_found(method: str, path: str) -> str:
    """The message of a 404 for a path, or a response's id, the double does not have."""
    if method == "GET":
        return f"No response found with id '{path.rsplit('/', 1)[-1]}'."
    return f"Invalid URL ({method} {path})"


def _stored(model: OfflineModel, request: Request) -> StoredResponse:
    """The response the path names; an unknown id is answered as an unknown path is."""
    stored = model.responses.get(request.params[0])
    if stored is None:
        raise Refused(404, not_found(request.method, request.path))
    return stored


def _fault(model: OfflineModel, on: str, text: str) -> Fault | None:
    """The fault a request of kind ``on`` with ``text`` takes; raised as the HTTP error it answers with, if it is
    one."""
    fault = model.take_fault(on, text)
    error = model_faults.http_error(fault)
    if error:
        raise Refused(*error)
    return fault


def _add_fault(model: OfflineModel, request: Request) -> Reply:
    """``POST /_offline/faults``: a fault added; answers how many are pending."""
    try:
        model.faults.append(Fault(**request.body))
    except (TypeError, ValueError) as exc:
        raise Refused(400, str(exc)) from exc
    return {"faults": len(model.faults)}


def _clear_faults(model: OfflineModel, request: Request) -> Reply:
    """``DELETE /_offline/faults``: every pending fault dropped."""
    model.faults.clear()
    return {"faults": 0}


def _release(model: OfflineModel, request: Request) -> Reply:
    """``POST /_offline/release``: the running responses whose text contains ``match`` end now."""
    match = request.body.get("match")
    if not isinstance(match, str) or not match:
        raise Refused(400, "release needs a 'match': a non-empty string the responses to end mention.")
    return {"released": model.release(match)}


def _configure(model: OfflineModel, request: Request) -> Reply:
    """``POST /_offline/config``: the latency of the responses created next, whether it stores them, and whether it
    sends webhooks (where the stack told it to)."""
    if "webhooks" in request.body and model.webhooks is None:
        raise Refused(400, "The offline model was given no webhook URL: the stack runs without webhooks.")
    model.latency = float(request.body.get("latency", model.latency))
    model.store = bool(request.body.get("store", model.store))
    if model.webhooks is not None:
        model.webhooks.enabled = bool(request.body.get("webhooks", model.webhooks.enabled))
    webhooks = model.webhooks is not None and model.webhooks.enabled
    return {"latency": model.latency, "store": model.store, "webhooks": webhooks}


def _sent_webhooks(model: OfflineModel, request: Request) -> Reply:
    """``GET /_offline/webhooks``: the latest webhooks sent, with the status each was answered with."""
    return {"webhooks": model.webhooks.deliveries() if model.webhooks is not None else []}


def _seen_requests(model: OfflineModel, request: Request) -> Reply:
    """``GET /_offline/requests``: the latest create requests, in order."""
    return {"requests": list(model.requests)}


def _create_response(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/responses``: a response created; streamed with ``stream: true``, answered at once in the background,
    else when it ends, as the API does."""
    if request.body.get("background") is True and not model.store:
        raise Refused(400, "Background mode needs the response store, which is disabled.")
    fault = _fault(model, "create", json.dumps(request.body.get("input", "")))
    try:
        stored = model.create(request.body, fault)
    except LookupError as exc:
        raise Refused(400, str(exc), "previous_response_not_found") from exc
    if request.body.get("background") is True:
        model.will_finish(stored)
    if request.body.get("stream"):
        return _response_events(model, stored, after=-1)
    while request.body.get("background") is not True and (left := stored.finish_at - time.time()) > 0:
        time.sleep(min(left, 0.05))  # in steps: a release ends it sooner
    return model.view(stored)


def _retrieve_response(model: OfflineModel, request: Request) -> Reply:
    """``GET /v1/responses/{id}``: the response as it is now; with ``?stream=true``, its events after
    ``starting_after``."""
    stored = _stored(model, request)
    if request.query.get("stream") == "true":
        return _response_events(model, stored, after=int(request.query.get("starting_after", "-1")))
    _fault(model, "retrieve", stored.text)
    return model.view(stored)


def _cancel_response(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/responses/{id}/cancel``: a running response cancelled; a finished one is refused."""
    stored = _stored(model, request)
    if model.view(stored)["status"] not in RUNNING:
        raise Refused(400, "Only a response that is still running can be cancelled.")
    model.cancel(stored)
    return model.view(stored)


def _list_input_items(model: OfflineModel, request: Request) -> Reply:
    """``GET /v1/responses/{id}/input_items``: the response's conversation, as one page."""
    return input_items_page(_stored(model, request).items)


def _delete_response(model: OfflineModel, request: Request) -> Reply:
    """``DELETE /v1/responses/{id}``: the response forgotten."""
    response_id = request.params[0]
    if not model.forget(response_id):
        raise Refused(404, f"No response found with id '{response_id}'.")
    return {"id": response_id, "object": "response", "deleted": True}


def _count_input_tokens(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/responses/input_tokens``: the tokens of the request's ``input``."""
    return {"object": "response.input_tokens", "input_tokens": tokens(json.dumps(request.body.get("input", "")))}


def _chat(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/chat/completions``: a chat completion, after the latency; streamed as chunks spread over it with
    ``stream: true``."""
    _fault(model, "create", json.dumps(request.body.get("messages", "")))
    model.requests.append(request.body)
    completion = chat_completion(request.body)
    if not request.body.get("stream"):
        time.sleep(model.latency)
        return completion
    include_usage = ((request.body.get("stream_options") or {}).get("include_usage")) is True
    pieces = text_pieces(completion["choices"][0]["message"]["content"] or "")
    return _chat_events(chat_chunks(completion, pieces, include_usage), model.latency)


def _embed(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/embeddings``: deterministic embeddings (:mod:`threadrunner_local.model_embeddings`)."""
    try:
        return embeddings(request.body)
    except ValueError as exc:
        raise Refused(400, str(exc)) from exc


def _moderate(model: OfflineModel, request: Request) -> Reply:
    """``POST /v1/moderations``."""
    return moderation(request.body)


def _list_models(model: OfflineModel, request: Request) -> Reply:
    """``GET /v1/models``."""
    return {"object": "list", "data": [model_object(name) for name in MODELS]}


def _retrieve_model(model: OfflineModel, request: Request) -> Reply:
    """``GET /v1/models/{id}``."""
    if request.params[0] not in MODELS:
        raise Refused(404, f"The model '{request.params[0]}' does not exist", "model_not_found")
    return model_object(request.params[0])


def _response_events(model: OfflineModel, stored: StoredResponse, after: int) -> Stream:
    """The response's events after the ``after``-th, each sent when it happens (a ``drop_stream`` fault cuts them)."""
    fault = model.take_fault("stream", stored.text)
    created, span = stored.created, stored.finish_at - stored.created
    for sent, (at, event) in enumerate(timeline(model, stored)[after + 1 :]):
        if fault and sent == fault.events:
            raise StreamCut
        share = (at - created) / span if span > 0 else 1.0  # of the response's time, so a release brings it sooner
        while (
            stored.cancelled_at is None and (left := created + share * (stored.finish_at - created) - time.time()) > 0
        ):
            time.sleep(min(left, 0.05))
        if stored.cancelled_at is not None and at > stored.cancelled_at:
            return
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


def _chat_events(chunks: list[dict[str, Any]], latency: float) -> Stream:
    """A chat completion's chunks spread over the latency, then ``[DONE]``."""
    for chunk in chunks:
        time.sleep(latency / len(chunks))
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


Endpoint = Callable[[OfflineModel, Request], Reply]
"""One endpoint: what the double answers a request."""


@dataclass(frozen=True)
class Route:
    """An endpoint, and the requests it serves."""

    method: str
    pattern: re.Pattern[str]
    """The paths it serves (the whole path matches); its groups are the request's ``params``."""
    endpoint: Endpoint

    @property
    def keyed(self) -> bool:
        """Whether it needs the key: every route but the ``/_offline`` controls (they listen on loopback only)."""
        return not self.pattern.pattern.startswith("/_offline/")


def _route(method: str, pattern: str, endpoint: Endpoint) -> Route:
    return Route(method, re.compile(pattern), endpoint)


ROUTES = (
    _route("POST", "/_offline/faults", _add_fault),
    _route("DELETE", "/_offline/faults", _clear_faults),
    _route("POST", "/_offline/release", _release),
    _route("POST", "/_offline/config", _configure),
    _route("GET", "/_offline/requests", _seen_requests),
    _route("GET", "/_offline/webhooks", _sent_webhooks),
    _route("POST", "/v1/responses", _create_response),
    _route("POST", "/v1/responses/input_tokens", _count_input_tokens),
    _route("GET", r"/v1/responses/([^/]+)", _retrieve_response),
    _route("DELETE", r"/v1/responses/([^/]+)", _delete_response),
    _route("POST", r"/v1/responses/([^/]+)/cancel", _cancel_response),
    _route("GET", r"/v1/responses/([^/]+)/input_items", _list_input_items),
    _route("POST", "/v1/chat/completions", _chat),
    _route("POST", "/v1/embeddings", _embed),
    _route("POST", "/v1/moderations", _moderate),
    _route("GET", "/v1/models", _list_models),
    _route("GET", r"/v1/models/([^/]+)", _retrieve_model),
)
"""Every endpoint of the double, by method and path."""


def find(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    """The route that serves a request, with what its pattern captured of the path."""
    for route in ROUTES:
        match = route.pattern.fullmatch(path) if route.method == method else None
        if match:
            return route, match.groups()
    return None
