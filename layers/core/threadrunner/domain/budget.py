"""Daily token budgets of a project and of each of its users."""

from __future__ import annotations

import datetime

from pydantic import BaseModel, Field

from .common import Usage


class Budget(BaseModel):
    """Tokens a project may use per UTC day; ``None`` is no limit."""

    daily_tokens: int | None = Field(None, ge=0)
    """For the whole project."""
    daily_tokens_per_user: int | None = Field(None, ge=0)
    """For each user of per-user conversations."""


def today() -> str:
    """The UTC day usage is counted under, ``YYYY-MM-DD``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")


def over_budget(budget: Budget, project_today: Usage, user_today: Usage | None) -> str | None:
    """Why no run may start now, or ``None`` if one may."""
    if budget.daily_tokens is not None and project_today.total_tokens >= budget.daily_tokens:
        return (
            f"The project's daily token budget of {budget.daily_tokens} is used up "
            f"({project_today.total_tokens} tokens today); it renews at 00:00 UTC."
        )
    limit = budget.daily_tokens_per_user
    if user_today is not None and limit is not None and user_today.total_tokens >= limit:
        return (
            f"This user's daily token budget of {limit} is used up ({user_today.total_tokens} tokens today); "
            "it renews at 00:00 UTC."
        )
    return None
