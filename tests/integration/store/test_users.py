"""The user store's contract (each user's thread and its queue), and the start of a run for the queue, on DynamoDB
and on the fakes."""

from __future__ import annotations

import pytest

from threadrunner.domain.budget import Reservation
from threadrunner.domain.common import Usage, now
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.thread import Thread
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.errors import NotFound, TooManyActiveRuns
from threadrunner.ports import Stores

from .builders import a_run, end, message, new_run, new_thread


def _user(store: Stores, user_id: str = "ann@example.com") -> tuple[UserRecord, Thread]:
    thread = Thread(id=new_id("thread"), created_at=now())
    return store.users.create_user(UserRecord(user_id=user_id, thread_id=thread.id, created_at=123), thread), thread


def _queue(store: Stores, thread: Thread, count: int) -> list[QueuedMessage]:
    queued = [QueuedMessage(message=message(thread.id, f"q{n}"), assistant_id=f"asst_{n}") for n in range(count)]
    for entry in queued:
        store.users.enqueue(entry)
    return queued


def test_a_user_is_created_with_a_thread_of_its_own(store):
    user, thread = _user(store)

    assert user == UserRecord(user_id="ann@example.com", thread_id=thread.id, created_at=123)
    assert store.users.get_user("ann@example.com") == user
    assert store.threads.get_thread(thread.id) == thread
    assert store.threads.thread_user(thread.id) == "ann@example.com"
    assert store.users.get_user("nobody") is None


def test_of_two_first_messages_at_once_one_creates_the_user_and_the_other_finds_it(store):
    user, _ = _user(store)
    other = Thread(id=new_id("thread"), created_at=now())

    found = store.users.create_user(UserRecord(user_id=user.user_id, thread_id=other.id, created_at=456), other)

    assert found == user == store.users.get_user(user.user_id)
    with pytest.raises(NotFound):
        store.threads.get_thread(other.id)


def test_a_user_moves_to_a_new_thread_only_from_the_thread_the_caller_saw_keeping_its_usage(store):
    user, old = _user(store)
    reservation = Reservation(day="2026-01-01", user_id=user.user_id, prompt_tokens=5, completion_tokens=0)
    store.usage.record_response("resp_1", reservation, old.id, "run_1")
    store.usage.settle("resp_1", Usage(prompt_tokens=4, completion_tokens=1, total_tokens=5))
    new, late = Thread(id=new_id("thread"), created_at=now()), Thread(id=new_id("thread"), created_at=now())

    # As the use case asks: a record of the user on the new thread, made afresh.
    moved = store.users.create_user(UserRecord(user_id=user.user_id, thread_id=new.id, created_at=1), new, old.id)
    again = store.users.create_user(UserRecord(user_id=user.user_id, thread_id=late.id, created_at=2), late, old.id)

    assert moved == again == store.users.get_user(user.user_id)
    assert moved == user.model_copy(
        update={"thread_id": new.id, "usage": Usage(prompt_tokens=4, completion_tokens=1, total_tokens=5)}
    )
    assert store.threads.thread_user(new.id) == user.user_id
    with pytest.raises(NotFound):
        store.threads.get_thread(late.id)


def test_a_user_deleted_while_its_thread_was_replaced_is_created_again_on_the_new_thread(store):
    thread = Thread(id=new_id("thread"), created_at=now())
    record = UserRecord(user_id="gone", thread_id=thread.id, created_at=789)

    created = store.users.create_user(record, thread, replacing=new_id("thread"))

    assert created == record == store.users.get_user("gone")
    assert store.threads.thread_user(thread.id) == "gone"


def test_a_deleted_user_is_gone_and_its_thread_stays(store):
    user, thread = _user(store)

    store.users.delete_user(user.user_id)

    assert store.users.get_user(user.user_id) is None
    with pytest.raises(NotFound):
        store.users.delete_user(user.user_id)
    assert store.threads.get_thread(thread.id) == thread


def test_a_threads_queue_gives_its_oldest_messages_first_and_each_once(store):
    _, thread = _user(store)
    queued = _queue(store, thread, 4)

    assert store.users.queued(thread.id, 10) == queued
    assert store.users.queued(thread.id, 2) == queued[:2]
    assert store.users.dequeue(thread.id, queued[1].message.id) is True
    assert store.users.dequeue(thread.id, queued[1].message.id) is False
    assert store.users.queued(thread.id, 10) == [queued[0], *queued[2:]]
    assert store.threads.list_messages(thread.id, PageRequest()).data == []  # waiting, not in the thread


def test_no_queued_message_outlives_its_thread(store):
    _, thread = _user(store)
    (queued,) = _queue(store, thread, 1)
    store.threads.delete_thread(thread.id)

    with pytest.raises(NotFound):
        store.users.enqueue(QueuedMessage(message=message(thread.id, "late"), assistant_id="asst_x"))
    with pytest.raises(NotFound):
        store.users.enqueue(QueuedMessage(message=message(new_id("thread"), "nowhere"), assistant_id="asst_x"))
    assert store.users.queued(thread.id, 10) == []
    assert store.users.dequeue(thread.id, queued.message.id) is False


def test_a_queued_run_takes_its_messages_out_of_the_queue_into_the_thread_at_once(store):
    _, thread = _user(store)
    queued = _queue(store, thread, 3)
    landed = [entry.message.model_copy(update={"id": new_id("msg")}) for entry in queued[:2]]
    run = a_run(thread)

    assert store.runs.start_queued_run(run, queued[:2], landed, ["vs_1"], max_active_runs=5)

    assert store.users.queued(thread.id, 10) == queued[2:]
    assert store.threads.list_messages(thread.id, PageRequest(order="asc")).data == landed
    assert store.threads.active_run_id(thread.id) == run.id
    assert store.runs.get_run_record(thread.id, run.id).vector_store_ids == ["vs_1"]
    assert not store.runs.has_room_for_run(1)


def test_a_queued_run_starts_only_on_an_idle_thread_with_its_messages_still_queued(store):
    _, thread = _user(store)
    queued = _queue(store, thread, 2)
    landed = [entry.message.model_copy(update={"id": new_id("msg")}) for entry in queued]
    busy = new_run(store, thread)

    assert not store.runs.start_queued_run(a_run(thread), queued, landed, [])  # the thread is busy
    end(store, busy)
    store.users.dequeue(thread.id, queued[0].message.id)  # another drain took it
    assert not store.runs.start_queued_run(a_run(thread), queued, landed, [])
    gone = new_thread(store)[0]
    store.threads.delete_thread(gone.id)
    assert not store.runs.start_queued_run(a_run(gone), [], [], [])

    assert store.users.queued(thread.id, 10) == queued[1:]
    assert store.threads.list_messages(thread.id, PageRequest()).data == []
    assert store.runs.list_runs(thread.id, PageRequest()).data == [store.runs.get_run(thread.id, busy.id)]


def test_a_queued_run_waits_while_the_project_is_at_its_limit_of_unfinished_runs(store):
    _, thread = _user(store)
    queued = _queue(store, thread, 1)
    new_run(store, new_thread(store)[0])

    with pytest.raises(TooManyActiveRuns):
        store.runs.start_queued_run(a_run(thread), queued, [queued[0].message], [], max_active_runs=1)

    assert store.users.queued(thread.id, 10) == queued
    assert store.threads.active_run_id(thread.id) is None
