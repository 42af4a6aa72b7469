"""The provider's webhook of a background response that ended wakes the run waiting on it (docs/run-loop.md,
"Webhooks"): the delivery verified (``domain.webhooks``), its response's run found, each delivery taken once, and the
turn's check asked of the run loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from ..domain.webhooks import ResponseEnded, verified
from ..errors import Conflict, NotFound
from ..ports import ResponseWebhooks, Stores, TurnChecks
from .run_loop.state import LoopState, TurnState, webhook_mode


class Receipt(NamedTuple):
    """What a delivery did."""

    response_id: str
    run_id: str
    woken: bool
    """Whether the run waited on the response, and its turn is being checked."""


class Webhooks:
    """The webhooks of a deployment whose provider sends them."""

    def __init__(
        self,
        secret: Callable[[], str],
        receipts: ResponseWebhooks,
        checks: TurnChecks,
        stores_for: Callable[[str], Stores],
        wait_seconds: Callable[[], int],
    ) -> None:
        self._secret = secret
        """The provider's signing secret (two, space-separated, while it is rotated), read when a webhook comes."""
        self._receipts = receipts
        self._checks = checks
        self._stores_for = stores_for
        self._wait_seconds = wait_seconds

    def receive(self, headers: Mapping[str, str], body: bytes, now: float) -> Receipt:
        """Verify a delivery (``headers`` by lower-case name), then have the turn of the run waiting on its
        response checked and the loop woken.

        Raises what :func:`~threadrunner.domain.webhooks.verified` raises for a delivery it cannot verify,
        :class:`~threadrunner.errors.NotFound` for a response no run of the deployment waited on, and
        :class:`~threadrunner.errors.Conflict` for a delivery seen before with the same id and timestamp (a
        replay); none of them changes anything. A run that waits no more (woken by its own look, gone to poll,
        ended) is left as it is.
        """
        delivery = verified(self._secret(), headers, body, now)
        ref = self._receipts.expected(delivery.response_id)
        if ref is None:
            raise NotFound("response", delivery.response_id, param="data.id")
        if self._receipts.receive(delivery.webhook_id, delivery.timestamp) == "replayed":
            raise Conflict(
                "This webhook was received before, with the same webhook-id and timestamp: it is refused as a replay.",
                param="webhook-id",
                code="webhook_replayed",
            )
        # The provider's retry (signed anew) goes on as a first delivery would: the check wakes the loop once.
        return Receipt(delivery.response_id, ref.run_id, self._wake(delivery, LoopState(**ref.model_dump())))

    def _wake(self, delivery: ResponseEnded, state: LoopState) -> bool:
        """Whether the run still waits on the response: then its turn's check is asked for."""
        try:
            record = self._stores_for(state.project).runs.get_run_record(state.thread_id, state.run_id)
        except NotFound:  # the thread was deleted
            return False
        waiting = record.run.status == "in_progress" and record.response_id == delivery.response_id
        if not waiting or record.task_token is None:
            return False
        woken = state.model_copy(
            update={
                "turn": TurnState(response_id=delivery.response_id),
                "task_token": record.task_token,
                "webhook_id": delivery.webhook_id,
                **webhook_mode(self._wait_seconds()),
            }
        )
        self._checks.check(woken.model_dump(exclude_none=True))
        return True
