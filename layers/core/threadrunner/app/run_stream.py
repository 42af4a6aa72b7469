"""A run as the hosted API streamed it: a view of the run, never its driver (docs/streaming.md).

The run loop moves the run; a stream reads the run's records and, while the loop waits on a model
response, follows that response's own stream (the Responses API streams a background response and
takes it up again after a sequence number) to relay its text and its calls' arguments as they come.
When the model starts a message or a call, the stream stores it in progress under the id the loop
will give it (one claim per response), so every object an event carries is what a GET of it returns
then; the loop's write of the finished object replaces it. A client that goes away stops only the
stream: the run goes on and can be polled. While nothing happens, a stream with ``keep_alive`` sends a comment
every so often, so that a client that left is found by the write that fails.

Events, in the hosted API's order: ``thread.run.<status>`` as the run moves, ``thread.run.step.created``
/ ``in_progress`` / ``delta`` / ``completed`` (or ``failed``, ``cancelled``, ``expired``),
``thread.message.created`` / ``in_progress`` / ``delta`` / ``completed`` (or ``incomplete``), and, when
the run waits for tool outputs or ends, that run event and ``done``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..domain import code_interpreter, file_search, model_input
from ..domain.common import now
from ..domain.ids import new_id
from ..domain.message import ImageFileContentBlock as Image
from ..domain.message import Message
from ..domain.model_turn import TurnEvent
from ..domain.pagination import PageRequest
from ..domain.run_record import RunRecord, message_slot, message_step_slot, tool_step_slot
from ..domain.run_step import (
    MessageCreation,
    MessageCreationStepDetails,
    RunStep,
    ToolCallsStepDetails,
    without_contents,
)
from ..domain.stream import (
    DONE,
    KEEP_ALIVE,
    StreamEvent,
    begun_message,
    begun_step,
    call_arguments,
    call_started,
    cancelling,
    code_input,
    code_outputs,
    error_event,
    message_delta,
    numbered,
    ran_code,
    steps_of,
    text_annotations,
)
from ..errors import ModelUnavailable, NotFound
from ..observability import logger
from ..ports import ModelClient, Stores
from .run_loop.written import RunOutputs, run_outputs

_ALL = PageRequest(limit=100, order="asc")
"""Every step and every message of a run: a run has a few."""

_MARKER_END = file_search.marker(0, 0, "")[-1]
"""The character that closes a citation marker: a delta without it completes no citation."""
_LINK = code_interpreter.SANDBOX_LINK
"""What begins a link to a file the code wrote: a text without it has no ``file_path`` annotation."""

_STREAM_RETRIES = 3
"""How often a broken model stream is taken up again (after its last event) before the records alone are shown."""


@dataclass
class _Shown:
    """What the client was shown of an object: its status, and for a message the text its deltas carried."""

    status: str
    text: str = ""
    streaming: bool = False
    """A message whose text this stream relays from the model as it comes."""
    noted: int = 0
    """How many of a message's annotations its deltas carried."""


@dataclass
class Snapshot:
    """What a client already knows of a run when its stream starts: nothing for a new run; for tool outputs
    just submitted, the run as it waited, with its steps, messages and the response that asked for them."""

    run_status: str = "queued"
    objects: dict[str, _Shown] = field(default_factory=dict)
    responses: set[str] = field(default_factory=set)
    """The responses whose events the client has had."""

    @classmethod
    def of(cls, stores: Stores, thread_id: str, run_id: str) -> Snapshot:
        record = stores.runs.get_run_record(thread_id, run_id)
        steps = stores.steps.list_steps(thread_id, run_id, _ALL).data
        objects = {step.id: _Shown(step.status) for step in steps}
        objects |= {call.id: _Shown("completed") for step in steps for _, call in ran_code(step)}
        messages = stores.threads.list_messages(thread_id, _ALL, run_id=run_id).data
        objects |= {message.id: _Shown(message.status, message.text) for message in messages}
        return cls(record.run.status, objects, {record.response_id} if record.response_id else set())


