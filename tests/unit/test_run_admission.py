"""A run the project may not start (budget spent, too many unfinished runs) is refused before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeCatalogue, FakeControl, FakeJobs, World, fake_stores
from threadrunner.app import threads
from threadrunner.app.requests.runs import ThreadAndRunCreate
from threadrunner.config import Settings
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import Budget, ProjectLimits, ProjectPolicy
from threadrunner.domain.common import Usage
from threadrunner.errors import BudgetExceeded, TooManyActiveRuns

DEFAULTS = Settings.model_validate({}).run_defaults
REQUEST = ThreadAndRunCreate.model_validate(
    {"assistant_id": "asst_1", "thread": {"messages": [{"role": "user", "content": "Hello"}]}}
)


def _project(policy: ProjectPolicy) -> tuple[World, Any]:
    world = World(policy=policy)
    stores = fake_stores(world)
    stores.assistants.put_assistant(Assistant(id="asst_1", created_at=1, model="m"))
    return world, stores


def _create_and_run(stores):
    return threads.create_thread_and_run(stores, FakeControl(), FakeCatalogue(), FakeJobs(), REQUEST, DEFAULTS)


def test_given_a_project_at_its_limit_of_runs_when_a_thread_and_run_is_asked_then_no_thread_is_made():
    world, stores = _project(ProjectPolicy(limits=ProjectLimits(active_runs=1)))
    world.active_runs.add(("thread_busy", "run_busy"))

    for _ in range(3):  # the SDK retries a 429 twice
        with pytest.raises(TooManyActiveRuns) as refused:
            _create_and_run(stores)

    assert refused.value.code == "too_many_active_runs" and world.threads == {}


def test_given_a_concurrent_run_takes_the_last_place_after_the_check_then_the_thread_made_for_the_run_goes():
    world, stores = _project(ProjectPolicy(limits=ProjectLimits(active_runs=1)))
    checks: list[int] = []

    def room_then_taken(limit: int) -> bool:
        checks.append(limit)
        if len(checks) == 2:  # between the run's check and its write, another run takes the last place
            world.active_runs.add(("thread_other", "run_other"))
        return True

    stores.runs.has_room_for_run = room_then_taken

    with pytest.raises(TooManyActiveRuns):
        _create_and_run(stores)

    assert world.threads == {}


def test_given_a_budget_used_up_between_two_reads_when_a_thread_and_run_is_asked_then_no_thread_is_left():
    world, stores = _project(ProjectPolicy(budget=Budget(daily_tokens=1000)))
    today = stores.usage.usage_today
    reads: list[int] = []

    def usage_growing(day, user_id=None):
        """Concurrent runs reserve tokens while this request is served: each read finds more."""
        reads.append(1)
        used = today(day, user_id)
        return used.model_copy(update={"usage": Usage(total_tokens=600 * len(reads))}) if user_id is None else used

    stores.usage.usage_today = usage_growing

    with pytest.raises(BudgetExceeded) as refused:
        _create_and_run(stores)

    assert refused.value.code == "daily_budget_exceeded" and world.threads == {}


def test_given_room_and_budget_when_a_thread_and_run_is_asked_then_both_are_made():
    world, stores = _project(ProjectPolicy(budget=Budget(daily_tokens=1000), limits=ProjectLimits(active_runs=1)))

    thread, run = _create_and_run(stores)

    assert list(world.threads) == [thread.id] and world.active_runs == {(thread.id, run.id)}
