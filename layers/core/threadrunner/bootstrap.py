"""Adapters built from the settings, once per Lambda container. The entry points wire with these.

``openai`` is imported only by :func:`model_client`, so functions that never call the model
never pay for its import.
"""

from __future__ import annotations

import functools
import importlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from .adapters import dynamodb
from .adapters.aws import EventBridgePublisher, LambdaToolCatalogue, StepFunctionsRunControl
from .config import settings
from .ports import CodeSandbox, Stores

if TYPE_CHECKING:
    from .adapters.responses import ResponsesModelClient
    from .domain.circuits import CircuitState


SERVICES = (
    "bedrock-agentcore",
    "dynamodb",
    "events",
    "lambda",
    "s3",
    "s3vectors",
    "secretsmanager",
    "sqs",
    "stepfunctions",
)
"""The AWS services the functions call: the layer keeps botocore's data of these only (layers/core/Makefile)."""

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
        assert service in SERVICES, service
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(_made(self._service), name)


def prepare_snapshot(services: tuple[str, ...], model: bool = False) -> None:
    """With SnapStart, what a container would do on its first request is done before the snapshot is taken.

    Before the snapshot: the boto3 clients of ``services`` are built (no call is made) and, for the
    functions that call the model, openai is imported with its adapter (the key is not read: no secret
    goes into a snapshot). After each restore: ``random`` is seeded again, or every container restored
    from one snapshot would draw the same retry jitter from the SDKs and retry in step.
    Without SnapStart, nothing: the work is done when a request needs it.
    """
    if not settings().snapstart:
        return
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot  # the Lambda runtime's
    except ImportError:
        return

    def before_snapshot() -> None:
        for service in services:
            _made(service)
        if model:
            model_client()

    register_before_snapshot(before_snapshot)
    register_after_restore(random.seed)


def stores(project: str) -> Stores:
    return dynamodb.stores(settings().table_name, project, _Client("dynamodb"), settings().retention_days)


def api_keys() -> dynamodb.DynamoDBApiKeys:
    return dynamodb.DynamoDBApiKeys(settings().table_name, _Client("dynamodb"))


def unsettled_responses() -> dynamodb.DynamoDBUnsettledResponses:
    return dynamodb.DynamoDBUnsettledResponses(settings().table_name, _Client("dynamodb"))


@functools.cache
def run_control() -> StepFunctionsRunControl:
    return StepFunctionsRunControl(settings().state_machine_arn, _Client("stepfunctions"))


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
def file_contents() -> Any:
    from .adapters.s3 import S3FileContents

    return S3FileContents(settings().files_bucket, _Client("s3"))


@functools.cache
def index_jobs() -> Any:
    from .adapters.aws import SQSIndexJobs

    return SQSIndexJobs(settings().index_queue_url, _Client("sqs"))


@functools.cache
def vector_index() -> Any:
    from .adapters.s3vectors import S3VectorIndex

    config = settings()
    indexes = {"keywords": config.keyword_index, "embeddings": config.embedding_index}
    return S3VectorIndex(indexes, _Client("s3vectors"))


def embeddings() -> Any:
    """The provider's embeddings, or ``None`` without an embedding model (keywords alone find chunks)."""
    config = settings()
    if not config.embedding_model:
        return None
    from .adapters.embeddings import OpenAIEmbeddings

    return OpenAIEmbeddings(openai_client(), config.embedding_model, config.embedding_dimensions)


@functools.cache
def events() -> EventBridgePublisher:
    return EventBridgePublisher(settings().event_bus_name, _Client("events"))


@functools.cache
def circuits() -> Any:
    """The circuit breakers of the server tools and the model provider; a change of state is logged, counted
    (``CircuitOpened``, ``CircuitHalfOpened``, ``CircuitClosed``) and put on the event bus."""
    from .adapters.circuits import PowertoolsCircuits

    config = settings()
    return PowertoolsCircuits(
        config.table_name,
        _Client("dynamodb"),
        config.circuit_failure_threshold,
        config.circuit_recovery_seconds,
        config.circuit_success_threshold,
        on_change=_circuit_changed,
    )


def _circuit_changed(name: str, before: CircuitState, after: CircuitState) -> None:
    from .domain.circuits import CircuitChange
    from .observability import add_metric, logger

    change = CircuitChange(circuit=name, from_state=before, to_state=after)
    logger.warning("circuit changed", extra=change.model_dump())
    metric = {"open": "CircuitOpened", "half_open": "CircuitHalfOpened", "closed": "CircuitClosed"}[after]
    add_metric(metric, "Count", 1)
    try:
        events().publish(change)
    except Exception:  # the event is a notice: the call it came with goes on
        logger.exception("the circuit's change could not be put on the event bus", extra={"circuit": name})


