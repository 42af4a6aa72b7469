"""``/v1/usage`` and ``/v1/threads/{thread_id}/usage``: token usage, seconds of code and budgets (extensions)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app import projects
from ..domain.budget import Budget, today
from ..domain.common import Usage
from .dependencies import RunDefaultsDep, StoresDep

router = APIGatewayHttpRouter()


class ProjectUsage(BaseModel):
    object: Literal["project.usage"] = "project.usage"
    project: str
    date: str
    """The UTC day, ``YYYY-MM-DD``."""
    usage: Usage
    """Tokens of the model responses that ended that day, and of the texts embedded (files' chunks, searches)."""
    reserved_tokens: int
    """Tokens set aside by the responses still running; they count against the budget until they end."""
    code_interpreter_seconds: float
    """Seconds of ``code_interpreter`` execution that day."""
    daily_budget: Budget
    """The budget new runs and code are checked against (the project's own, else the deployment's)."""


class ThreadUsage(BaseModel):
    object: Literal["thread.usage"] = "thread.usage"
    thread_id: str
    usage: Usage
    """Tokens of the thread's finished runs."""


@router.get("/v1/usage", summary="The project's usage today and its budget (extension)")
def project_usage(stores: StoresDep, defaults: RunDefaultsDep) -> ProjectUsage:
    day = today()
    budget = projects.budget_of(stores, defaults)
    today_ = stores.usage.usage_today(day)
    return ProjectUsage(
        project=stores.project,
        date=day,
        usage=today_.usage,
        reserved_tokens=today_.reserved,
        code_interpreter_seconds=today_.code_interpreter_seconds,
        daily_budget=budget,
    )


@router.get("/v1/threads/<thread_id>/usage", summary="A thread's usage (extension)")
def thread_usage(thread_id: str, stores: StoresDep) -> ThreadUsage:
    return ThreadUsage(thread_id=thread_id, usage=stores.usage.thread_usage(thread_id))
