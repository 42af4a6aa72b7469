"""The rest of ``/v1``, forwarded to the provider: chat completions, embeddings, moderations, models, responses.

The bodies pass through as the client sent them (only a JSON object is taken), but a response's ``prompt`` and
``conversation``, which threadrunner serves; the answers come back with the provider's status, content type and
body (docs/forwarding.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import forwarding
from ..app.forwarding import Call
from ..domain.forwarding import MODEL_ID, Kind
from ..errors import InvalidRequest, NotFound
from . import streams
from .dependencies import ProviderDep, RunDefaultsDep, Scope, StoresDep

router = APIGatewayHttpRouter()

_FORWARDED: dict[int, OpenAPIResponse] = {
    200: {"description": "The provider's answer, as it gave it (server-sent events for `stream: true`)"}
}


Forward = Callable[..., Response[Any]]
"""``forward(kind, method, path, response_id=None)``: the request to the provider, its answer back."""


def _forwarder(scope: Scope, stores: StoresDep, provider: ProviderDep, defaults: RunDefaultsDep) -> Forward:
    def forward(kind: Kind, method: str, path: str, response_id: str | None = None) -> Response[Any]:
        event = router.current_event
        body = None
        if method == "POST" and response_id is None:
            try:
                body = json.loads(event.decoded_body or "null")
            except ValueError as exc:
                raise InvalidRequest(f"The body is not JSON: {exc}.") from exc
            if not isinstance(body, dict):
                raise InvalidRequest("The body must be a JSON object.")
        call = Call(
            kind,
            method,
            path,
            body,
            dict(event.query_string_parameters or {}),
            response_id,
            idempotency_key=event.headers.get("idempotency-key"),
            seconds=scope.stream_seconds,
        )
        answer = forwarding.forward(stores, provider, defaults, call)
        if isinstance(answer.body, bytes):
            return Response(answer.status, answer.content_type, answer.body.decode("utf-8", "replace"))
        return streams.relay(answer.body, answer.status, answer.content_type)

    return forward


Forwarded = Annotated[Forward, Depends(_forwarder)]


@router.post("/v1/chat/completions", summary="Create a chat completion (forwarded)", responses=_FORWARDED)
def chat_completions(forward: Forwarded) -> Response[Any]:
    return forward("chat.completions", "POST", "/chat/completions")


@router.post("/v1/embeddings", summary="Create embeddings (forwarded)", responses=_FORWARDED)
def embeddings(forward: Forwarded) -> Response[Any]:
    return forward("embeddings", "POST", "/embeddings")


@router.post("/v1/moderations", summary="Classify content (forwarded)", responses=_FORWARDED)
def moderations(forward: Forwarded) -> Response[Any]:
    return forward("moderations", "POST", "/moderations")


@router.get("/v1/models", summary="List models (forwarded)", responses=_FORWARDED)
def list_models(forward: Forwarded) -> Response[Any]:
    return forward("models", "GET", "/models")


@router.get("/v1/models/<model>", summary="Retrieve a model (forwarded)", responses=_FORWARDED)
def retrieve_model(model: str, forward: Forwarded) -> Response[Any]:
    if not MODEL_ID.fullmatch(model) or ".." in model:  # the provider's path is built from it
        raise NotFound("model", model[:70])
    return forward("models", "GET", f"/models/{model}")


@router.post("/v1/responses", summary="Create a response (forwarded)", responses=_FORWARDED)
def create_response(forward: Forwarded) -> Response[Any]:
    return forward("responses", "POST", "/responses")


@router.post("/v1/responses/input_tokens", summary="Count a response's input tokens (forwarded)", responses=_FORWARDED)
def count_input_tokens(forward: Forwarded) -> Response[Any]:
    return forward("responses.input_tokens", "POST", "/responses/input_tokens")


@router.get("/v1/responses/<response_id>", summary="Retrieve a response (forwarded)", responses=_FORWARDED)
def retrieve_response(response_id: str, forward: Forwarded) -> Response[Any]:
    return forward("responses", "GET", f"/responses/{response_id}", response_id)


@router.delete("/v1/responses/<response_id>", summary="Delete a response (forwarded)", responses=_FORWARDED)
def delete_response(response_id: str, forward: Forwarded) -> Response[Any]:
    return forward("responses", "DELETE", f"/responses/{response_id}", response_id)


@router.post("/v1/responses/<response_id>/cancel", summary="Cancel a response (forwarded)", responses=_FORWARDED)
def cancel_response(response_id: str, forward: Forwarded) -> Response[Any]:
    return forward("responses", "POST", f"/responses/{response_id}/cancel", response_id)


@router.get(
    "/v1/responses/<response_id>/input_items", summary="List a response's input items (forwarded)", responses=_FORWARDED
)
def list_input_items(response_id: str, forward: Forwarded) -> Response[Any]:
    return forward("responses", "GET", f"/responses/{response_id}/input_items", response_id)
