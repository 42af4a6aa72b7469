"""The API's front door (threadrunner.api.app.handle) in-process on the in-memory fakes: routes run on the
dependencies they declare, which a test may swap; a POST with an Idempotency-Key is answered once, its record
kept under the key earlier releases wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import FakeCatalogue, FakeContents, FakeControl, FakeJobs, FakeModel, World, fake_stores
from tests.support.idempotency import MemoryRecords
from tests.support.lambda_context import LambdaContext
from threadrunner.api import dependencies, routes
from threadrunner.api.app import ApiDeps, handle
from threadrunner.api.scope import RequestScope
from threadrunner.app import assistants
from threadrunner.app.requests.assistants import AssistantCreate
from threadrunner.config import Settings
from threadrunner.domain.pagination import PageRequest


class _Keys:
    def project_for(self, key_hash: str) -> str | None:
        return "p"


def _deps(world: World, records: MemoryRecords | None = None) -> ApiDeps:
    stores = fake_stores(world)
    return ApiDeps(
        settings=Settings(),
        stores_for=lambda project: stores,
        run_control=FakeControl(),
        tools=FakeCatalogue(),
        functions=None,  # type: ignore[arg-type]  # no tool is registered
        keys=_Keys(),
        idempotency_store=records or MemoryRecords(),
        model=FakeModel,
        provider=None,  # type: ignore[arg-type]  # nothing is forwarded
        contents=FakeContents(),
        jobs=FakeJobs(),
        index=None,  # type: ignore[arg-type]  # nothing is searched
        embeddings=lambda: None,
    )


def _request(method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "body": None if body is None else json.dumps(body),
        "headers": {"authorization": "Bearer sk-some-key", "content-type": "application/json", **headers},
        "requestContext": {"requestId": "api-gw-1", "stage": "$default", "http": {"method": method, "path": path}},
        "isBase64Encoded": False,
    }


@pytest.fixture
def overrides():
    yield routes.app.dependency_overrides
    routes.app.dependency_overrides.clear()


def test_a_route_runs_on_the_stores_a_test_swaps_in(overrides):
    world, elsewhere = World(), World()
    swapped = fake_stores(elsewhere)
    kept = assistants.create_assistant(swapped, FakeCatalogue(), FakeJobs(), AssistantCreate(model="gpt-4o-mini"))
    # Powertools calls an override with what the dependency it replaces declares: here the request's scope.
    overrides[dependencies.stores] = lambda scope: swapped

    answer = handle(_request("GET", "/v1/assistants"), LambdaContext(), _deps(world), 25.0)  # type: ignore[arg-type]

    assert answer["statusCode"] == 200
    assert [assistant["id"] for assistant in json.loads(answer["body"])["data"]] == [kept.id]


def test_every_dependency_comes_from_the_request_scope(overrides):
    seen: list[RequestScope] = []
    deps = _deps(World())

    def stores(scope: RequestScope) -> Any:
        seen.append(scope)
        return scope.stores

    overrides[dependencies.stores] = stores
    handle(_request("GET", "/v1/assistants"), LambdaContext(), deps, 25.0)  # type: ignore[arg-type]

    (scope,) = seen
    assert (scope.deps, scope.project, scope.stream_seconds) == (deps, "p", 25.0)


def test_a_retried_post_with_an_idempotency_key_gets_the_first_answer_and_creates_nothing():
    world, records = World(), MemoryRecords()
    deps = _deps(world, records)
    create = _request("POST", "/v1/threads", {"metadata": {"n": "1"}}, **{"idempotency-key": "k1"})

    first = handle(create, LambdaContext(), deps, 25.0)  # type: ignore[arg-type]
    retry = handle(create, LambdaContext(), deps, 25.0)  # type: ignore[arg-type]

    assert first["statusCode"] == retry["statusCode"] == 200
    assert json.loads(retry["body"]) == json.loads(first["body"])
    assert len(fake_stores(world).threads.list_threads(PageRequest(limit=100)).data) == 1


def test_the_idempotency_record_keeps_the_key_earlier_releases_wrote():
    """A retry sent across a deploy finds the record its first request wrote: the key names the function that
    answered (``threadrunner.api.app._answer_once``) before the front door was cut into stages."""
    records = MemoryRecords()
    create = _request("POST", "/v1/threads", {}, **{"idempotency-key": "k1"})

    handle(create, LambdaContext(), _deps(World(), records), 25.0)  # type: ignore[arg-type]

    (key,) = records.records
    name, _, digest = key.partition("#")
    assert name.endswith(".threadrunner.api.app._answer_once") and len(digest) == 32


def test_the_same_key_with_another_request_is_refused():
    deps = _deps(World())
    handle(_request("POST", "/v1/threads", {}, **{"idempotency-key": "k1"}), LambdaContext(), deps, 25.0)  # type: ignore[arg-type]

    other = _request("POST", "/v1/threads", {"metadata": {"n": "2"}}, **{"idempotency-key": "k1"})
    answer = handle(other, LambdaContext(), deps, 25.0)  # type: ignore[arg-type]

    assert answer["statusCode"] == 400
    error = json.loads(answer["body"])["error"]
    assert (error["code"], error["param"]) == ("idempotency_key_reused", "Idempotency-Key")
