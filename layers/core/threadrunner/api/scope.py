"""What the API runs on: :class:`ApiDeps`, built once per container; an :class:`Incoming` request as the front
door's stages pass it on (api/app.py); and the :class:`RequestScope` its routes' dependencies read once the gate
has let it in (api/dependencies.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..app.webhooks import Webhooks
from ..config import Settings
from ..domain.api_keys import KeyCache
from ..ports import (
    ApiKeys,
    Embeddings,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    RunControl,
    Stores,
    ToolCatalogue,
    ToolInvoker,
    VectorIndex,
)
from .idempotency import AnswerOnce
from .streams import RunStreams

Answer = dict[str, Any]
"""An answer as the handler gives it to API Gateway: ``statusCode``, ``headers``, ``body``, ``isBase64Encoded``
(the body of a streamed answer is its :class:`~threadrunner.api.streams.EventStream`)."""


@dataclass
class ApiDeps:
    """The adapters the API runs on; the handler builds them once per container."""

    settings: Settings
    stores_for: Callable[[str], Stores]
    """The stores of one project."""
    run_control: RunControl
    tools: ToolCatalogue
    """The server tools: checked when an assistant or a run declares them, listed at /v1/server_tools."""
    functions: ToolInvoker
    """The Lambda functions that may be tools: their tags are read when one is registered."""
    keys: ApiKeys
    idempotency_store: BasePersistenceLayer
    """Where the answers to requests with an ``Idempotency-Key`` are kept (Powertools idempotency)."""
    model: Callable[[], ModelClient]
    """The model, made on first use: streamed runs follow the responses their loops work on."""
    provider: Callable[[], Provider]
    """The provider's HTTP API, made on first use, for the calls threadrunner forwards (the rest of /v1)."""
    contents: FileContents
    """The bytes of files."""
    jobs: IndexJobs
    """The IndexFunction's queue."""
    index: VectorIndex
    """The vector stores' chunks."""
    embeddings: Callable[[], Embeddings | None]
    """The provider's embeddings, made on first use (``None`` without an embedding model)."""
    webhooks: Webhooks | None = None
    """The provider's webhooks; ``None`` in a deployment whose provider sends none (no webhook endpoint)."""
    keys_seen: KeyCache = field(init=False, repr=False)
    """The keys the gate looked up lately, and their projects (api/gate.py)."""
    answer_once: AnswerOnce = field(init=False, repr=False)
    """The answers kept for retries with the same ``Idempotency-Key`` (api/idempotency.py)."""

    def __post_init__(self) -> None:
        config = self.settings
        self.keys_seen = KeyCache(config.key_cache_entries, config.key_cache_seconds, config.unknown_key_cache_seconds)
        self.answer_once = AnswerOnce(self.idempotency_store, config.idempotency_hours)


@dataclass(frozen=True)
class RequestScope:
    """What one request's routes run on: the container's adapters and the caller's project's stores."""

    deps: ApiDeps
    project: str
    stores: Stores
    stream_seconds: float
    """How long a streamed answer may last on the entry point serving it."""

    def run_streams(self) -> RunStreams:
        """Runs' events as this request streams them."""
        keep_alive = self.deps.settings.stream_keep_alive_seconds
        return RunStreams(self.stores, self.deps.model, self.stream_seconds, keep_alive)


@dataclass(frozen=True)
class Incoming:
    """A request on its way through the front door: its event, and what the stages learnt of it."""

    event: dict[str, Any]
    lambda_context: LambdaContext
    deps: ApiDeps
    stream_seconds: float
    admitted: RequestScope | None = None
    """Set by the gate (api/gate.py) once the key is known and the request may be read."""

    @property
    def method(self) -> str:
        return str(self.event.get("requestContext", {}).get("http", {}).get("method", ""))

    @property
    def path(self) -> str:
        return str(self.event.get("rawPath", ""))

    @functools.cached_property
    def headers(self) -> dict[str, str]:
        """The request's headers, by lower-case name."""
        return {name.lower(): value for name, value in (self.event.get("headers") or {}).items()}

    @property
    def scope(self) -> RequestScope:
        """What the request runs on; only past the gate."""
        if self.admitted is None:
            raise RuntimeError("the request has not been through the gate")
        return self.admitted


Next = Callable[[Incoming], Answer]
"""The rest of the front door, from the next stage on."""
Stage = Callable[[Incoming, Next], Answer]
"""A stage of the front door: answers the request itself (an open path, a refusal) or passes it on with ``next``,
and may change the answer that comes back."""
