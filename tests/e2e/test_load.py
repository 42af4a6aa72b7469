"""A small load in every test run: concurrent users through conversations with tool calls lose nothing."""

from __future__ import annotations

from threadrunner_harness.load import run_load
from threadrunner_local.stack import LocalStack


def test_ten_concurrent_users_lose_no_message_and_run_no_tool_twice(stack: LocalStack):
    report = run_load(stack, users=10, messages_per_user=2)

    print(report.summary())
    assert report.messages_sent == 20
    assert report.lost == 0 and report.answered == 20
    assert report.duplicate_tool_executions == 0
    assert (report.runs_completed, report.runs_failed) == (20, 0)
