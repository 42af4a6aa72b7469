"""The API's resolver: Powertools' HTTP API resolver with the request it resolves kept per thread.

It relies on Powertools' internals, so it is written for one version of Powertools (:data:`POWERTOOLS_VERSION`,
the pin of layers/core/requirements.txt); tests/unit/test_resolver.py fails when what it relies on changes:

* every piece of a request's state is one of the resolver's attributes ``current_event``, ``lambda_context``,
  ``context`` and ``processed_stack_frames``, each kept per thread here; a router reads them through its
  ``api_resolver``; ``Depends()`` resolves from ``context`` and ``current_event`` only (through ``app.request``);
* a route's middleware stack is built on its first request (``Route._build_middleware_stack``, then
  ``_middleware_stack_built``): built here for every route at once, under a lock, before the first request;
* ``resolve`` makes the event a proxy event with ``_to_proxy_event``; :meth:`ConcurrentResolver.serves` reads
  ``_static_routes``, ``_dynamic_routes`` and each route's ``rule``;
* a middleware added with ``use()`` runs outside the validation of answers, and a body that is neither text nor
  bytes, in an answer that is not JSON, is handed back as it is (api/streams.py hands a stream back that way).

To move to a new Powertools: bump the pin, read those internals in the new source, update POWERTOOLS_VERSION,
run tests/unit/test_resolver.py.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

POWERTOOLS_VERSION = "3.37.0"
"""The version of aws-lambda-powertools whose internals this module was written against."""


class _RequestState(threading.local):
    def __init__(self) -> None:
        self.event: BaseProxyEvent | None = None
        self.lambda_context: Any = None
        self.context: dict[str, Any] = {}
        self.processed_stack_frames: list[str] = []


class ConcurrentResolver(APIGatewayHttpResolver):
    """An ``APIGatewayHttpResolver`` that resolves requests in several threads at once.

    Powertools keeps the request being resolved on the resolver (and its router class), as a Lambda container
    serves one request at a time. Kept per thread here, as Powertools' own ``HttpResolverLocal`` keeps it per
    task, one app serves concurrent requests: the local stack's ApiFunction, like several warm containers.
    """

    def __init__(self, **options: Any) -> None:
        self._state = _RequestState()
        self._stacks_lock = threading.Lock()
        self._stacks_built = False
        super().__init__(**options)

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        assert self._state.event is not None, "read while no request is resolved"
        return self._state.event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._state.event = value

    @property
    def lambda_context(self) -> LambdaContext:
        return self._state.lambda_context

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        self._state.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        return self._state.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._state.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        return self._state.processed_stack_frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._state.processed_stack_frames = value

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._build_stacks()
        # Powertools sets the request on its router class, shared by every thread: this thread's is set here.
        self.current_event = self._to_proxy_event(cast(dict[str, Any], event))
        self.lambda_context = context
        return super().resolve(event, context)

    def serves(self, path: str) -> bool:
        """Whether a route of the API (by any method) answers ``path``."""
        return any(route.rule.match(path) for route in self._static_routes + self._dynamic_routes)

    def _build_stacks(self) -> None:
        """Every route's middleware stack, built once before the first request. Powertools builds a route's on its
        first request, without a lock: of two first requests at once, one could wrap the stack the other just
        built in its own, and the route would fail on every request from then on."""
        if self._stacks_built:
            return
        with self._stacks_lock:
            if self._stacks_built:
                return
            for route in self._static_routes + self._dynamic_routes:
                if not route._middleware_stack_built:
                    route._build_middleware_stack(router_middlewares=self._router_middlewares, app=self)
            self._stacks_built = True
