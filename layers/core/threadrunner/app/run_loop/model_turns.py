"""The run loop's side of the model: responses created against the day's budgets and behind the provider's
circuit, polled while the run goes on, cancelled (and counted) when nobody wants them any more."""

from __future__ import annotations

import time
from collections.abc import Callable

from ...config import Settings
from ...domain import model_input
from ...domain.budget import Reservation, today
from ...domain.circuits import provider_circuit
from ...domain.files import image_data_url
from ...domain.model_turn import ModelTurn, TurnRequest
from ...domain.run_record import RunRecord
from ...errors import ModelCircuitOpen, ModelUnavailable, NotFound, ThreadrunnerError
from ...ports import Circuits, FileContents, ModelClient, Stores
from .. import projects
from .state import LoopState

_POLL_INTERVAL_CEILING = 0.25
"""The longest pause between two polls of one task: the most a finished response waits to be seen."""
_CANCEL_CHECK_SECONDS = 1.0
"""How often a task polling the model reads its run, to stop when it is cancelled."""


class ModelTurns:
    """The responses of one run's turns, on the ports."""

    def __init__(
        self,
        stores: Stores,
        model: Callable[[], ModelClient],
        circuits: Circuits,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        contents: FileContents | None = None,
    ) -> None:
        self._stores = stores
        self._model_factory = model
        self._circuits = circuits
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._contents = contents

    @property
    def model(self) -> ModelClient:
        # Built on first use: the tasks that never call the model never import its SDK.
        return self._model_factory()

    def with_image_files(self, request: TurnRequest) -> TurnRequest:
        """The request with the project's image files read into ``data:`` URLs (the provider cannot read them)."""
        for message in request.messages:
            for image in message.images:
                if image.file_id is None:
                    continue
                try:
                    file = self._stores.files.get_file(image.file_id)
                    assert self._contents is not None, "this function reads no files"
                    data = self._contents.read(self._stores.files.content_key(image.file_id))
                except NotFound:
                    message.text += f"\n[The image {image.file_id} was deleted.]"
                    continue
                image.url = image_data_url(file.filename, data)
            message.images = [image for image in message.images if image.url]
        return request

    def poll(self, state: LoopState, response_id: str) -> tuple[ModelTurn | None, int]:
        """Retrieve the response until it finishes or the poll window closes (``None`` if the run is cancelled
        meanwhile), and how often the provider was asked."""
        deadline = self._clock() + self._settings.poll_window_seconds
        interval, polls, checked = 0.1, 0, self._clock()
        while True:
            turn = self.model.retrieve(response_id)
            polls += 1
            if turn.is_finished or self._clock() + interval > deadline:
                return turn, polls
            self._sleep(interval)
            # A cancel is seen within a second: a read of the run at every poll would be most of the loop's reads.
            if self._clock() - checked >= _CANCEL_CHECK_SECONDS:
                checked = self._clock()
                if self._stores.runs.get_run(state.thread_id, state.run_id).status != "in_progress":
                    return None, polls
            # A quarter second at most: the delay a finished response waits to be seen.
            interval = min(interval * 1.5, _POLL_INTERVAL_CEILING)

    def _create(self, state: LoopState, record: RunRecord, request: TurnRequest) -> ModelTurn:
        """Create a model response, with its tokens reserved against the day's budgets first.

        Raises :class:`~threadrunner.errors.BudgetExceeded` (the run fails) when a budget is used up.
        """
        reservation = Reservation(
            day=today(),
            user_id=self._stores.threads.thread_user(state.thread_id),
            **model_input.reservation_for(request, record.usage, self._settings.output_reserve_tokens),
        )
        self._stores.usage.reserve(reservation, projects.budget_of(self._stores, self._settings.run_defaults))
        try:
            turn = self._created(request)
        except BaseException:
            self._stores.usage.release(reservation)  # no response, no usage
            raise
        self._stores.usage.record_response(turn.id, reservation, state.thread_id, state.run_id)
        return turn

    def _created(self, request: TurnRequest) -> ModelTurn:
        """The response, created behind the project's circuit of the provider: while the provider keeps failing
        the project's turns, a turn fails at once (:class:`~threadrunner.errors.ModelCircuitOpen`) instead of
        waiting out its retries. Only the provider's own failures count (5xx, timeouts, no connection), never its
        refusal of a request (4xx) or its rate limit (429, which the SDK waits out)."""

        def unavailable() -> ModelTurn:
            raise ModelCircuitOpen(
                "The model provider is temporarily unavailable: its last calls failed, so new turns are not sent "
                "to it for a while. Try the run again later."
            )

        turn, _ = self._circuits.guard(
            provider_circuit(self._stores.project),
            lambda: self.model.create(request),
            unavailable,
            counted=(ModelUnavailable,),
        )
        return turn

    def begin(self, state: LoopState, record: RunRecord, request: TurnRequest, tool_round: bool, at_ms: int) -> str:
        """Create the turn's response (asked for at ``at_ms``) and make it the run's current one; the response's id."""
        turn = self._create(state, record, request)
        try:
            self._stores.runs.set_turn(
                state.thread_id, state.run_id, turn.id, tool_round=tool_round, started_at_ms=at_ms
            )
        except NotFound:  # the thread was deleted while the response was created: nobody else knows of it
            self.cancel_quietly(turn.id)
            raise
        return turn.id

    def cancel_quietly(self, response_id: str) -> None:
        """Stop paying for a response, and count what it used (or, if the provider will not say, its prompt)."""
        usage = None
        try:
            turn = self.model.cancel(response_id)
            usage = turn.usage
        except ThreadrunnerError:  # it finished first, or the provider is unreachable: ask what it used
            try:
                usage = self.model.retrieve(response_id).usage
            except ThreadrunnerError:
                pass
        self._stores.usage.settle(response_id, usage)
