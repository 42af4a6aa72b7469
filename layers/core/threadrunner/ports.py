"""The interfaces the domain and the services need from the outside world.

Adapters implement them (``threadrunner.adapters``); unit tests use in-memory fakes.
"""

from __future__ import annotations

from typing import Any, Protocol

from .domain.assistant import Assistant
from .domain.common import Usage
from .domain.message import Message
from .domain.model_turn import ModelTurn, TurnRequest
from .domain.pagination import Page, PageRequest
from .domain.run import Run
from .domain.run_record import RunRecord, RunRef
from .domain.run_status import RunStatus
from .domain.run_step import RunStep, RunStepStatus
from .domain.thread import Thread
from .domain.tool_call import ToolCall


class Store(Protocol):
    """The objects of one project. Every method raises :class:`~threadrunner.errors.NotFound` for unknown ids."""

    project: str

    def put_assistant(self, assistant: Assistant) -> None: ...

    def get_assistant(self, assistant_id: str) -> Assistant: ...

    def create_thread(self, thread: Thread, messages: list[Message]) -> None: ...

    def get_thread(self, thread_id: str) -> Thread: ...

    def add_message(self, message: Message) -> None:
        """Add a caller's message; refuses with :class:`~threadrunner.errors.RunActive` while a run is active."""
        ...

    def put_run_message(self, message: Message) -> None:
        """Write the message a run produced (the run holds the thread, so no lock is checked)."""
        ...

    def list_messages(self, thread_id: str, page: PageRequest, run_id: str | None = None) -> Page[Message]: ...

    def conversation(self, thread_id: str) -> list[Message]:
        """Every message of the thread, oldest first: what the model reads."""
        ...

    def create_run(self, run: Run) -> None:
        """Store a queued run and make it the thread's active run, or raise RunActive."""
        ...

    def get_run(self, thread_id: str, run_id: str) -> Run: ...

    def get_run_record(self, thread_id: str, run_id: str) -> RunRecord: ...

    def transition_run(self, thread_id: str, run_id: str, status: RunStatus, **changes: Any) -> Run:
        """Move the run to ``status`` and set ``changes``, if the transition table allows it from its status.

        Raises :class:`~threadrunner.errors.InvalidTransition` otherwise. A move to a terminal status
        also frees the thread.
        """
        ...

    def set_turn(self, thread_id: str, run_id: str, response_id: str, tool_round: bool) -> None:
        """Record the run's current model response; ``tool_round`` counts a turn that answers tool calls."""
        ...

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        """Fix the id of something a run task creates (its message, a turn's step) on the first attempt.

        Returns ``candidate`` the first time a slot is claimed and the first candidate on every later
        call, so a retried task writes the same objects again instead of new ones.
        """
        ...

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        """Add one model response's usage to the run, once per response however often it is called."""
        ...

    def put_step(self, step: RunStep, tool_calls: list[ToolCall]) -> None:
        """Store a run step and, for ``tool_calls`` steps, its calls (idempotent)."""
        ...

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at: int) -> None: ...

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]: ...

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]: ...

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str) -> ToolCall | None:
        """Mark a pending call running and return it; ``None`` if it was claimed before (a retried task)."""
        ...

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        """Store a call's output and mark it completed."""
        ...


class ModelClient(Protocol):
    """The Responses API, in background mode."""

    def create(self, request: TurnRequest) -> ModelTurn: ...

    def retrieve(self, response_id: str) -> ModelTurn: ...

    def cancel(self, response_id: str) -> ModelTurn: ...


class ToolCatalogue(Protocol):
    """Which function names the ToolFunction serves."""

    def server_tool_names(self) -> frozenset[str]: ...


class RunLauncher(Protocol):
    """Starts the run loop for a run."""

    def launch(self, ref: RunRef) -> None:
        """Start the loop; starting one run twice starts it once."""
        ...


class ApiKeys(Protocol):
    """The stored API keys, by hash."""

    def project_for(self, key_hash: str) -> str | None:
        """The project a key belongs to, or ``None`` for an unknown or revoked key."""
        ...
