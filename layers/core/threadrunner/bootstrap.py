"""Adapters built from the settings, once per Lambda container. The entry points wire with these.

``openai`` is imported only by :func:`model_client`, so functions that never call the model
never pay for its import.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3

from .adapters import dynamodb
from .adapters.aws import EventBridgePublisher, LambdaToolCatalogue, StepFunctionsRunLoop
from .config import settings
from .ports import Stores

if TYPE_CHECKING:
    from .adapters.responses import ResponsesModelClient


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _made(service: str) -> Any:
    with _clients_lock:  # boto3's default session is not safe to share while it builds a client
        if service not in _clients:
            _clients[service] = boto3.client(service)
        return _clients[service]


class _Client:
    """A boto3 client made when first used: building one loads its service's model (about 50 ms on a cold
    start), and most invocations use one or two of the five services."""

    def __init__(self, service: str) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(_made(self._service), name)


def stores(project: str) -> Stores:
    return dynamodb.stores(settings().table_name, project, _Client("dynamodb"), settings().retention_days)


def api_keys() -> dynamodb.DynamoDBApiKeys:
    return dynamodb.DynamoDBApiKeys(settings().table_name, _Client("dynamodb"))


@functools.cache
def run_loop_control() -> StepFunctionsRunLoop:
    return StepFunctionsRunLoop(settings().state_machine_arn, _Client("stepfunctions"))


def idempotency_store() -> Any:
    """Powertools idempotency records in the table: PK ``idempotency#<function>``, SK the hashed key, TTL ``ttl``.

    A new one for each user: a persistence layer keeps the configuration of the first function that
    used it, so two idempotent functions must not share one.
    """
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        expiry_attr="ttl",
        boto3_client=_Client("dynamodb"),
    )


@functools.cache
def events() -> EventBridgePublisher:
    return EventBridgePublisher(settings().event_bus_name, _Client("events"))


@functools.cache
def tool_catalogue() -> LambdaToolCatalogue:
    return LambdaToolCatalogue(settings().tool_function_name, _Client("lambda"))


@functools.cache
def model_client() -> ResponsesModelClient:
    import openai
    from aws_lambda_powertools.utilities import parameters

    from .adapters.responses import ResponsesModelClient

    config = settings()
    clients: dict[str, openai.OpenAI] = {}

    def client() -> openai.OpenAI:
        # The key comes from Secrets Manager, cached by Powertools; a rotated key gets a new client.
        key = str(parameters.get_secret(config.model_api_key_secret, max_age=config.secret_max_age_seconds))
        if key not in clients:
            clients.clear()
            clients[key] = openai.OpenAI(
                api_key=key,
                base_url=config.model_base_url,
                max_retries=config.model_max_retries,
                timeout=config.model_timeout_seconds,
            )
        return clients[key]

    return ResponsesModelClient(client)
