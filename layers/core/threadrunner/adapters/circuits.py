"""Circuit breakers shared by every container: Powertools' circuit breaker, its state in the one table
(``circuit#breakers`` / ``<name>``).

Powertools counts a circuit's failures in each container and shares only its state (open, half-open,
closed): a circuit opens when one container sees ``failure_threshold`` failures in a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig, CircuitTransition, circuit_breaker
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from ..domain.circuits import CircuitState

T = TypeVar("T")

PARTITION = "circuit#breakers"
"""Where every circuit's state is kept (the functions' IAM policies grant this partition)."""


class _FailedAnswer(Exception):
    """An answer that is a failure of the dependency: raised through the breaker to be counted, then returned."""

    def __init__(self, answer: Any) -> None:
        super().__init__("failed")
        self.answer = answer


class PowertoolsCircuits:
    """:class:`threadrunner.ports.Circuits`; ``on_change`` hears every change of a circuit's state."""

    def __init__(
        self,
        table_name: str,
        client: Any,
        failure_threshold: int,
        recovery_seconds: int,
        success_threshold: int,
        on_change: Callable[[str, CircuitState, CircuitState], None] = lambda name, before, after: None,
    ) -> None:
        self._thresholds = (failure_threshold, recovery_seconds, success_threshold)
        self._on_change = on_change
        self._store = CircuitBreakerDynamoDBPersistence(
            table_name=table_name,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=PARTITION,
            expiry_attr="ttl",
            boto3_client=client,
        )

    def guard(
        self,
        name: str,
        call: Callable[[], T],
        when_open: Callable[[], T],
        is_failure: Callable[[T], bool] = lambda answer: False,
        counted: tuple[type[Exception], ...] = (),
    ) -> tuple[T, CircuitState]:
        changes: list[CircuitState] = []
        opened: list[bool] = []

        def transition(change: CircuitTransition) -> None:
            before, after = _state(change.from_state.value), _state(change.to_state.value)
            changes.append(after)
            self._on_change(name, before, after)

        def open_answer(*args: Any, circuit: Any) -> T:
            opened.append(True)
            return when_open()

        def protected() -> T:
            answer = call()
            if is_failure(answer):
                raise _FailedAnswer(answer)
            return answer

        failures, recovery, successes = self._thresholds
        config = CircuitBreakerConfig(
            failure_threshold=failures,
            recovery_timeout=recovery,
            success_threshold=successes,
            handled_exceptions=(_FailedAnswer, *counted),
        )
        breaker = circuit_breaker(
            name=name,
            persistence_store=self._store,
            on_circuit_open=open_answer,
            on_transition=transition,
            config=config,
        )
        before = _state(self._store.get_state(name).state.value)  # kept a few seconds per container: no read
        try:
            answer = breaker(protected)()
        except _FailedAnswer as failed:
            answer = failed.answer
        return answer, changes[-1] if changes else ("open" if opened else before)


def _state(value: str) -> CircuitState:
    return {"CLOSED": "closed", "OPEN": "open", "HALF_OPEN": "half_open"}[value]  # type: ignore[return-value]
