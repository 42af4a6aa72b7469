"""The project store's contract (what the operator set, request counts, open streams), on DynamoDB and on the
fakes."""

from __future__ import annotations

from threadrunner.domain.budget import Budget, ProjectLimits, ProjectPolicy
from threadrunner.domain.common import now


def test_a_projects_policy_is_the_default_until_one_is_set_and_then_the_one_set(store):
    policy = ProjectPolicy(
        budget=Budget(daily_tokens=1000, daily_tokens_per_user=100),
        limits=ProjectLimits(active_runs=2, requests_per_minute=60, open_streams=3),
        models=["gpt-4.1-mini"],
        hosted_tools=["web_search"],
    )
    assert store.projects.get_policy() == ProjectPolicy()

    store.projects.set_policy(policy)

    assert store.projects.get_policy() == policy


def test_requests_are_counted_per_minute_up_to_the_limit(store):
    minute = now() // 60

    counted = [store.projects.count_request(minute, limit=2) for _ in range(3)]
    next_minute = store.projects.count_request(minute + 1, limit=2)

    assert counted == [True, True, False] and next_minute is True
    assert store.projects.count_request(minute, limit=3) is True  # the refused request was not counted


def test_a_projects_open_streams_are_counted_up_to_its_limit_and_expired_ones_stop_counting(store):
    later = now() + 900

    opened = [store.projects.open_stream(f"stream_{i}", later, limit=2) for i in range(3)]
    store.projects.close_stream("stream_0", later)
    reopened = store.projects.open_stream("stream_3", later, limit=2)
    stale = store.projects.open_stream("stream_4", now() - 1, limit=3)  # its container died: it expired
    after_stale = [store.projects.open_stream(f"stream_{i}", later, limit=3) for i in (5, 6)]

    assert opened == [True, True, False] and reopened is True
    assert stale is True and after_stale == [True, False]  # the expired place went to the first, not the second


def test_closing_a_stream_frees_the_place_of_that_stream_only(store):
    later = now() + 900
    assert store.projects.open_stream("stream_a", later, limit=1)

    store.projects.close_stream("stream_b", later)  # never opened
    store.projects.close_stream("stream_a", later + 1)  # another expiry: another stream of that id
    assert store.projects.open_stream("stream_c", later, limit=1) is False
    store.projects.close_stream("stream_a", later)
    assert store.projects.open_stream("stream_c", later, limit=1) is True
