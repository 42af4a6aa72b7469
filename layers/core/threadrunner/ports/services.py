"""What the use cases call beyond the table: the model, the provider, files' bytes, the vector index, the run loop's
control, Lambda tools, circuits, events, API keys, the list of unsettled responses, the provider's webhooks and the
code sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

from ..domain.budget import UnsettledResponse
from ..domain.circuits import CircuitState
from ..domain.code_sandbox import CodeSession, Execution, SandboxLimits, SessionKey, StagedFile
from ..domain.common import FunctionDefinition
from ..domain.forwarding import ProviderAnswer
from ..domain.model_turn import ModelTurn, TurnEvent, TurnRequest
from ..domain.run_record import RunRef
from ..domain.tools import Outcome
from ..domain.vector_stores import (
    Chunk,
    Embedded,
    Hit,
    IndexJob,
)


class FileContents(Protocol):
    """The bytes of files (S3), under keys the use cases make (``domain.files.content_key``)."""

    def put(self, key: str, data: bytes, part: bool = False) -> None:
        """Write bytes; ``part``: an upload's part, deleted by the bucket a day later if nothing deletes it first."""
        ...

    def read(self, key: str) -> bytes: ...

    def join(self, keys: Sequence[str], into: str) -> str:
        """Write the bytes of ``keys``, in order, as one object ``into``; the MD5 (hex) of what was written."""
        ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def link(self, key: str, filename: str, seconds: int) -> str:
        """A URL that reads the bytes for ``seconds``, as a download named ``filename``."""
        ...


class VectorIndex(Protocol):
    """Chunks and their vectors (S3 Vectors): a ``keywords`` index for every deployment, an ``embeddings`` one
    where the provider embeds."""

    def put(self, kind: str, chunks: Sequence[Chunk], vectors: Sequence[list[float]]) -> None: ...

    def delete(self, kind: str, keys: Sequence[str]) -> None: ...

    def query(self, kind: str, vector: list[float], stores: Sequence[str], top_k: int) -> list[Hit]:
        """The ``top_k`` chunks of ``stores`` nearest ``vector``."""
        ...


class Embeddings(Protocol):
    """The provider's embeddings endpoint."""

    @property
    def name(self) -> str:
        """The model and the size of its vectors: what was embedded under one name serves again."""
        ...

    def embed(self, texts: Sequence[str]) -> Embedded: ...


class IndexJobs(Protocol):
    """Work for the IndexFunction: a file to index, a deleted file or store to forget."""

    def submit(self, job: IndexJob) -> None: ...


class ToolInvoker(Protocol):
    """Lambda functions that are server tools."""

    def invoke(self, function_arn: str, payload: dict[str, Any], timeout_seconds: int) -> tuple[Outcome, str]:
        """Run the function once: how it ended (``ok``, ``failed``, ``timed_out``, or ``invalid_arguments`` when it
        raised :data:`~threadrunner.domain.lambda_tools.INVALID_ARGUMENTS`) and its answer (its JSON, or what went
        wrong)."""
        ...

    def tags_of(self, function_arn: str) -> dict[str, str]:
        """The function's tags; empty if there is no such function."""
        ...


T = TypeVar("T")


class Circuits(Protocol):
    """Circuit breakers shared by every container: a dependency that keeps failing is left alone for a while."""

    def guard(
        self,
        name: str,
        call: Callable[[], T],
        when_open: Callable[[], T],
        is_failure: Callable[[T], bool] = lambda answer: False,
        counted: tuple[type[Exception], ...] = (),
    ) -> tuple[T, CircuitState]:
        """``call()``'s answer, or ``when_open()``'s at once while the circuit ``name`` is open; and the circuit's
        state after it. An answer ``is_failure`` says is one, and an exception of the ``counted`` kinds, are
        failures of the dependency; every exception is raised on."""
        ...


class ModelClient(Protocol):
    """The Responses API, in background mode."""

    def create(self, request: TurnRequest) -> ModelTurn: ...

    def retrieve(self, response_id: str) -> ModelTurn: ...

    def cancel(self, response_id: str) -> ModelTurn: ...

    def events(self, response_id: str, after: int | None = None) -> Iterator[TurnEvent]:
        """The response's stream from after the event numbered ``after`` (from its start without): the events
        until it ends, as they happen. Raises :class:`~threadrunner.errors.ModelUnavailable` if the stream
        cannot be had or breaks; it can be taken up again after the last event seen."""
        ...


class Provider(Protocol):
    """The model provider's HTTP API, for the calls threadrunner forwards (``/v1/chat/completions`` ...)."""

    def forward(
        self, method: str, path: str, body: dict[str, Any] | None, query: Mapping[str, str], stream: bool
    ) -> ProviderAnswer:
        """The provider's answer to one call (``path`` under its ``/v1``), with threadrunner's key, not retried.

        Raises :class:`~threadrunner.errors.ProviderUnreachable` or
        :class:`~threadrunner.errors.ProviderTimedOut` when there is no answer.
        """
        ...


class ToolCatalogue(Protocol):
    """The server tools: what the ToolFunction's registry serves."""

    def server_tools(self) -> Mapping[str, FunctionDefinition]:
        """Each server tool's definition (description and JSON schema of its arguments), by name."""
        ...


