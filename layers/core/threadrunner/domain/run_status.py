"""Run statuses and the one table of legal moves between them.

Every status change of a run goes through :func:`sources_of`: the DynamoDB store turns the
table into a condition expression, so an illegal move (a late ``completed`` after a cancel,
say) changes nothing.
"""

from __future__ import annotations

from typing import Literal, get_args

RunStatus = Literal[
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]

ALL_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

TERMINAL: frozenset[RunStatus] = frozenset({"cancelled", "failed", "completed", "incomplete", "expired"})
"""A run in one of these statuses never changes again."""

ACTIVE: frozenset[RunStatus] = frozenset(set(ALL_STATUSES) - TERMINAL)
"""While a thread has a run in one of these statuses, it takes no new message and no new run."""

_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    "queued": frozenset({"in_progress", "cancelling", "cancelled", "failed", "expired"}),
    "in_progress": frozenset({"requires_action", "cancelling", "completed", "incomplete", "failed", "expired"}),
    "requires_action": frozenset({"in_progress", "cancelling", "failed", "expired"}),
    "cancelling": frozenset({"cancelled", "failed"}),
}


def can_move(source: RunStatus, target: RunStatus) -> bool:
    """Whether a run may go from ``source`` to ``target``."""
    return target in _TRANSITIONS.get(source, frozenset())


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """The statuses a run may move to ``target`` from."""
    return frozenset(source for source, targets in _TRANSITIONS.items() if target in targets)


def is_terminal(status: RunStatus) -> bool:
    """Whether a run in ``status`` is finished for good."""
    return status in TERMINAL
