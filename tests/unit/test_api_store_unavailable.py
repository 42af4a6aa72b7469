"""A table that cannot be reached before the resolver runs (the key check, the project's limits, the idempotency
records): 503 in OpenAI's shape with the request's id, not API Gateway's bare 500.

The API's real entry point (``threadrunner.api.app.handle``) on the real DynamoDB key store, with a client that
reaches nothing (a refused loopback port) or is throttled (botocore's stubber)."""

from __future__ import annotations

import dataclasses
import json
import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tests.fakes import FakeCatalogue, FakeControl, FakeModel, fake_stores
from tests.support.lambda_context import LambdaContext
from threadrunner.adapters.dynamodb import DynamoDBApiKeys
from threadrunner.api.app import ApiDeps, handle
from threadrunner.config import Settings
from threadrunner.errors import StoreUnavailable


def _refused_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )


def _deps(client: Any) -> ApiDeps:
    stores = fake_stores()
    return ApiDeps(
        settings=Settings(KEY_CACHE_SECONDS=0, UNKNOWN_KEY_CACHE_SECONDS=0),
        stores_for=lambda project: stores,
        run_control=FakeControl(),
        tools=FakeCatalogue(),
        functions=None,  # type: ignore[arg-type]  # no tool is registered
        keys=DynamoDBApiKeys("threadrunner", client),
        idempotency_store=None,  # type: ignore[arg-type]  # only POSTs with an Idempotency-Key reach it
        model=FakeModel,
        provider=None,  # type: ignore[arg-type]  # nothing is forwarded
        contents=None,  # type: ignore[arg-type]  # no file is read
        jobs=None,  # type: ignore[arg-type]
        index=None,  # type: ignore[arg-type]
        embeddings=lambda: None,
    )


def _get_assistants(deps: ApiDeps) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "rawPath": "/v1/assistants",
        "rawQueryString": "",
        "headers": {"authorization": "Bearer sk-some-key"},
        "requestContext": {"requestId": "api-gw-1", "http": {"method": "GET", "path": "/v1/assistants"}},
        "isBase64Encoded": False,
    }
    return handle(event, LambdaContext(), deps, 25.0)  # type: ignore[arg-type]


def _assert_unavailable(answer: dict[str, Any]) -> None:
    assert answer["statusCode"] == 503
    error = json.loads(answer["body"])["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "unavailable" in error["message"] and "127.0.0.1" not in error["message"]  # nothing of the internals
    assert answer["headers"]["x-request-id"] == "api-gw-1"


def test_an_unreachable_table_answers_503():
    _assert_unavailable(_get_assistants(_deps(_client(f"http://127.0.0.1:{_refused_port()}"))))


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_a_throttled_table_answers_503(code):
    client = _client("http://127.0.0.1:1")
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        _assert_unavailable(_get_assistants(_deps(client)))


def test_a_reachable_table_without_the_key_answers_401():
    """The same path with a table that answers: the key is unknown, so 401 (the 503 above is the store's doing)."""
    client = _client("http://127.0.0.1:1")
    with Stubber(client) as stub:
        stub.add_response("get_item", {})
        answer = _get_assistants(_deps(client))
    assert answer["statusCode"] == 401
    assert json.loads(answer["body"])["error"]["code"] == "invalid_api_key"


class _UnreachableProjects:
    def get_policy(self) -> Any:
        raise StoreUnavailable("The service is unavailable; retry shortly.")


def test_an_unreachable_table_while_the_projects_limits_are_read_answers_503():
    client = _client("http://127.0.0.1:1")
    deps = _deps(client)
    stores = deps.stores_for("p")
    deps.stores_for = lambda project: dataclasses.replace(stores, projects=_UnreachableProjects())
    with Stubber(client) as stub:
        stub.add_response("get_item", {"Item": {"project": {"S": "p"}}})
        _assert_unavailable(_get_assistants(deps))


def test_an_unreachable_table_while_an_idempotency_record_is_written_answers_503():
    """A POST with an Idempotency-Key on Powertools' DynamoDB persistence, whose table refuses the record."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    client = _client("http://127.0.0.1:1")
    deps = _deps(client)
    store = DynamoDBPersistenceLayer(table_name="threadrunner", key_attr="PK", sort_key_attr="SK", boto3_client=client)
    deps = dataclasses.replace(deps, idempotency_store=store)
    event = {
        "version": "2.0",
        "rawPath": "/v1/threads",
        "rawQueryString": "",
        "body": "{}",
        "headers": {"authorization": "Bearer sk-some-key", "idempotency-key": "k1", "content-type": "application/json"},
        "requestContext": {"requestId": "api-gw-1", "http": {"method": "POST", "path": "/v1/threads"}},
        "isBase64Encoded": False,
    }
    with Stubber(client) as stub:
        stub.add_response("get_item", {"Item": {"project": {"S": "p"}}})
        stub.add_client_error("put_item", service_error_code="ThrottlingException", http_status_code=400)
        _assert_unavailable(handle(event, LambdaContext(), deps, 25.0))  # type: ignore[arg-type]
