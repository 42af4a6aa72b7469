"""The usage store's contract (tokens reserved, settled and counted per day, user and thread) and the deployment's
list of unsettled responses, on DynamoDB and on the fakes."""

from __future__ import annotations

import pytest

from threadrunner.domain.budget import Budget, DayUsage, Reservation, UnsettledResponse
from threadrunner.domain.common import Usage, now
from threadrunner.domain.ids import new_id
from threadrunner.domain.thread import Thread
from threadrunner.domain.user import UserRecord
from threadrunner.errors import BudgetExceeded, NotFound

from .builders import end, new_run, new_thread

DAY = "2026-01-01"


def _day(used: int = 0, reserved: int = 0, prompt: int | None = None) -> DayUsage:
    prompt = used if prompt is None else prompt
    return DayUsage(
        usage=Usage(prompt_tokens=prompt, completion_tokens=used - prompt, total_tokens=used), reserved=reserved
    )


def test_a_reservation_sets_tokens_aside_for_the_project_and_its_user_until_released(store):
    reservation = Reservation(day=DAY, user_id="ann", prompt_tokens=60, completion_tokens=40)

    store.usage.reserve(reservation, Budget(daily_tokens=1000, daily_tokens_per_user=500))

    assert store.usage.usage_today(DAY) == store.usage.usage_today(DAY, "ann") == _day(reserved=100)
    assert store.usage.usage_today(DAY).committed == 100
    assert store.usage.usage_today(DAY, "bob") == store.usage.usage_today("2026-01-02") == DayUsage()
    store.usage.release(reservation)
    assert store.usage.usage_today(DAY) == store.usage.usage_today(DAY, "ann") == DayUsage()


def test_a_reservation_is_refused_once_the_days_committed_tokens_reach_a_budget_and_sets_nothing_aside(store):
    store.usage.reserve(Reservation(day=DAY, user_id="ann", prompt_tokens=300, completion_tokens=0), Budget())
    refusals = [
        (Reservation(day=DAY, prompt_tokens=1, completion_tokens=0), Budget(daily_tokens=300)),
        (Reservation(day=DAY, user_id="ann", prompt_tokens=1, completion_tokens=0), Budget(daily_tokens_per_user=300)),
        (Reservation(day=DAY, prompt_tokens=1, completion_tokens=0), Budget(daily_tokens=0)),
        (Reservation(day=DAY, user_id="bob", prompt_tokens=1, completion_tokens=0), Budget(daily_tokens_per_user=0)),
    ]

    for reservation, budget in refusals:
        with pytest.raises(BudgetExceeded, match="budget") as refused:
            store.usage.reserve(reservation, budget)
        assert refused.value.code == "daily_budget_exceeded"

    assert store.usage.usage_today(DAY) == store.usage.usage_today(DAY, "ann") == _day(reserved=300)
    assert store.usage.usage_today(DAY, "bob") == DayUsage()
    store.usage.reserve(Reservation(day=DAY, prompt_tokens=500, completion_tokens=0), Budget(daily_tokens=301))
    assert store.usage.usage_today(DAY) == _day(reserved=800)  # a reservation starts under the budget, however big


def test_settling_a_response_replaces_its_reservation_by_its_usage_once(store):
    thread = Thread(id=new_id("thread"), created_at=now())
    store.users.create_user(UserRecord(user_id="ann", thread_id=thread.id, created_at=now()), thread)
    reservation = Reservation(day=DAY, user_id="ann", prompt_tokens=100, completion_tokens=50)
    store.usage.reserve(reservation, Budget())
    store.usage.record_response("resp_1", reservation, thread.id, "run_1")
    used = Usage(prompt_tokens=80, completion_tokens=20, total_tokens=100)

    assert store.usage.settle("resp_1", used) is True
    assert store.usage.settle("resp_1", used) is False
    assert store.usage.settle("resp_unknown", used) is False

    assert store.usage.usage_today(DAY) == store.usage.usage_today(DAY, "ann") == _day(used=100, prompt=80)
    assert store.users.get_user("ann").usage == used  # type: ignore[union-attr]


def test_a_response_the_provider_never_counted_is_charged_its_prompt(store):
    reservation = Reservation(day=DAY, prompt_tokens=70, completion_tokens=30)
    store.usage.reserve(reservation, Budget())
    store.usage.record_response("resp_cancelled", reservation, "thread_1", "run_1")

    assert store.usage.settle("resp_cancelled", None)

    assert store.usage.usage_today(DAY) == _day(used=70)


