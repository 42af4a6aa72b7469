"""The API in-process on the fakes: the real entry point (``threadrunner.api.app.handle``) with its routers, error
mapping, key check, limits and idempotency, on the in-memory stores of tests/fakes.py; no stack, no socket.

Requests are API Gateway HTTP API (payload v2) events made by the HTTP server's own ``http_event``; the unmodified
``openai`` SDK reaches the same entry point through an httpx transport. Runs are started here, never moved: the
loop is the ASL's, proven end to end (tests/e2e/).
"""

from __future__ import annotations

import base64
import importlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_TOOL_ROUNDS
from tests.fakes import (
    FakeApiKeys,
    FakeCatalogue,
    FakeContents,
    FakeControl,
    FakeIndex,
    FakeJobs,
    FakeModel,
    FakeResponseWebhooks,
    FakeTurnChecks,
    World,
    fake_stores,
)
from tests.support.idempotency import MemoryRecords
from tests.support.lambda_context import LambdaContext
from threadrunner.api.app import ApiDeps, handle
from threadrunner.api.http_server import http_event
from threadrunner.app.webhooks import Webhooks
from threadrunner.config import Settings
from threadrunner.domain.api_keys import key_hash
from threadrunner.domain.tools import default_registry
from threadrunner.ports import Stores

API_KEY = "sk-functional-default"
"""The key of the ``default`` project, as the local stack's ``sk-local-dev`` is."""
BASE_URL = "http://threadrunner.functional/v1/"
"""Where the SDK believes the API is: its requests never leave the process."""
STREAM_SECONDS = 5.0
"""How long a streamed answer may last: read whole here, as a buffering gateway reads it."""

for _module in ("threadrunner.tools", "tests.support.tools"):  # the registry the test stack's ToolFunction serves
    importlib.import_module(_module)


@dataclass
class Deployment:
    """One deployment on the fakes: a world per project, the keys, and what the API asked of the other services."""

    worlds: dict[str, World] = field(default_factory=dict)
    keys: FakeApiKeys = field(default_factory=FakeApiKeys)
    run_control: FakeControl = field(default_factory=FakeControl)
    contents: FakeContents = field(default_factory=FakeContents)
    jobs: FakeJobs = field(default_factory=FakeJobs)
    index: FakeIndex = field(default_factory=FakeIndex)
    webhook_secret: str = "whsec_" + base64.b64encode(b"the functional tests' webhook secret!").decode()
    """The provider's signing secret the deployment holds."""
    webhooks: FakeResponseWebhooks = field(default_factory=FakeResponseWebhooks)
    checks: FakeTurnChecks = field(default_factory=FakeTurnChecks)
    """The turns' checks the webhooks asked of the run loop."""

    def world(self, project: str) -> World:
        return self.worlds.setdefault(project, World(project=project))

    def stores(self, project: str) -> Stores:
        return fake_stores(self.world(project))

    def add_key(self, key: str, project: str) -> None:
        self.keys.put_key(key_hash(key), project, name=key, created_at=0)


def api_deps(deployment: Deployment) -> ApiDeps:
    """The API's adapters, all fakes, on ``deployment``: the one place the functional tests build them. The
    settings are the test stack's (tests/conftest.py)."""
    environment = {
        "MAX_TOOL_ROUNDS": str(TEST_TOOL_ROUNDS),
        "KEY_CACHE_SECONDS": "0",
        "UNKNOWN_KEY_CACHE_SECONDS": "0",
        "PROJECT_MAX_ACTIVE_RUNS": "0",
        "PROJECT_REQUESTS_PER_MINUTE": "0",
        "PROJECT_MAX_OPEN_STREAMS": "0",
        "FUNCTIONS_ARN": "arn:aws:lambda:us-east-1:123456789012:function:*",
    }
    catalogue = FakeCatalogue(tools={definition.name: definition for definition in default_registry.definitions()})
    return ApiDeps(
        settings=Settings.model_validate(environment),
        stores_for=deployment.stores,
        run_control=deployment.run_control,
        tools=catalogue,
        functions=None,  # type: ignore[arg-type]  # Lambda tools are registered end to end (test_server_tools.py)
        keys=deployment.keys,
        idempotency_store=MemoryRecords(),
        model=FakeModel,
        provider=None,  # type: ignore[arg-type]  # forwarded calls are proven end to end (test_forwarding.py)
        contents=deployment.contents,
        jobs=deployment.jobs,
        index=deployment.index,
        embeddings=lambda: None,  # chunks are found by their keywords
        webhooks=Webhooks(
            lambda: deployment.webhook_secret, deployment.webhooks, deployment.checks, deployment.stores, lambda: 30
        ),
    )


