"""Embeddings in the project's ledger: what threadrunner embeds for a project (its files' chunks, its searches'
queries) counts against its daily token budget and in its usage, as the model's tokens do (docs/operations.md,
"Budgets and usage"), and is refused once the budget is used up."""

from __future__ import annotations

from collections.abc import Sequence

from ..domain.budget import Reservation, estimate_tokens, today
from ..domain.common import Usage
from ..domain.deployment import RunDefaults
from ..domain.vector_stores import Embedded
from ..ports import Embeddings, Stores
from . import projects


class MeteredEmbeddings:
    """:class:`~threadrunner.ports.Embeddings` of one project: each call reserves its texts' estimated tokens
    (refused with :class:`~threadrunner.errors.BudgetExceeded` when the day's budget is used up), then counts
    what the provider counted instead."""

    def __init__(self, embeddings: Embeddings, stores: Stores, defaults: RunDefaults) -> None:
        self._embeddings, self._stores, self._defaults = embeddings, stores, defaults

    @property
    def name(self) -> str:
        return self._embeddings.name

    def embed(self, texts: Sequence[str]) -> Embedded:
        estimate = sum(estimate_tokens(text) for text in texts)
        reservation = Reservation(day=today(), prompt_tokens=estimate, completion_tokens=0)
        self._stores.usage.reserve(reservation, projects.budget_of(self._stores, self._defaults))
        try:
            embedded = self._embeddings.embed(texts)
        except BaseException:
            self._stores.usage.release(reservation)  # nothing the provider counted
            raise
        self._stores.usage.spend(reservation, Usage(prompt_tokens=embedded.tokens, total_tokens=embedded.tokens))
        return embedded


def metered(embeddings: Embeddings | None, stores: Stores, defaults: RunDefaults) -> Embeddings | None:
    """The project's embeddings, counted and budgeted; ``None`` without embeddings (keywords cost no tokens)."""
    return None if embeddings is None else MeteredEmbeddings(embeddings, stores, defaults)
