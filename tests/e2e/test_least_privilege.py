"""Least privilege, against use: after the whole suite ran under enforcement, every action a function's role
grants is one its calls used, or one :data:`~threadrunner_local.least_privilege.NOT_REACHED` explains
(.aws-sam/iam-report.json lists what each function used)."""

from __future__ import annotations

import pytest

from threadrunner_local import least_privilege
from threadrunner_local.stack import LocalStack

from ..conftest import WHOLE_SUITE


def _stack_after_the_whole_suite(request: pytest.FixtureRequest) -> LocalStack:
    if not request.config.stash.get(WHOLE_SUITE, False):
        pytest.skip("judges the calls of the whole suite: it runs last in `make test`")
    stack: LocalStack = request.getfixturevalue("stack")
    return stack


def test_every_action_a_role_grants_is_one_its_calls_used(request):
    stack = _stack_after_the_whole_suite(request)
    assert stack.enforcer is not None
    unused = least_privilege.unused(stack.enforcer.stack, stack.enforcer.usage)
    assert [f"{grant.principal}: {grant.name} ({grant.statement.source})" for grant in unused] == []


def test_the_suite_ran_under_enforcement_and_used_every_role(request):
    stack = _stack_after_the_whole_suite(request)
    assert stack.enforcer is not None and stack.enforcer.enabled
    assert set(stack.enforcer.stack.roles) <= set(stack.enforcer.usage.actions)
