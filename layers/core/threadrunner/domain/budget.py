"""Daily budgets of a project (tokens, and seconds of code execution) and of each of its users, and what a project
may do at once.

Every model response counts against the budgets of its UTC day, whatever happens to its run or
thread afterwards: before it is created it **reserves** an estimate of its tokens, and when it
ends (completed, failed, cancelled, or cut off by a deleted thread) the reservation is replaced by
what the provider says it used, or, if the provider never said, by the estimate of its prompt.
A response may start only while the day's committed tokens (used plus reserved) are under the
budget, so concurrent runs overshoot a budget by at most what their running responses use beyond
their reservations.

Seconds of ``code_interpreter`` execution are counted when each execution ends; a call runs code only while the
day's seconds are under the project's budget, so concurrent calls overshoot it by at most their own executions.
"""

from __future__ import annotations

import datetime

from pydantic import BaseModel, Field

from .common import Usage

OUTPUT_RESERVE_TOKENS = 32_768
"""What a response without ``max_output_tokens`` reserves for its answer until the provider counts it, unless the
deployment says otherwise (``OUTPUT_RESERVE_TOKENS``): the most that today's models write in one response, so a
response the provider counts late (a background one) cannot use much beyond what it set aside."""


class Budget(BaseModel):
    """What a project may use per UTC day; ``None`` is no limit."""

    daily_tokens: int | None = Field(None, ge=0)
    """Tokens, for the whole project."""
    daily_tokens_per_user: int | None = Field(None, ge=0)
    """Tokens, for each user of ``/v1/users``."""
    daily_code_interpreter_seconds: int | None = Field(None, ge=0)
    """Seconds of ``code_interpreter`` execution, for the whole project."""


class ProjectLimits(BaseModel):
    """How much a project may do at once; ``None`` is no limit."""

    active_runs: int | None = Field(None, ge=1)
    """Runs that are not finished (queued, in progress, waiting for tool outputs, cancelling)."""
    requests_per_minute: int | None = Field(None, ge=1)
    """Requests to the API per minute."""
    open_streams: int | None = Field(None, ge=1)
    """Answers streamed at once (``stream: true``): each holds a function instance while it lasts."""


class ProjectPolicy(BaseModel):
    """What a project's operator set for it (``scripts/keys.py``); what is not set comes from the deployment."""

    budget: Budget | None = None
    limits: ProjectLimits = Field(default_factory=ProjectLimits)
    models: list[str] | None = None
    """The models its assistants and runs may name; ``None``: any."""
    hosted_tools: list[str] = Field(default_factory=list)
    """The provider's tools its forwarded requests may use (``web_search``, ``image_generation``, ...): the hosted
    ones are priced per call, outside the token budgets; none by default."""


class Reservation(BaseModel):
    """Tokens a model response sets aside against its day's budgets while it runs."""

    day: str
    """The UTC day it counts under, ``YYYY-MM-DD``."""
    user_id: str | None = None
    """The user whose thread it is, for per-user budgets."""
    prompt_tokens: int
    """The estimated prompt: charged when the provider never reports the response's usage."""
    completion_tokens: int
    """What the answer may take."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UnsettledResponse(BaseModel):
    """A forwarded response that was still running when it was answered (a background one): no request is bound to
    see it end, so a sweep settles it once it has."""

    project: str
    response_id: str
    reservation: Reservation
    """What it set aside: the whole of it is charged if the provider no longer has the response."""


class DayUsage(BaseModel):
    """A project's (or one user's) tokens of one UTC day."""

    usage: Usage = Field(default_factory=Usage)
    """What the responses that ended used."""
    reserved: int = 0
    """What the responses still running set aside."""
    code_interpreter_seconds: float = 0.0
    """Seconds of ``code_interpreter`` execution (the project's day only)."""

    @property
    def committed(self) -> int:
        """What counts against a budget."""
        return self.usage.total_tokens + self.reserved


def today() -> str:
    """The UTC day usage is counted under, ``YYYY-MM-DD``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")


def estimate_tokens(text: str) -> int:
    """A cautious count of the tokens of ``text`` before the provider counts them: four characters of ASCII a
    token, and a token for every two bytes of UTF-8 beyond ASCII (a letter of Cyrillic or Greek, two bytes, is
    about a token; a CJK character, three bytes, often more than one)."""
    if text.isascii():
        return -(-len(text) // 4)
    ascii_characters = len(text.encode("ascii", "ignore"))
    other_bytes = len(text.encode("utf-8", "surrogatepass")) - ascii_characters
    return -(-(ascii_characters + 2 * other_bytes) // 4)


def over_budget(budget: Budget, project_today: DayUsage, user_today: DayUsage | None) -> str | None:
    """Why no run may start now, or ``None`` if one may."""
    if budget.daily_tokens is not None and project_today.committed >= budget.daily_tokens:
        return (
            f"The project's daily token budget of {budget.daily_tokens} is used up "
            f"({project_today.committed} tokens today, running responses included); it renews at 00:00 UTC."
        )
    limit = budget.daily_tokens_per_user
    if user_today is not None and limit is not None and user_today.committed >= limit:
        return (
            f"This user's daily token budget of {limit} is used up ({user_today.committed} tokens today, "
            "running responses included); it renews at 00:00 UTC."
        )
    return None


def over_code_budget(budget: Budget, project_today: DayUsage) -> str | None:
    """Why no code may run now (the day's seconds of execution reached the budget), or ``None`` if it may."""
    limit = budget.daily_code_interpreter_seconds
    if limit is None or project_today.code_interpreter_seconds < limit:
        return None
    return (
        f"The project's daily code_interpreter budget of {limit} seconds is used up "
        f"({project_today.code_interpreter_seconds:.1f} seconds today); it renews at 00:00 UTC. No code was run."
    )
