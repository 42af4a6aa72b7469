"""A turn that waits for its response's webhook (webhook mode: docs/run-loop.md, "Webhooks").

In webhook mode the tasks that make a turn's response (StartTurn, SubmitToolOutputs) and CheckTurn, when the loop
waits again after polling, run in ``.waitForTaskToken`` states: their result is not the loop's, so each hands its
turn over through its task token. A turn that is done (stopped, waiting for files, asking for tool outputs) is handed
over at once. A turn whose response still runs is parked: the token stored on the run and the run named as the one
that waits on the response (``ResponseWebhooks.expect``), then one look at the response, which may have ended
meanwhile. The loop sleeps until the response's webhook has CheckTurn check the turn (it comes back here with the
delivery's ``webhook_id`` in the state), a cancel interrupts the token, or the wait's timeout sends the loop to poll.
Whoever finds the response ended first takes the token off the run (``take_task_token``): the loop is woken once.
"""

from __future__ import annotations

from collections.abc import Callable

from ...domain.model_turn import ModelTurn
from ...domain.run_record import RunRef
from ...ports import ResponseWebhooks, RunControl, Stores
from .state import Done, LoopState, TurnState


class WebhookWaits:
    """Turns handed to the loop through task tokens, on the ports."""

    def __init__(
        self,
        stores: Stores,
        webhooks: ResponseWebhooks | None,
        control: RunControl,
        retrieve: Callable[[str], ModelTurn],
    ) -> None:
        self._stores = stores
        self._webhooks = webhooks
        self._control = control
        self._retrieve = retrieve

    def hand_over(
        self, state: LoopState, done: Done, check: Callable[[ModelTurn], TurnState], stop: Callable[[], TurnState]
    ) -> Done:
        """``done`` as the task returns it; with a task token, its turn handed to the loop now, or once the turn's
        response ended (``check`` makes the turn of an ended response; ``stop`` the turn of a cancelled run)."""
        token, turn = state.task_token, done.turn
        if token is None:
            return done
        if turn.outcome != "pending" or turn.response_id is None:
            self._control.resume(token, state.after(turn))
            return done
        if state.webhook_id is None and not self._park(state, turn.response_id, token):
            # The run left in_progress before the token was stored (a cancel): nobody else wakes the loop.
            stopped = stop()
            self._control.resume(token, state.after(stopped))
            return Done(stopped, done.metrics)
        # Looked at once the token is stored: the webhook of a response that ended before then found no token.
        ended = self._retrieve(turn.response_id)
        if not ended.is_finished:
            return done  # the webhook, a cancel or the wait's timeout wakes the loop
        if not self._stores.runs.take_task_token(state.thread_id, state.run_id, token):
            return done  # the other look took it first (or the loop moved on): that one wakes the loop
        checked = check(ended)
        self._control.resume(token, state.after(checked))
        return Done(checked, done.metrics)

    def _park(self, state: LoopState, response_id: str, token: str) -> bool:
        """Store the token the loop waits on, and name the run as the response's; False when the run is not
        ``in_progress`` on the response any more."""
        if not self._stores.runs.wait_on(state.thread_id, state.run_id, response_id, token):
            return False
        assert self._webhooks is not None, "webhook mode needs the record of the provider's webhooks"
        self._webhooks.expect(
            response_id, RunRef(project=state.project, thread_id=state.thread_id, run_id=state.run_id)
        )
        return True
