"""Adapters built from the settings, once per Lambda container, and the objects the entry points call
(functions/<name>/app.py: one decorator stack, one call into what is built here). Every factory returns the port
it builds, so mypy checks the wiring; the use cases are in ``app/``, this module only puts them on adapters.

``openai`` is imported only by :func:`openai_client`, on first use, so functions that never call the model
never pay for its import.
"""

from __future__ import annotations

import functools
import importlib
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3

from .adapters import dynamodb
from .adapters.aws import EventBridgePublisher, LambdaToolCatalogue, LambdaTurnChecks, StepFunctionsRunControl
from .config import settings
from .ports import (
    ApiKeys,
    Circuits,
    CodeSandbox,
    Embeddings,
    EventPublisher,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    ResponseWebhooks,
    RunControl,
    Stores,
    ToolCatalogue,
    ToolInvoker,
    TurnChecks,
    UnsettledResponses,
    VectorIndex,
)

if TYPE_CHECKING:
    import openai
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

    from .app.deliveries import Deliveries
    from .app.forwarding import Settlement
    from .app.indexing import Indexing
    from .app.run_loop.runner import TaskRunner
    from .app.tool_calls import ToolCalls
    from .app.webhooks import Webhooks
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


def api_keys() -> ApiKeys:
    return dynamodb.DynamoDBApiKeys(settings().table_name, _Client("dynamodb"))


def unsettled_responses() -> UnsettledResponses:
    return dynamodb.DynamoDBUnsettledResponses(settings().table_name, _Client("dynamodb"))


@functools.cache
def run_control() -> RunControl:
    return StepFunctionsRunControl(settings().state_machine_arn, _Client("stepfunctions"), _waiting)


def _waiting() -> dict[str, int]:
    """How the turns of a run started now wait: for their webhooks, or polling. Read at each start from the settings,
    which a container reads once; the local stack's tests switch it between runs."""
    from .app.run_loop.state import webhook_mode

    config = settings()
    return webhook_mode(config.model_webhook_wait_seconds if config.model_webhooks else 0)


def response_webhooks() -> ResponseWebhooks:
    return dynamodb.DynamoDBResponseWebhooks(settings().table_name, _Client("dynamodb"))


@functools.cache
def turn_checks() -> TurnChecks:
    return LambdaTurnChecks(settings().check_turn_function, _Client("lambda"))


def webhooks() -> Webhooks | None:
    """ApiFunction's webhook endpoint; ``None`` in a deployment without a webhook secret. The secret is read from
    Secrets Manager when a webhook comes (cached ``SECRET_MAX_AGE_SECONDS``), so one put after the deploy, or
    rotated, is taken up."""
    from .app.webhooks import Webhooks

    config = settings()
    if not config.model_webhook_secret:
        return None

    def secret() -> str:
        return str(_secrets().get(config.model_webhook_secret, max_age=config.secret_max_age_seconds))

    return Webhooks(secret, response_webhooks(), turn_checks(), stores, lambda: settings().model_webhook_wait_seconds)


def idempotency_store() -> BasePersistenceLayer:
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
def file_contents() -> FileContents:
    from .adapters.s3 import S3FileContents

    return S3FileContents(settings().files_bucket, _Client("s3"))


@functools.cache
def index_jobs() -> IndexJobs:
    from .adapters.aws import SQSIndexJobs

    return SQSIndexJobs(settings().index_queue_url, _Client("sqs"))


@functools.cache
def vector_index() -> VectorIndex:
    from .adapters.s3vectors import S3VectorIndex

    config = settings()
    indexes = {"keywords": config.keyword_index, "embeddings": config.embedding_index}
    return S3VectorIndex(indexes, _Client("s3vectors"))


def embeddings() -> Embeddings | None:
    """The provider's embeddings, or ``None`` without an embedding model (keywords alone find chunks)."""
    config = settings()
    if not config.embedding_model:
        return None
    from .adapters.embeddings import OpenAIEmbeddings

    return OpenAIEmbeddings(openai_client(), config.embedding_model, config.embedding_dimensions)


@functools.cache
def events() -> EventPublisher:
    return EventBridgePublisher(settings().event_bus_name, _Client("events"))


@functools.cache
def circuits() -> Circuits:
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
def tool_invoker() -> ToolInvoker:
    from .adapters.aws import LambdaToolInvoker

    return LambdaToolInvoker(_lambda_client)


@functools.cache
def tool_catalogue() -> ToolCatalogue:
    return LambdaToolCatalogue(settings().tool_function_name, _Client("lambda"))


