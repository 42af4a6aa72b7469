"""The store contract's fixtures: every test runs against the DynamoDB stores (on moto, the table built from
template.yaml by the local stack) and the in-memory fakes alike, through a recorder of the port methods it calls
(``recording.py``); ``test_coverage.py`` fails when a store method has no contract test on both."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import FakeApiKeys, FakeResponseWebhooks, FakeUnsettled, World, fake_stores
from threadrunner.adapters.dynamodb import DynamoDBApiKeys, DynamoDBResponseWebhooks, DynamoDBUnsettledResponses
from threadrunner.ports import ApiKeys, ResponseWebhooks, Stores, UnsettledResponses
from threadrunner_local.stack import LocalStack

from . import recording

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Backend:
    """One implementation of the store ports, for one project of its own."""

    name: str
    stores: Stores
    unsettled: Any
    api_keys: Any
    webhooks: Any


@pytest.fixture(params=["dynamodb", "memory"])
def backend(request: pytest.FixtureRequest) -> Backend:
    project = "p_" + secrets.token_hex(4)
    if request.param == "memory":
        world = World(project=project)
        return Backend(
            "memory", fake_stores(world), FakeUnsettled(world.unsettled), FakeApiKeys(), FakeResponseWebhooks()
        )
    stack: LocalStack = request.getfixturevalue("stack")
    client = stack.client("dynamodb")
    return Backend(
        "dynamodb",
        stack.stores(project),
        DynamoDBUnsettledResponses(stack.table_name, client),
        DynamoDBApiKeys(stack.table_name, client),
        DynamoDBResponseWebhooks(stack.table_name, client),
    )


@pytest.fixture
def store(backend: Backend) -> Stores:
    """The stores of a project of the test's own."""
    return recording.recorded(backend.stores, backend.name)


@pytest.fixture
def other_project(backend: Backend, request: pytest.FixtureRequest) -> Stores:
    """The stores of a second project on the same backend, to show what one project cannot see of another's."""
    project = "p_" + secrets.token_hex(4)
    if backend.name == "memory":
        return recording.recorded(fake_stores(World(project=project)), backend.name)
    stack: LocalStack = request.getfixturevalue("stack")
    return recording.recorded(stack.stores(project), backend.name)


@pytest.fixture
def unsettled(backend: Backend) -> UnsettledResponses:
    """The deployment's list of unsettled responses (on DynamoDB, every test's projects share it)."""
    return recording.Recorded(backend.unsettled, UnsettledResponses, backend.name)


@pytest.fixture
def api_keys(backend: Backend) -> ApiKeys:
    """The deployment's API keys (on DynamoDB, every test's keys share them: give them names of their own)."""
    return recording.Recorded(backend.api_keys, ApiKeys, backend.name)


@pytest.fixture
def webhooks(backend: Backend) -> ResponseWebhooks:
    """The deployment's record of the provider's webhooks (on DynamoDB, every test's share it: give responses and
    deliveries ids of their own)."""
    return recording.Recorded(backend.webhooks, ResponseWebhooks, backend.name)


@pytest.fixture
def table_store(stack: LocalStack) -> Stores:
    """The DynamoDB stores alone, for what only a table can show."""
    return recording.recorded(stack.stores("p_" + secrets.token_hex(4)), "dynamodb")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The coverage test reads what the others called: it runs last, in the same process (under pytest-xdist, one
    worker takes the whole contract in this order: tests/conftest.py, ``pytest_xdist_make_scheduler``)."""
    last = [item for item in items if item.path == HERE / "test_coverage.py"]
    items[:] = [item for item in items if item not in last] + last


def pytest_deselected(items: list[pytest.Item]) -> None:
    recording.DESELECTED.extend(item.nodeid for item in items if item.path.parent == HERE)
