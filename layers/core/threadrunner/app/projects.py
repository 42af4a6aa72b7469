"""What a project may do: its budget, limits, models and vector stores, its own or the deployment's."""

from __future__ import annotations

import time
from typing import Any

from ..domain.budget import Budget, ProjectLimits, ProjectPolicy, over_budget, today
from ..domain.deployment import RunDefaults
from ..domain.ids import new_id
from ..errors import BudgetExceeded, InvalidRequest, NotFound, TooManyActiveRuns, TooManyOpenStreams
from ..ports import Stores


def budget_of(stores: Stores, defaults: RunDefaults) -> Budget:
    """The project's daily budgets: its own, else the deployment's defaults."""
    return stores.projects.get_policy().budget or defaults.budget


def limits_of(policy: ProjectPolicy, defaults: RunDefaults) -> ProjectLimits:
    """The project's limits: each its own where set, else the deployment's."""
    own = policy.limits.model_dump(exclude_none=True)
    return ProjectLimits.model_validate({**defaults.limits.model_dump(exclude_none=True), **own})


OpenStream = tuple[str, int]
"""A stream counted among its project's open ones: its id, and when it stops counting (Unix seconds)."""

STREAM_EXPIRY_MARGIN_SECONDS = 60
"""How long after its longest life a stream stops counting when its end was never recorded (its container died)."""


def open_stream(stores: Stores, defaults: RunDefaults, seconds: float) -> OpenStream | None:
    """Count a streamed answer that lasts at most ``seconds`` among the project's open ones (``None``: the project
    has no limit, nothing is counted).

    Raises :class:`~threadrunner.errors.TooManyOpenStreams` when the project has as many open as it may.
    """
    limit = limits_of(stores.projects.get_policy(), defaults).open_streams
    if limit is None:
        return None
    stream = (new_id("stream"), int(time.time() + seconds) + STREAM_EXPIRY_MARGIN_SECONDS)
    if not stores.projects.open_stream(*stream, limit):
        raise TooManyOpenStreams(
            f"The project has {limit} streams open, the most it may have at once; retry when one has ended, "
            "or poll the run instead of streaming it.",
            code="too_many_open_streams",
        )
    return stream


def close_stream(stores: Stores, stream: OpenStream) -> None:
    """The stream ended: it no longer counts among the project's open ones."""
    stores.projects.close_stream(*stream)


def check_budget(
    stores: Stores, defaults: RunDefaults, user_id: str | None = None, thread_id: str | None = None
) -> None:
    """Refuse to start a run when the project's (or the user's) committed tokens of today reach its budget.

    The user is ``user_id``, or the user of ``thread_id`` (read only when there is a budget per user).
    """
    budget = budget_of(stores, defaults)
    if budget.daily_tokens is None and budget.daily_tokens_per_user is None:
        return
    day = today()
    if user_id is None and thread_id is not None and budget.daily_tokens_per_user is not None:
        user_id = stores.threads.thread_user(thread_id)
    user_today = stores.usage.usage_today(day, user_id) if user_id else None
    problem = over_budget(budget, stores.usage.usage_today(day), user_today)
    if problem:
        raise BudgetExceeded(problem, code="daily_budget_exceeded")


def admit_run(stores: Stores, defaults: RunDefaults, thread_id: str | None = None) -> int | None:
    """Refuse a run the project may not start now, before anything is written: its budget (or its user's) is
    used up, or it has as many unfinished runs as it may. The project's limit of unfinished runs is returned: the
    run's write checks it again, as a concurrent run may take the last place meanwhile."""
    check_budget(stores, defaults, thread_id=thread_id)
    limit = limits_of(stores.projects.get_policy(), defaults).active_runs
    if limit is not None and not stores.runs.has_room_for_run(limit):
        raise TooManyActiveRuns(limit)
    return limit


def check_model(stores: Stores, model: str) -> None:
    """Refuse a model the project's operator did not allow (``scripts/keys.py models``)."""
    allowed = stores.projects.get_policy().models
    if allowed is not None and model not in allowed:
        raise InvalidRequest(
            f"The model '{model}' is not allowed for this project; allowed: {', '.join(sorted(allowed))}.",
            param="model",
            code="model_not_allowed",
        )


def _vector_store_ids_of(tool_resources: Any) -> list[str]:
    return list(((tool_resources or {}).get("file_search") or {}).get("vector_store_ids") or [])


def check_resources(stores: Stores, tool_resources: Any) -> None:
    """Refuse vector stores and files (``code_interpreter.file_ids``) the project does not have."""
    for vector_store_id in _vector_store_ids_of(tool_resources):
        try:
            stores.vector_stores.get_store(vector_store_id)
        except NotFound as exc:
            raise InvalidRequest(
                f"No vector store found with id '{vector_store_id}'.",
                param="tool_resources.file_search.vector_store_ids",
            ) from exc
    file_ids = ((tool_resources or {}).get("code_interpreter") or {}).get("file_ids") or []
    for index, file_id in enumerate(file_ids):
        try:
            stores.files.get_file(file_id)
        except NotFound as exc:
            raise InvalidRequest(
                f"No file found with id '{file_id}'.", param=f"tool_resources.code_interpreter.file_ids[{index}]"
            ) from exc


def vector_store_ids(stores: Stores, *tool_resources: Any) -> list[str]:
    """The vector stores ``file_search`` searches: the thread's and the assistant's, as the hosted API searched
    both; only the ones the project still has."""
    ids = dict.fromkeys(
        vector_store_id for resource in tool_resources for vector_store_id in _vector_store_ids_of(resource)
    )
    return [vector_store_id for vector_store_id in ids if _exists(stores, vector_store_id)]


def _exists(stores: Stores, vector_store_id: str) -> bool:
    try:
        stores.vector_stores.get_store(vector_store_id)
    except NotFound:
        return False
    return True