@functools.cache
def openai_client() -> Callable[[], openai.OpenAI]:
    """The provider's ``openai`` client, made when first called: its key comes from Secrets Manager (cached by
    Powertools), and a rotated key gets a new client."""
    import openai

    config = settings()
    clients: dict[str, openai.OpenAI] = {}

    def client() -> openai.OpenAI:
        key = str(_secrets().get(config.model_api_key_secret, max_age=config.secret_max_age_seconds))
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
def _secrets() -> Any:
    """Secrets Manager through Powertools, which caches what it reads. On the container's client: Powertools'
    default makes a boto3 session of its own, which loads botocore's data again."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.SecretsProvider(boto3_client=_Client("secretsmanager"))


@functools.cache
def provider() -> Provider:
    """The provider's HTTP API for forwarded calls, on the same ``openai`` client (made on first use)."""
    from .adapters.forwarding import OpenAIProvider

    return OpenAIProvider(openai_client())


@functools.cache
def model_client() -> ModelClient:
    from .adapters.responses import ResponsesModelClient

    return ResponsesModelClient(openai_client(), streaming=settings().model_streaming)


# What the entry points call, one object each (functions/<name>/app.py).


def tool_calls() -> ToolCalls:
    """The ToolFunction's: the registry (with the tools of ``TOOL_MODULES``), the deployment's Lambda tools,
    ``file_search`` and ``code_interpreter`` (its sandbox made for the first call)."""
    from .app.code_interpreter import CodeCalls
    from .app.tool_calls import ToolCalls, ToolRunner, file_searcher
    from .domain.lambda_tools import deployment_tools
    from .domain.tools import default_registry

    config = settings()
    prepare_snapshot(("dynamodb", "lambda", "s3"))
    for module in filter(None, (name.strip() for name in config.tool_modules.split(","))):
        importlib.import_module(module)  # registers the module's tools
    runner = ToolRunner(
        default_registry,
        tool_invoker(),
        circuits(),
        deployment_tools(config.server_tools, default_registry.names(), config.functions_arn),
        version=config.function_version,
        file_searcher=file_searcher(vector_index, embeddings, config.run_defaults),
        code_calls=lambda of: CodeCalls(of, code_sandbox(), file_contents(), config.run_defaults),
    )
    return ToolCalls(runner, stores, config.max_tool_output_bytes)


def task_runner() -> TaskRunner:
    """The run loop's task functions': a loop on the run's project for each task."""
    from .app.run_loop.runner import TaskRunner
    from .app.run_loop.tasks import RunLoop

    # One module serves every task; the snapshot holds what the ones that call the model need.
    prepare_snapshot(("dynamodb", "stepfunctions", "events", "lambda", "secretsmanager"), model=True)

    def loop_for(project: str) -> RunLoop:
        catalogue, control = tool_catalogue(), run_control()
        return RunLoop(
            stores(project),
            model_client,
            catalogue,
            control,
            events(),
            circuits(),
            settings(),
            contents=file_contents(),
            webhooks=response_webhooks(),
        )

    return TaskRunner(loop_for)


def indexing() -> Indexing:
    """The IndexFunction's: jobs from the index queue, and from its dead-letter queue."""
    from .app.indexing import Indexer, Indexing

    config = settings()
    prepare_snapshot(("dynamodb", "s3", "s3vectors"))
    indexer = Indexer(file_contents(), vector_index(), embeddings(), config.run_defaults)
    return Indexing(indexer, stores, config.index_dead_letter_queue_arn)


def event_deliveries() -> Deliveries:
    """The EventsFunction's: users' messages from the EventBridge sources of ``EVENT_SOURCE_PROJECTS``."""
    return _deliveries(settings().event_source_projects)


def queue_deliveries() -> Deliveries:
    """The QueueFunction's: users' messages from the SQS queues of ``QUEUE_PROJECTS``."""
    return _deliveries(settings().queue_projects)


def _deliveries(setting: str) -> Deliveries:
    from .app.deliveries import Deliveries, bindings

    prepare_snapshot(("dynamodb", "stepfunctions"))
    return Deliveries(bindings(setting), stores, run_control(), settings().run_defaults, idempotency_store())


def settlement() -> Settlement:
    """The SettleResponsesFunction's: the forwarded background responses nobody asked about again."""
    from .app.forwarding import Settlement

    prepare_snapshot(("dynamodb", "secretsmanager"))
    return Settlement(unsettled_responses(), stores, provider, settings().model_timeout_seconds)
