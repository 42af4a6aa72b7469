"""The thread store's contract (threads and their messages), on DynamoDB and on the fakes."""

from __future__ import annotations

import itertools

import pytest

from threadrunner.domain.code_interpreter import KeptSession
from threadrunner.domain.code_sandbox import CodeSession, SessionKey
from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.message import IncompleteDetails
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.run_record import message_slot
from threadrunner.domain.thread import Thread
from threadrunner.domain.user import QueuedMessage, UserRecord
from threadrunner.errors import CodeSessionBusy, NotFound, RunActive

from .builders import end, ids, message, new_run, new_thread, pages_like_a_list, running, tool_step


def test_a_thread_reads_back_with_the_messages_it_was_created_with(store):
    thread = Thread(
        id=new_id("thread"),
        created_at=now(),
        metadata={"k": "v"},
        tool_resources={"file_search": {"vector_store_ids": ["vs_1"]}},
    )
    first, second = message(thread.id, "one"), message(thread.id, "two", metadata={"m": "1"})

    store.threads.create_thread(thread, [first, second])

    assert store.threads.get_thread(thread.id) == thread
    assert store.threads.list_messages(thread.id, PageRequest(order="asc")).data == [first, second]
    assert store.threads.get_message(thread.id, second.id) == second
    assert (store.threads.thread_user(thread.id), store.threads.active_run_id(thread.id)) == (None, None)