WRITTEN = (
    "assistants",
    "threads",
    "users",
    "files",
    "uploads",
    "parts",
    "stores",
    "store_files",
    "batches",
    "tools",
    "responses",
    "days",
)
"""What a project's world keeps of what its requests wrote."""


class Api:
    """The API in-process: answers ``(method, path, body, key, headers)`` as the local stack's HTTP adapter does."""

    def __init__(self, deployment: Deployment, deps: ApiDeps) -> None:
        self.deployment = deployment
        self.deps = deps
        deployment.add_key(API_KEY, "default")

    def answer(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> dict[str, Any]:
        """The entry point's answer to one request (``target``: the path from ``/v1`` on, with its query)."""
        return handle(http_event(method, target, headers, body), LambdaContext(), self.deps, STREAM_SECONDS)  # type: ignore[arg-type]

    def __call__(
        self, method: str, path: str, body: Any = None, key: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One JSON request under ``/v1`` (``path`` without it): status and decoded answer."""
        sent = {"Content-Type": "application/json", "Authorization": f"Bearer {key or API_KEY}", **(headers or {})}
        data = json.dumps(body).encode() if body is not None else b""
        return self.raw(method, path, data, sent)

    def raw(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """A request with the body and headers as given: status and decoded answer."""
        answer = self.answer(method, "/v1" + path, list(headers.items()), body)
        return answer["statusCode"], json.loads(_body(answer) or b"null")

    def project(self) -> tuple[str, str]:
        """A new project and its key."""
        project, key = "p_" + secrets.token_hex(4), "sk-test-" + secrets.token_hex(8)
        self.deployment.add_key(key, project)
        return project, key

    def written(self, project: str) -> dict[str, Any]:
        """What the project's requests wrote, by kind; empty when they wrote nothing."""
        world = self.deployment.world(project)
        return {kind: value for kind in WRITTEN if (value := getattr(world, kind))}

    def client(self, key: str = API_KEY) -> Any:
        """The unmodified ``openai`` SDK on this API, through :class:`InProcessTransport`."""
        from openai import OpenAI

        transport = httpx.Client(transport=InProcessTransport(self))
        return OpenAI(base_url=BASE_URL, api_key=key, max_retries=0, http_client=transport)


def _body(answer: dict[str, Any]) -> bytes:
    body = answer.get("body") or ""
    if isinstance(body, Iterator):  # a streamed answer, read whole as a buffering gateway reads it
        body = "".join(body)
    return base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()


class InProcessTransport(httpx.BaseTransport):
    """Hands each request of an httpx client (the SDK's) to :meth:`Api.answer`, and its answer back."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        answer = self.api.answer(request.method, target, list(request.headers.multi_items()), request.read())
        return httpx.Response(answer["statusCode"], headers=answer.get("headers") or {}, content=_body(answer))


@pytest.fixture
def deployment() -> Deployment:
    return Deployment()


@pytest.fixture
def api(deployment: Deployment) -> Api:
    return Api(deployment, api_deps(deployment))


@pytest.fixture
def client(api: Api) -> Any:
    """The SDK with the ``default`` project's key (the local stack's ``client``)."""
    return api.client()


@pytest.fixture
def project_client(api: Api) -> tuple[Any, str]:
    """The SDK with the key of a project of its own, and the project (the local stack's ``project_client``)."""
    project, key = api.project()
    return api.client(key), project