class RunStream:
    """The events of one run from a snapshot on, until the run waits for tool outputs or ends (or ``max_seconds``).

    Parameters
    ----------
    model
        Made on first use: the model's stream of the response the loop works on. ``None`` shows the records only.
    with_contents
        Whether ``file_search`` steps show the passages found (``include[]`` asked for them).
    keep_alive
        Seconds without an event after which :data:`KEEP_ALIVE` is sent; ``None`` sends none.
    """

    def __init__(
        self,
        stores: Stores,
        model: Callable[[], ModelClient] | None,
        thread_id: str,
        run_id: str,
        snapshot: Snapshot | None = None,
        max_seconds: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        with_contents: bool = False,
        keep_alive: float | None = None,
    ) -> None:
        self._stores, self._model = stores, model
        self._thread_id, self._run_id = thread_id, run_id
        self._known = snapshot or Snapshot()
        self._sleep, self._clock = sleep, clock
        self._deadline = clock() + max_seconds
        self._with_contents, self._keep_alive = with_contents, keep_alive
        self._sent_at = clock()
        self._calls: dict[int, int] = {}
        """The index in its step of each call the model is making, by the call's place in the response's output."""
        self._searches: set[int] = set()
        """The calls among them that are ``file_search``'s: shown without a name or arguments."""
        self._code: dict[int, str] = {}
        """The calls among them that are ``code_interpreter``'s, with their arguments so far: shown as code."""
        self._outputs: RunOutputs | None = None
        """What the markers and links of the followed response's text refer to, read at the first one."""
        self._message_of: dict[int, str] = {}
        """The message of each output item the model writes text into, by its place in the output."""

    def events(self) -> Iterator[StreamEvent]:
        """The events as they happen; the last is ``done``, unless the stream broke (``error``) or ran too long."""
        try:
            for event in self._events():
                self._sent_at = self._clock()
                yield event
        except NotFound:  # the thread was deleted under the stream
            yield error_event("The run's thread was deleted.", code="not_found")
        except Exception:
            logger.exception("run stream failed", extra={"run_id": self._run_id})
            yield error_event("The stream broke; the run goes on, poll it.")

    def _events(self) -> Iterator[StreamEvent]:
        pause = 0.1
        while self._clock() < self._deadline:
            # The run is read after its steps and messages, so its claims name every step listed: a response about to
            # be followed has its steps held (shown as it streams), even the ones the loop wrote a moment before.
            listed = self._listed()
            record = self._stores.runs.get_run_record(self._thread_id, self._run_id)
            run = record.run
            response_id = record.response_id
            new = bool(response_id) and response_id not in self._known.responses and run.status != "queued"
            shown = list(self._records(*listed, held=steps_of(record, response_id) if new and self._model else set()))
            ended = run.status == "requires_action" or run.is_terminal
            if not ended and run.status != self._known.run_status:
                self._known.run_status = run.status
                moved = StreamEvent(f"thread.run.{run.status}", run)
                # Before the steps and messages when it went in progress, as they were all made since (not a cancel).
                shown.insert(0 if run.status == "in_progress" else len(shown), moved)
            yield from shown
            if new and response_id:
                self._known.responses.add(response_id)
                if self._model is not None:
                    # Followed even once the run moved on: a finished response streams again from its start.
                    yield from self._follow(record, response_id)
                    continue  # what the loop made of the response, at once
            if ended:
                yield from self._records(*self._listed(), held=set())  # what the loop wrote as it ended the run
                if run.status == "cancelled" and self._known.run_status != "cancelling":
                    # The loop ended the cancel before the stream looked: the client is shown it was asked, as the
                    # hosted API showed every cancel.
                    yield StreamEvent("thread.run.cancelling", cancelling(run))
                if run.status != self._known.run_status:
                    self._known.run_status = run.status
                    yield StreamEvent(f"thread.run.{run.status}", run)
                yield DONE
                return
            if self._keep_alive is not None and self._clock() - self._sent_at >= self._keep_alive:
                yield KEEP_ALIVE
            pause = 0.1 if shown else min(pause * 1.5, 1.0)
            self._sleep(pause)

    # the records -------------------------------------------------------------------------------------

    def _listed(self) -> tuple[list[RunStep], dict[str, Message]]:
        """The run's steps, then its messages by id: a message is written with its step, so a listed step's message
        is listed too."""
        steps = self._stores.steps.list_steps(self._thread_id, self._run_id, _ALL).data
        messages = self._stores.threads.list_messages(self._thread_id, _ALL, run_id=self._run_id).data
        return steps, {message.id: message for message in messages}

    def _records(self, steps: list[RunStep], messages: dict[str, Message], held: set[str]) -> Iterator[StreamEvent]:
        """Events for the steps and messages that appeared or moved since the client last saw them, in order; none
        for the ``held`` steps yet."""
        for step in steps:
            if step.id in held:
                continue
            created = step.id not in self._known.objects
            if created:
                self._known.objects[step.id] = _Shown("")
                yield StreamEvent("thread.run.step.created", self._step(step))
                self._known.objects |= {call.id: _Shown("completed") for _, call in ran_code(step)}
            yield from self._code_outputs(step)
            if isinstance(step.step_details, MessageCreationStepDetails):
                message = messages.get(step.step_details.message_creation.message_id)
                if message is not None:
                    yield from self._message(message)
                    if message.status == "in_progress":
                        continue  # its step ends after it (a run's end ends its steps first, then its messages)
            shown = self._known.objects[step.id]
            if shown.status != step.status:
                shown.status = step.status
                yield StreamEvent(f"thread.run.step.{step.status}", self._step(step))

    def _step(self, step: RunStep) -> RunStep:
        return step if self._with_contents else without_contents(step)

    def _message(self, message: Message) -> Iterator[StreamEvent]:
        shown = self._known.objects.get(message.id)
        if shown is None:
            # The stream did not see it begin (the model's stream could not be had): shown as it began, then whole.
            shown = self._known.objects[message.id] = _Shown("in_progress")
            begun = begun_message(message)
            yield StreamEvent("thread.message.created", begun)
            yield StreamEvent("thread.message.in_progress", begun)
        if message.status == "in_progress" or shown.status == message.status:
            return
        text = message.text
        rest = text[len(shown.text) :] if text.startswith(shown.text) else ""
        if text != shown.text and not rest:
            logger.warning("run stream relayed other text than stored", extra={"message_id": message.id})
        # What the deltas did not carry: the rest of the text, the annotations not sent yet, the images.
        notes = numbered(text_annotations(message), shown.noted)
        images = [(i, part.image_file.file_id) for i, part in enumerate(message.content) if isinstance(part, Image)]
        if rest or notes or images:
            yield message_delta(message.id, rest, notes, images)
        shown.status, shown.text, shown.streaming = message.status, text, False
        yield StreamEvent(f"thread.message.{message.status}", message)

    # the model's stream --------------------------------------------------------------------------------

    def _follow(self, record: RunRecord, response_id: str) -> Iterator[StreamEvent]:
        """Relay the response's stream until it ends; a broken stream is taken up after its last event."""
        assert self._model is not None
        after: int | None = None
        self._calls, self._searches, self._code, self._message_of, self._outputs = {}, set(), {}, {}, None
        for attempt in range(_STREAM_RETRIES + 1):
            try:
                for event in self._paced(self._model().events(response_id, after)):
                    if event is None:
                        yield KEEP_ALIVE
                        if self._clock() >= self._deadline:
                            return
                        continue
                    after = event.sequence_number if event.sequence_number >= 0 else after
                    yield from self._relay(record, response_id, event)
                    if event.kind == "ended" or self._clock() >= self._deadline:
                        return
                return
            except ModelUnavailable:
                if attempt == _STREAM_RETRIES:
                    return  # the records tell the rest
                self._sleep(0.2 * 2**attempt)

    def _relay(self, record: RunRecord, response_id: str, event: TurnEvent) -> Iterator[StreamEvent]:
        if event.kind == "message":
            yield from self._begin_message(record, response_id, event.output_index)
        elif event.kind == "text" and event.output_index in self._message_of:
            message_id = self._message_of[event.output_index]
            shown = self._known.objects[message_id]
            if shown.streaming and event.text:
                shown.text += event.text
                yield message_delta(message_id, event.text, self._noted(shown, event.text))
        elif event.kind == "function_call":
            step_id = yield from self._begin_calls(record, response_id)
            index = self._calls.setdefault(event.output_index, len(self._calls))
            # In the shape the step will show it: a search is never shown as a function the client did not declare.
            kind = model_input.call_kind(record, event.name)
            if kind == "file_search":
                self._searches.add(event.output_index)
            elif kind == "code_interpreter":
                self._code[event.output_index] = ""
            yield call_started(step_id, index, event.call_id, event.name, kind)
        elif event.kind == "arguments" and event.output_index in self._code:
            # The code as it is written: what the arguments' JSON string holds so far.
            step_id = record.claims[tool_step_slot(response_id)]
            before = self._code[event.output_index]
            self._code[event.output_index] = before + event.text
            piece = code_interpreter.new_code(before, before + event.text)
            if piece:
                yield code_input(step_id, self._calls[event.output_index], piece)
        elif event.kind == "arguments" and event.output_index in self._calls.keys() - self._searches:
            step_id = record.claims[tool_step_slot(response_id)]
            yield call_arguments(step_id, self._calls[event.output_index], event.text)

    def _noted(self, shown: _Shown, piece: str) -> list[dict[str, Any]]:
        """The annotations the text's last ``piece`` completes: a citation marker it closes, a link it ends (a link
        at the very end of the text so far may go on, and waits for what follows)."""
        if _MARKER_END not in piece and _LINK not in shown.text:
            return []
        if self._outputs is None:
            self._outputs = run_outputs(self._stores, self._thread_id, self._run_id)
        text = shown.text
        done = [
            note
            for note in self._outputs.annotations(text)
            if note["end_index"] < len(text) or note["type"] != "file_path"
        ]
        notes = numbered(done, shown.noted)
        shown.noted += len(notes)
        return notes

    def _code_outputs(self, step: RunStep) -> Iterator[StreamEvent]:
        """The outputs of the step's ``code_interpreter`` calls that ran since the client last looked."""
        for index, call in ran_code(step):
            if call.id not in self._known.objects:
                self._known.objects[call.id] = _Shown("completed")
                yield code_outputs(step.id, index, [output.model_dump() for output in call.code_interpreter.outputs])

    def _paced(self, events: Iterator[TurnEvent]) -> Iterator[TurnEvent | None]:
        """The model's events, and ``None`` each time ``keep_alive`` seconds pass without one: read on a thread of
        their own, since a model that thinks sends nothing for a while. The thread stops at the model's next event
        once this stream is closed (its client left)."""
        if self._keep_alive is None:
            yield from events
            return
        box: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        closed = threading.Event()

        def read() -> None:
            try:
                for event in events:
                    box.put(("event", event))
                    if closed.is_set():
                        break
                box.put(("end", None))
            except Exception as exc:  # raised where the stream reads them, which takes a broken stream up again
                box.put(("error", exc))
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()

        threading.Thread(target=read, name=f"model-stream-{self._run_id}", daemon=True).start()
        try:
            while True:
                try:
                    kind, value = box.get(timeout=self._keep_alive)
                except queue.Empty:
                    yield None
                    continue
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            closed.set()

    def _begin_message(self, record: RunRecord, response_id: str, output_index: int) -> Iterator[StreamEvent]:
        run = record.run
        message_id = self._claim(record, message_slot(response_id), "msg")
        step_id = self._claim(record, message_step_slot(response_id), "step")
        at = now()
        message = Message(
            id=message_id,
            created_at=at,
            thread_id=run.thread_id,
            role="assistant",
            content=[],
            status="in_progress",
            assistant_id=run.assistant_id,
            run_id=run.id,
        )
        details = MessageCreationStepDetails(message_creation=MessageCreation(message_id=message_id))
        step = begun_step(run, step_id, details, at)
        if not self._stores.runs.begin_output(self._thread_id, self._run_id, response_id, [step, message]):
            try:
                message = self._stores.threads.get_message(self._thread_id, message_id)
            except NotFound:
                return  # the run ended without it (cancelled)
        if message_id in self._known.objects:
            return  # shown already (a stream taken up again)
        self._message_of[output_index] = message_id
        yield from self._shown_begun(self._stores.steps.get_step(self._thread_id, self._run_id, step_id))
        # As it began, even when the loop finished it first: its text follows delta by delta.
        begun = begun_message(message)
        self._known.objects[message_id] = _Shown("in_progress", streaming=True)
        yield StreamEvent("thread.message.created", begun)
        yield StreamEvent("thread.message.in_progress", begun)

    def _begin_calls(self, record: RunRecord, response_id: str) -> Generator[StreamEvent, None, str]:
        """The response's ``tool_calls`` step, begun at its first call; its id."""
        step_id = self._claim(record, tool_step_slot(response_id), "step")
        if step_id not in self._known.objects:
            step = begun_step(record.run, step_id, ToolCallsStepDetails(tool_calls=[]), now())
            self._stores.runs.begin_output(self._thread_id, self._run_id, response_id, [step])
            yield from self._shown_begun(self._stores.steps.get_step(self._thread_id, self._run_id, step_id))
        return step_id

    def _shown_begun(self, step: RunStep) -> Iterator[StreamEvent]:
        """The step as it began, even when the loop finished it first: its calls and its end follow."""
        if step.id in self._known.objects:
            return
        self._known.objects[step.id] = _Shown("in_progress")
        details = step.step_details
        begun = step.model_copy(
            update={
                "status": "in_progress",
                "step_details": ToolCallsStepDetails(tool_calls=[]) if details.type == "tool_calls" else details,
                "completed_at": None,
                "failed_at": None,
                "cancelled_at": None,
                "expired_at": None,
                "last_error": None,
                "usage": None,
            }
        )
        yield StreamEvent("thread.run.step.created", begun)
        yield StreamEvent("thread.run.step.in_progress", begun)

    def _claim(self, record: RunRecord, slot: str, prefix: str) -> str:
        if slot not in record.claims:
            record.claims[slot] = self._stores.runs.claim_id(self._thread_id, self._run_id, slot, new_id(prefix))
        return record.claims[slot]