def test_a_thread_the_project_does_not_have_is_not_found(store):
    missing = new_id("thread")

    for call in (
        lambda: store.threads.get_thread(missing),
        lambda: store.threads.update_thread(missing, {"metadata": {"k": "v"}}),
        lambda: store.threads.delete_thread(missing),
        lambda: store.threads.thread_user(missing),
        lambda: store.threads.active_run_id(missing),
        lambda: store.threads.add_message(message(missing)),
        lambda: store.threads.list_messages(missing, PageRequest()),
        lambda: store.threads.get_message(missing, new_id("msg")),
        lambda: store.threads.update_message(missing, new_id("msg"), {"metadata": {}}),
        lambda: store.threads.delete_message(missing, new_id("msg")),
        lambda: store.threads.get_thread("thread_../x"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.threads.list_threads(PageRequest()).data == []


def test_an_update_sets_the_threads_fields_and_keeps_the_others(store):
    thread, _ = new_thread(store)

    updated = store.threads.update_thread(thread.id, {"tool_resources": {"code_interpreter": {"file_ids": ["file-1"]}}})

    assert updated == store.threads.get_thread(thread.id)
    assert (updated.metadata, updated.tool_resources, updated.created_at) == (
        thread.metadata,
        {"code_interpreter": {"file_ids": ["file-1"]}},
        thread.created_at,
    )


def test_a_message_is_updated_and_deleted_on_its_own(store):
    thread, (kept, changed) = new_thread(store, messages=2)

    updated = store.threads.update_message(
        thread.id,
        changed.id,
        {"metadata": {"m": "2"}, "status": "incomplete", "incomplete_details": {"reason": "run_cancelled"}},
    )
    shown = store.threads.get_message(thread.id, changed.id)

    assert updated == shown
    assert (shown.metadata, shown.status, shown.incomplete_details, shown.content) == (
        {"m": "2"},
        "incomplete",
        IncompleteDetails(reason="run_cancelled"),
        changed.content,
    )
    store.threads.delete_message(thread.id, changed.id)
    for call in (
        lambda: store.threads.get_message(thread.id, changed.id),
        lambda: store.threads.update_message(thread.id, changed.id, {"metadata": {}}),
        lambda: store.threads.delete_message(thread.id, changed.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.threads.list_messages(thread.id, PageRequest()).data == [kept]


def test_messages_are_listed_in_pages_by_creation_and_nothing_else_of_the_thread_is(store):
    thread, messages = new_thread(store, messages=7)
    run = new_run(store, thread)  # a run and its step share the thread's partition with the messages
    tool_step(store, run, "client")

    pages_like_a_list(lambda page: store.threads.list_messages(thread.id, page), [m.id for m in messages])


def test_the_newest_messages_come_newest_first_as_far_as_the_caller_reads(store):
    thread, messages = new_thread(store, messages=57)  # more than one page of the table's reads

    newest = store.threads.newest_messages(thread.id)

    assert [m.id for m in itertools.islice(newest, 3)] == [m.id for m in messages[:-4:-1]]
    assert [m.id for m in newest] == [m.id for m in messages[-4::-1]]
    assert list(store.threads.newest_messages(new_thread(store)[0].id)) == []
    assert list(store.threads.newest_messages(new_id("thread"))) == []  # a thread deleted under the loop


def test_an_active_run_locks_its_thread_against_messages_until_it_ends(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    late = message(thread.id, "late")

    with pytest.raises(RunActive, match=f"Can't add messages to {thread.id} while a run {run.id} is active"):
        store.threads.add_message(late)

    assert store.threads.active_run_id(thread.id) == run.id
    assert store.threads.list_messages(thread.id, PageRequest()).data == []
    end(store, run)
    store.threads.add_message(late)
    assert store.threads.active_run_id(thread.id) is None
    assert store.threads.list_messages(thread.id, PageRequest()).data == [late]


def test_a_runs_messages_are_the_ones_its_turns_claimed_and_wrote(store):
    thread, (asked,) = new_thread(store, messages=1)
    run = running(store, thread)
    answers = [message(thread.id, f"answer {n}", role="assistant", run_id=run.id) for n in range(2)]
    for n, answer in enumerate(answers):
        store.runs.claim_id(thread.id, run.id, message_slot(f"resp_{n}"), answer.id)
    store.runs.claim_id(thread.id, run.id, message_slot("resp_cancelled"), new_id("msg"))  # a cancel beat its write
    store.runs.transition_run(thread.id, run.id, "completed", completed_at=now(), puts=answers)

    assert store.threads.list_messages(thread.id, PageRequest(), run_id=run.id).data == answers[::-1]
    assert store.threads.list_messages(thread.id, PageRequest(order="asc", limit=1), run_id=run.id).data == [answers[0]]
    assert store.threads.list_messages(thread.id, PageRequest(), run_id=new_id("run")).data == []
    assert ids(store.threads.list_messages(thread.id, PageRequest(order="asc"))) == [asked.id, *[a.id for a in answers]]


def test_threads_are_listed_in_pages_by_creation_without_those_being_deleted(store):
    made = [new_thread(store)[0] for _ in range(5)]

    pages_like_a_list(store.threads.list_threads, [t.id for t in made])
    assert store.threads.list_threads(PageRequest(limit=1)).data == [made[-1]]
    store.threads.delete_thread(made[2].id)
    assert ids(store.threads.list_threads(PageRequest(order="asc"))) == [t.id for t in made if t != made[2]]


def test_deleting_a_thread_deletes_everything_in_it_and_the_mapping_of_its_user(store):
    thread = Thread(id=new_id("thread"), created_at=now())
    user = UserRecord(user_id="ann@example.com", thread_id=thread.id, created_at=now())
    store.users.create_user(user, thread)
    first = message(thread.id, "first")
    store.threads.add_message(first)
    store.users.enqueue(QueuedMessage(message=message(thread.id, "waiting"), assistant_id="asst_x"))
    run = running(store, thread)
    step, _ = tool_step(store, run, "client")

    store.threads.delete_thread(thread.id)

    for call in (
        lambda: store.threads.get_thread(thread.id),
        lambda: store.threads.get_message(thread.id, first.id),
        lambda: store.runs.get_run(thread.id, run.id),
        lambda: store.steps.get_step(thread.id, run.id, step.id),
        lambda: store.threads.delete_thread(thread.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.users.queued(thread.id, 10) == []
    assert store.steps.get_tool_calls(thread.id, run.id, step.id) == []
    assert store.users.get_user(user.user_id) is None
    assert store.runs.has_room_for_run(1)  # its run, which will never end, left the project's unfinished runs


def test_deleting_a_users_old_thread_leaves_the_user_on_the_new_one(store):
    old, new = Thread(id=new_id("thread"), created_at=now()), Thread(id=new_id("thread"), created_at=now())
    user = store.users.create_user(UserRecord(user_id="bob", thread_id=old.id, created_at=now()), old)
    store.users.create_user(user.model_copy(update={"thread_id": new.id}), new, replacing=old.id)

    store.threads.delete_thread(old.id)

    assert store.users.get_user("bob").thread_id == new.id  # type: ignore[union-attr]
    assert store.threads.thread_user(new.id) == "bob"


def _kept(thread_id: str, session_id: str = "s1", staged: tuple[str, ...] = ()) -> KeptSession:
    session = CodeSession(
        key=SessionKey(project="p", thread_id=thread_id), session_id=session_id, started_at=1.5, last_used_at=2.5
    )
    return KeptSession(session=session, staged=list(staged))


def test_a_threads_code_session_is_held_by_one_call_at_a_time_and_kept_when_it_lets_go(store):
    thread, _ = new_thread(store)
    assert store.threads.hold_code_session(thread.id, "call_a", now() + 60) is None

    with pytest.raises(CodeSessionBusy):
        store.threads.hold_code_session(thread.id, "call_b", now() + 60)
    store.threads.keep_code_session(thread.id, "call_b", _kept(thread.id, "not-kept"))  # not the holder: nothing
    store.threads.keep_code_session(thread.id, "call_a", _kept(thread.id, staged=("file-1",)))

    assert store.threads.hold_code_session(thread.id, "call_b", now() + 60) == _kept(thread.id, staged=("file-1",))
    store.threads.keep_code_session(thread.id, "call_b", None)
    assert store.threads.hold_code_session(thread.id, "call_c", now() + 60) is None
    assert store.threads.get_thread(thread.id) == thread  # the session is no field of the thread object


def test_a_lapsed_hold_of_a_code_session_is_taken_and_its_holder_keeps_nothing(store):
    thread, _ = new_thread(store)
    store.threads.hold_code_session(thread.id, "call_dead", now() - 1)

    assert store.threads.hold_code_session(thread.id, "call_next", now() + 60) is None
    store.threads.keep_code_session(thread.id, "call_dead", _kept(thread.id, "stale"))
    store.threads.keep_code_session(thread.id, "call_next", _kept(thread.id, "fresh"))
    assert store.threads.hold_code_session(thread.id, "call_last", now() + 60) == _kept(thread.id, "fresh")


def test_the_code_session_of_a_thread_that_is_gone_is_not_found_and_keeps_nothing(store):
    thread, _ = new_thread(store)
    store.threads.hold_code_session(thread.id, "call_a", now() + 60)
    store.threads.delete_thread(thread.id)

    store.threads.keep_code_session(thread.id, "call_a", _kept(thread.id))
    with pytest.raises(NotFound):
        store.threads.hold_code_session(thread.id, "call_b", now() + 60)
    with pytest.raises(NotFound):
        store.threads.hold_code_session(new_id("thread"), "call_b", now() + 60)