def test_settling_a_deleted_users_response_counts_the_day_and_brings_no_user_back(store):
    reservation = Reservation(day=DAY, user_id="gone", prompt_tokens=10, completion_tokens=0)
    store.usage.reserve(reservation, Budget())
    store.usage.record_response("resp_1", reservation, "thread_1", "run_1")

    assert store.usage.settle("resp_1", Usage(prompt_tokens=10, total_tokens=10))

    assert store.users.get_user("gone") is None
    assert store.usage.usage_today(DAY, "gone") == _day(used=10)


def test_spending_replaces_a_reservation_by_what_a_call_used_at_once(store):
    reservation = Reservation(day=DAY, user_id="ann", prompt_tokens=100, completion_tokens=0)
    store.usage.reserve(reservation, Budget(daily_tokens=1000))

    store.usage.spend(reservation, Usage(prompt_tokens=40, total_tokens=40))

    assert store.usage.usage_today(DAY) == store.usage.usage_today(DAY, "ann") == _day(used=40)
    assert store.usage.usage_today(DAY).committed == 40


def test_a_forwarded_response_is_one_recorded_without_a_run(store):
    reservation = Reservation(day=DAY, prompt_tokens=5, completion_tokens=5)
    store.usage.record_response("resp_forwarded", reservation, "", "")
    store.usage.record_response("resp_of_a_run", reservation, "thread_1", "run_1")

    assert store.usage.is_forwarded("resp_forwarded")
    assert not store.usage.is_forwarded("resp_of_a_run") and not store.usage.is_forwarded("resp_unknown")


def test_a_finished_runs_usage_is_added_to_its_thread_once(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    end(store, run)
    finished = store.runs.get_run(thread.id, run.id).model_copy(
        update={"usage": Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10)}
    )
    assert store.usage.thread_usage(thread.id) == Usage()

    assert store.usage.count_thread_usage(finished) is True
    assert store.usage.count_thread_usage(finished) is False
    assert store.usage.count_thread_usage(finished.model_copy(update={"id": new_id("run")})) is False  # no such run

    assert store.usage.thread_usage(thread.id) == Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10)
    store.threads.delete_thread(thread.id)
    with pytest.raises(NotFound):
        store.usage.thread_usage(thread.id)


def test_a_run_of_a_deleted_thread_is_counted_nowhere(store):
    thread, _ = new_thread(store)
    run = new_run(store, thread)
    store.threads.delete_thread(thread.id)

    assert (
        store.usage.count_thread_usage(run.model_copy(update={"usage": Usage(prompt_tokens=1, total_tokens=1)}))
        is False
    )
    with pytest.raises(NotFound):
        store.threads.get_thread(thread.id)


def test_an_unsettled_response_is_listed_until_it_is_settled_or_forgotten(store, unsettled):
    reservation = Reservation(day=DAY, prompt_tokens=5, completion_tokens=5)
    for response_id in ("resp_a", "resp_b"):
        store.usage.record_response(response_id, reservation, "", "", unsettled=True)
    store.usage.record_response("resp_bound", reservation, "", "")  # someone is bound to settle it

    def listed() -> list[UnsettledResponse]:
        return sorted((e for e in unsettled.listed() if e.project == store.project), key=lambda e: e.response_id)

    assert listed() == [
        UnsettledResponse(project=store.project, response_id=r, reservation=reservation) for r in ("resp_a", "resp_b")
    ]
    store.usage.settle("resp_a", None)
    unsettled.forget(store.project, "resp_b")
    unsettled.forget(store.project, "resp_never")
    assert listed() == []
    assert store.usage.settle("resp_b", None) is True  # forgetting it lists it no more; it is still settled once


def test_seconds_of_code_are_summed_in_the_projects_day(store):
    store.usage.add_code_seconds(DAY, 1.25)
    store.usage.add_code_seconds(DAY, 0.0004)
    store.usage.add_code_seconds(DAY, 2.5)

    assert store.usage.usage_today(DAY).code_interpreter_seconds == 3.75
    assert store.usage.usage_today("2026-01-02").code_interpreter_seconds == 0
    assert store.usage.usage_today(DAY).committed == 0  # no tokens
