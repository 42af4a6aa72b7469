"""Users on fakes: the queue keeps every message in order, and a user never gets stuck."""

from __future__ import annotations

import pytest

from tests.fakes import FakeControl, FakeJobs, World, fake_stores
from threadrunner.app import user_queue, users
from threadrunner.app.requests.users import UserMessageCreate
from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import ProjectLimits, ProjectPolicy
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run import Run
from threadrunner.domain.user import QueuedUserMessage
from threadrunner.errors import Conflict, NotFound, TooManyActiveRuns

DEFAULTS = RunDefaults()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def stores(world):
    stores = fake_stores(world)
    stores.assistants.put_assistant(Assistant(id="asst_1", created_at=1, model="m"))
    return stores


def _post(stores, text: str, **fields):
    body = UserMessageCreate(assistant_id="asst_1", content=text, **fields)
    return users.post_user_message(stores, FakeControl(), "alice", body, DEFAULTS)


def _end(stores, run: Run) -> None:
    stores.runs.transition_run(run.thread_id, run.id, "in_progress")
    stores.runs.transition_run(run.thread_id, run.id, "completed")


def test_given_a_first_message_when_posted_then_the_user_gets_a_thread_and_a_run_that_answers_it():
    stores = fake_stores(World())
    stores.assistants.put_assistant(Assistant(id="asst_1", created_at=1, model="m"))

    run = _post(stores, "hello")

    assert isinstance(run, Run) and run.status == "queued"
    assert stores.users.get_user("alice").thread_id == run.thread_id
    assert [m.text for m in stores.threads.list_messages(run.thread_id, PageRequest(order="asc")).data] == ["hello"]


def test_given_a_busy_thread_when_messages_arrive_then_they_queue_in_order_and_one_run_answers_them_all(stores):
    first = _post(stores, "one")
    queued = [_post(stores, text) for text in ("two", "three")]

    assert [(q.object, q.position) for q in queued if isinstance(q, QueuedUserMessage)] == [
        ("user.message.queued", 1),
        ("user.message.queued", 2),
    ]
    _end(stores, first)
    follow_up = user_queue.drain(stores, FakeControl(), first.thread_id, DEFAULTS)

    assert follow_up is not None
    texts = [m.text for m in stores.threads.list_messages(first.thread_id, PageRequest(order="asc")).data]
    assert texts == ["one", "two", "three"] and stores.users.queued(first.thread_id, 10) == []


def test_given_a_busy_thread_when_a_message_must_not_wait_then_it_is_refused_and_nothing_is_queued(stores):
    first = _post(stores, "one")

    with pytest.raises(Conflict):
        _post(stores, "now or never", if_busy="reject")
    assert stores.users.queued(first.thread_id, 10) == []


def test_given_a_users_thread_deleted_when_the_user_writes_again_then_a_new_thread_takes_over(stores, world):
    first = _post(stores, "one")
    _end(stores, first)
    world.threads[first.thread_id].user_id = None  # a mapping whose thread vanished behind its back
    del world.threads[first.thread_id]

    assert users.list_user_messages(stores, "alice", PageRequest()).data == []
    second = _post(stores, "again")

    assert isinstance(second, Run) and second.thread_id != first.thread_id
    assert stores.users.get_user("alice").thread_id == second.thread_id
    users.delete_user(stores, FakeControl(), "alice")
    with pytest.raises(NotFound):
        users.get_user(stores, "alice")


def test_given_a_project_at_its_limit_when_a_user_writes_then_it_is_refused_and_nothing_stays_queued(stores, world):
    stores.projects.set_policy(ProjectPolicy(limits=ProjectLimits(active_runs=1)))
    world.active_runs.add(("thread_other", "run_other"))
    defaults = RunDefaults()

    with pytest.raises(TooManyActiveRuns):
        users.post_user_message(
            stores, FakeControl(), "alice", UserMessageCreate(assistant_id="asst_1", content="hi"), defaults
        )
    thread_id = stores.users.get_user("alice").thread_id
    assert stores.users.queued(thread_id, 10) == []


def test_a_run_created_on_a_users_thread_counts_against_the_users_budget(world, stores):
    from threadrunner.app import runs
    from threadrunner.app.requests.runs import RunCreate
    from threadrunner.domain.budget import Budget, DayUsage, today
    from threadrunner.domain.common import Usage
    from threadrunner.errors import BudgetExceeded

    first = _post(stores, "hello")
    _end(stores, first)
    world.policy = ProjectPolicy(budget=Budget(daily_tokens_per_user=10))
    world.days[(today(), "alice")] = DayUsage(usage=Usage(total_tokens=10))
    with pytest.raises(BudgetExceeded, match="user"):
        runs.create_run(
            stores, FakeControl(), None, FakeJobs(), first.thread_id, RunCreate(assistant_id="asst_1"), DEFAULTS
        )
    world.days[(today(), "alice")] = DayUsage(usage=Usage(total_tokens=9))
    assert runs.create_run(
        stores, FakeControl(), None, FakeJobs(), first.thread_id, RunCreate(assistant_id="asst_1"), DEFAULTS
    )