class RunControl(Protocol):
    """Starts the run loop of a run and resumes or interrupts it while it waits on a task token (for tool outputs,
    or for its response's webhook)."""

    def start(self, ref: RunRef) -> None:
        """Start the loop; starting one run twice starts it once."""
        ...

    def resume(self, task_token: str, output: Mapping[str, Any] | None = None) -> bool:
        """Go on: the client's tool outputs are stored (the loop's state is kept), or ``output`` is the loop's
        state from here on (a turn's checked response). False if the loop no longer waits on that token."""
        ...

    def interrupt(self, task_token: str, error: str, cause: str) -> None:
        """Stop waiting: the loop takes ``error`` as a failure of its waiting task (a no-op if it no longer waits)."""
        ...


class Event(Protocol):
    """What threadrunner puts on EventBridge: a run's events, a circuit's changes."""

    def entry(self) -> dict[str, Any]:
        """The event as ``PutEvents`` takes it (without the bus)."""
        ...


class EventPublisher(Protocol):
    """Where events go (EventBridge)."""

    def publish(self, event: Event) -> None: ...


class UnsettledResponses(Protocol):
    """The responses of every project that were recorded ``unsettled`` and are not settled yet (the sweep's list)."""

    def listed(self) -> Iterator[UnsettledResponse]:
        """Each of them, read page after page as the caller consumes."""
        ...

    def forget(self, project: str, response_id: str) -> None:
        """Take one off the list (its response was settled, or is gone)."""
        ...


Delivery = Literal["first", "retried", "replayed"]
"""What a webhook delivery is: the first of its ``webhook-id``; the provider's retry of it (signed anew, another
timestamp); or the same delivery again (its id and timestamp seen before: a replay)."""


class ResponseWebhooks(Protocol):
    """The deployment's record of the provider's webhooks: which run waits on which response, and the deliveries
    received. Not one project's: a webhook names a response and nothing else."""

    def expect(self, response_id: str, ref: RunRef) -> None:
        """The run ``ref`` waits on the response's webhook (kept for the days the provider retries a webhook)."""
        ...

    def expected(self, response_id: str) -> RunRef | None:
        """The run that waits (or waited) on the response's webhook; ``None`` for a response no run expected."""
        ...

    def receive(self, webhook_id: str, timestamp: int) -> Delivery:
        """Note a delivery (kept as long as :meth:`expect`'s record), and say whether it is the first of its id."""
        ...


class TurnChecks(Protocol):
    """The run loop's check of a turn whose response ended, run apart from the API (the CheckTurn function)."""

    def check(self, state: Mapping[str, Any]) -> None:
        """Have the loop's state (with the token its turn waits on) checked, and the loop woken with the turn,
        asynchronously: the caller does not wait for the check."""
        ...


class ApiKeys(Protocol):
    """The stored API keys, by hash."""

    def project_for(self, key_hash: str) -> str | None:
        """The project a key belongs to, or ``None`` for an unknown or revoked key."""
        ...


class CodeSandbox(Protocol):
    """Where a thread's code runs (the ``code_interpreter`` tool): one live session per thread, its interpreter kept
    between executions, its files under the session's ``data_dir`` (``domain.code_sandbox``).

    Amazon Bedrock AgentCore Code Interpreter on AWS (``adapters.agentcore``), a process per session in the local
    stack (``threadrunner_local.sandbox``). Every method but :meth:`open` raises
    :class:`~threadrunner.errors.SessionEnded` for a session that has ended (open it again), and
    :class:`~threadrunner.errors.SandboxUnavailable` when the sandbox cannot be reached.
    """

    @property
    def limits(self) -> SandboxLimits: ...

    def open(self, key: SessionKey, resume: CodeSession | None = None) -> CodeSession:
        """The thread's session: ``resume`` (the session last given for ``key``) while it lives and was used within
        ``idle_seconds``, else a new one, ``fresh`` (no variables, no files: stage the thread's files into it)."""
        ...

    def write_files(self, session: CodeSession, files: Sequence[StagedFile]) -> None:
        """Put files under the data directory, replacing those of the same paths. ``ValueError`` for a path outside it
        or more than ``max_files`` files; :class:`~threadrunner.errors.TooLarge` for a file over ``max_file_bytes``
        or one that does not fit the session."""
        ...

    def execute(self, session: CodeSession, code: str) -> Execution:
        """Run Python in the session's interpreter, within ``execution_seconds``. Whatever the code does (raise, loop,
        exhaust memory, fork, write too much) is an :class:`~threadrunner.domain.code_sandbox.Execution` with an
        ``error`` for the model to read; ``ended`` when the session had to be ended to stop it."""
        ...

    def read_file(self, session: CodeSession, path: str) -> bytes:
        """The bytes of a file under the data directory (``path`` relative to it, or under ``/mnt/data``).
        :class:`~threadrunner.errors.NotFound` if there is no such regular file, ``TooLarge`` over ``max_file_bytes``,
        ``ValueError`` for a path outside the data directory."""
        ...

    def close(self, session: CodeSession) -> None:
        """End the session now, with its variables and files (a no-op if it has ended)."""
        ...
