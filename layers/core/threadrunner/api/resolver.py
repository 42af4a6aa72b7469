"""The API's resolver: Powertools' HTTP API resolver with the request it resolves kept per thread."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext


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
        # Powertools sets the request on its router class, shared by every thread: this thread's is set here.
        self.current_event = self._to_proxy_event(cast(dict[str, Any], event))
        self.lambda_context = context
        return super().resolve(event, context)

    def serves(self, path: str) -> bool:
        """Whether a route of the API (by any method) answers ``path``."""
        return any(route.rule.match(path) for route in self._static_routes + self._dynamic_routes)
