"""Circuit breakers: which dependencies have one, and the event a change of state puts on EventBridge.

A circuit counts the failures of one dependency (the model provider, a server tool); after a threshold of
them in a row it opens, and calls are answered at once without the dependency until a recovery time has
passed and a probe call succeeds (docs/server-tools.md).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from .run_event import SOURCE

CircuitState = Literal["closed", "open", "half_open"]

PROVIDER = "provider"
"""The model provider's circuit: its responses are created behind it."""

DETAIL_TYPE = "threadrunner.circuit.changed"


def tool_circuit(name: str, project: str | None = None) -> str:
    """The circuit of a server tool: the deployment's (a registry or deployment tool), or a project's own."""
    return f"tool:{name}" if project is None else f"tool:{project}:{name}"


class CircuitChange(BaseModel):
    """A circuit changed state: an EventBridge event (and a metric, and a log line)."""

    circuit: str
    from_state: CircuitState
    to_state: CircuitState

    def entry(self) -> dict[str, Any]:
        """The event as ``PutEvents`` takes it (without the bus)."""
        return {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(self.model_dump())}
