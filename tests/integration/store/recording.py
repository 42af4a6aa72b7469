"""Which store methods the contract tests called, on which backend: the record the coverage test reads.

The ports are read from ``threadrunner.ports``: every store a project's :class:`~threadrunner.ports.Stores` holds,
and the ports of ``ports/services.py`` that live on the table. A method added to one of them is in the contract from
then on.
"""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

from threadrunner.ports import ApiKeys, ResponseWebhooks, Stores, UnsettledResponses

TABLE_SERVICES: tuple[type, ...] = (UnsettledResponses, ApiKeys, ResponseWebhooks)
"""The ports of ``ports/services.py`` kept in the table, beside the stores of one project."""

CALLED: dict[str, set[str]] = {}
"""Each backend's called methods, as ``Port.method``."""
DESELECTED: list[str] = []
"""The contract tests a run left out (``-k``, ``--lf``): the coverage is judged on whole runs only."""


def store_ports() -> list[type]:
    """Every store protocol: the type of each store a project's ``Stores`` holds, and the table's services."""
    held = [port for name, port in get_type_hints(Stores).items() if name != "project"]
    return [*held, *TABLE_SERVICES]


def methods_of(port: type) -> set[str]:
    """The methods a port declares."""
    return {name for name, value in vars(port).items() if inspect.isfunction(value) and not name.startswith("_")}


def every_method() -> set[str]:
    return {f"{port.__name__}.{name}" for port in store_ports() for name in methods_of(port)}


class Recorded:
    """An implementation of a port whose calls of the port's methods are noted (before they run: a call that
    raises was called)."""

    def __init__(self, target: Any, port: type, backend: str) -> None:
        self._target, self._port, self._backend = target, port, backend
        self._methods = methods_of(port)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name not in self._methods:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            CALLED.setdefault(self._backend, set()).add(f"{self._port.__name__}.{name}")
            return attribute(*args, **kwargs)

        return call


def recorded(stores: Stores, backend: str) -> Stores:
    """The stores of one project, each one recorded."""
    ports = {name: port for name, port in get_type_hints(Stores).items() if name != "project"}
    return Stores(
        project=stores.project, **{name: Recorded(getattr(stores, name), port, backend) for name, port in ports.items()}
    )
