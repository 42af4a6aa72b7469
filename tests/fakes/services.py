"""What the use cases call beyond the stores: circuits, the model, the run loop's control, events, the tool
catalogue."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from threadrunner.domain.circuits import CircuitState
from threadrunner.domain.common import FunctionDefinition, Usage
from threadrunner.domain.model_turn import ModelTurn, TurnEvent, TurnRequest
from threadrunner.domain.run_record import RunRef
from threadrunner.errors import ModelUnavailable
from threadrunner.ports import Event

T = TypeVar("T")


@dataclass
class FakeCircuits:
    """Circuits that open after ``threshold`` failures in a row and stay open until a test closes them."""

    threshold: int = 3
    failures: dict[str, int] = field(default_factory=dict)
    opened: set[str] = field(default_factory=set)

    def guard(
        self,
        name: str,
        call: Callable[[], T],
        when_open: Callable[[], T],
        is_failure: Callable[[T], bool] = lambda answer: False,
        counted: tuple[type[Exception], ...] = (),
    ) -> tuple[T, CircuitState]:
        if name in self.opened:
            return when_open(), "open"
        try:
            answer = call()
        except counted:
            self._failed(name)
            raise
        if is_failure(answer):
            self._failed(name)
        else:
            self.failures[name] = 0
        return answer, "open" if name in self.opened else "closed"

    def _failed(self, name: str) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1
        if self.failures[name] >= self.threshold:
            self.opened.add(name)


class FakeModel:
    """A Responses API whose responses finish when a test says so, with what it says."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.turns: dict[str, ModelTurn] = {}
        self.requests: list[TurnRequest] = []
        self.cancelled: list[str] = []
        self.fail_create: Exception | None = None
        self.streams: dict[str, list[TurnEvent]] = {}
        self.breaks: dict[str, int] = {}
        self.followed: list[tuple[str, int | None]] = []
        """Each stream asked for: the response, and the event it was taken up after."""

    def create(self, request: TurnRequest) -> ModelTurn:
        if self.fail_create is not None:
            raise self.fail_create
        self.requests.append(request)
        turn = ModelTurn(id=f"resp_{next(self._ids)}", status="in_progress")
        self.turns[turn.id] = turn
        return turn

    def finish(self, response_id: str, **fields: Any) -> ModelTurn:
        """Make a response end: ``status`` (completed by default), ``output_text``, ``function_calls``, ``usage``."""
        fields.setdefault("status", "completed")
        fields.setdefault("usage", Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15))
        self.turns[response_id] = self.turns[response_id].model_copy(update=fields)
        return self.turns[response_id]

    def retrieve(self, response_id: str) -> ModelTurn:
        return self.turns[response_id]

    def events(self, response_id: str, after: int | None = None) -> Iterator[TurnEvent]:
        """The events a test scripted for the response (``streams``), after ``after``; a stream in ``breaks``
        breaks (ModelUnavailable) once, after that many events."""
        if response_id not in self.streams:
            raise ModelUnavailable("no stream")
        self.followed.append((response_id, after))
        for sent, event in enumerate(
            e for e in self.streams[response_id] if after is None or e.sequence_number > after
        ):
            if self.breaks.get(response_id) == sent:
                del self.breaks[response_id]
                raise ModelUnavailable("the stream broke")
            yield event

    def cancel(self, response_id: str) -> ModelTurn:
        self.cancelled.append(response_id)
        if not self.turns[response_id].is_finished:
            self.turns[response_id] = self.turns[response_id].model_copy(update={"status": "cancelled", "usage": None})
        return self.turns[response_id]


@dataclass
class FakeControl:
    """The run loop's control: what was started, resumed and interrupted."""

    started: list[RunRef] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    outputs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """What each token was resumed with, when it was given an output (the loop's state from there on)."""
    interrupted: list[tuple[str, str]] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)
    """Task tokens a loop waits on; resuming another answers False."""

    def start(self, ref: RunRef) -> None:
        self.started.append(ref)

    def resume(self, task_token: str, output: Mapping[str, Any] | None = None) -> bool:
        self.resumed.append(task_token)
        if output is not None:
            self.outputs[task_token] = output
        return task_token in self.waiting

    def interrupt(self, task_token: str, error: str, cause: str) -> None:
        self.interrupted.append((task_token, error))


@dataclass
class FakeTurnChecks:
    """The run loop's checks the API asked for: each loop state, in order."""

    asked: list[Mapping[str, Any]] = field(default_factory=list)

    def check(self, state: Mapping[str, Any]) -> None:
        self.asked.append(state)


@dataclass
class FakeEvents:
    published: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.published.append(event)


@dataclass
class FakeCatalogue:
    tools: Mapping[str, FunctionDefinition] = field(default_factory=dict)

    def server_tools(self) -> Mapping[str, FunctionDefinition]:
        return self.tools