@functools.cache
def _lambda_client(read_timeout: int) -> Any:
    """A Lambda client that waits at most ``read_timeout`` seconds for an answer and never retries: a tool's
    timeout and retries are its own."""
    from botocore.config import Config

    config = Config(read_timeout=read_timeout, connect_timeout=5, retries={"total_max_attempts": 1})
    with _clients_lock:
        return boto3.client("lambda", config=config)


@functools.cache
def code_sandbox() -> CodeSandbox:
    """Where ``code_interpreter`` runs code: AgentCore's code interpreter, or the sandbox ``CODE_INTERPRETER_SANDBOX``
    names as ``module:function`` (the local stack's)."""
    config = settings()
    limits = config.code_interpreter_limits
    if config.code_interpreter_sandbox != "agentcore":
        module, _, function = config.code_interpreter_sandbox.partition(":")
        sandbox: CodeSandbox = getattr(importlib.import_module(module), function)(limits)
        return sandbox
    from .adapters.agentcore import AgentCoreSandbox, client_config

    with _clients_lock:
        client = boto3.client("bedrock-agentcore", config=client_config(limits))
    return AgentCoreSandbox(config.code_interpreter_id, client, limits)


@functools.cache
def tool_invoker() -> Any:
    from .adapters.aws import LambdaToolInvoker

    return LambdaToolInvoker(_lambda_client)


@functools.cache
def tool_catalogue() -> LambdaToolCatalogue:
    return LambdaToolCatalogue(settings().tool_function_name, _Client("lambda"))


@dataclass(frozen=True)
class Deliveries:
    """How the event triggers post a user's message: once per delivery id (a Powertools idempotency record, 24 h)."""

    config: Any
    """The idempotency configuration; each invocation registers its Lambda context on it."""
    post: Callable[..., dict[str, Any]]
    """``post(delivery={"delivery_id", "project", "request"})`` (threadrunner.app.deliveries): its summary."""


@functools.cache
def deliveries() -> Deliveries:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    from .app import users
    from .app.deliveries import summary
    from .app.requests.users import UserMessageRequested
    from .domain.user import user_ref
    from .observability import log_keys

    config = IdempotencyConfig(event_key_jmespath="delivery_id", expires_after_seconds=24 * 3600)

    @idempotent_function(data_keyword_argument="delivery", persistence_store=idempotency_store(), config=config)
    def post(delivery: dict[str, Any]) -> dict[str, Any]:
        request, project = UserMessageRequested.model_validate(delivery["request"]), delivery["project"]
        log_keys(project=project, user=user_ref(request.user_id))
        answer = users.post_user_message(
            stores(project), run_control(), request.user_id, request, settings().run_defaults
        )
        return summary(answer)

    return Deliveries(config, post)


@functools.cache
def openai_client() -> Callable[[], Any]:
    """The provider's ``openai`` client, made when first called: its key comes from Secrets Manager (cached by
    Powertools), and a rotated key gets a new client."""
    import openai
    from aws_lambda_powertools.utilities import parameters

    config = settings()
    clients: dict[str, openai.OpenAI] = {}
    # On the container's client: Powertools' default makes a boto3 session of its own, which loads botocore's
    # data again.
    secrets = parameters.SecretsProvider(boto3_client=_Client("secretsmanager"))

    def client() -> openai.OpenAI:
        key = str(secrets.get(config.model_api_key_secret, max_age=config.secret_max_age_seconds))
        if key not in clients:
            clients.clear()
            clients[key] = openai.OpenAI(
                api_key=key,
                base_url=config.model_base_url,
                max_retries=config.model_max_retries,
                timeout=config.model_timeout_seconds,
            )
        return clients[key]

    return client


@functools.cache
def provider() -> Any:
    """The provider's HTTP API for forwarded calls, on the same ``openai`` client (made on first use)."""
    from .adapters.forwarding import OpenAIProvider

    return OpenAIProvider(openai_client())


@functools.cache
def model_client() -> ResponsesModelClient:
    from .adapters.responses import ResponsesModelClient

    return ResponsesModelClient(openai_client(), streaming=settings().model_streaming)
