"""Circuit breakers: which dependencies have one, and the event a change of state puts on EventBridge.

A circuit counts the failures of one dependency (the model provider, a server tool) for one project; after a
threshold of them in a row it opens, and that project's calls are answered at once without the dependency until a
recovery time has passed and a probe call succeeds (docs/server-tools.md). Every circuit is a project's: a
project's requests can make a shared tool or the provider fail (arguments a tool chokes on, a request the
provider answers with a 5xx or too slowly), and one project must not switch them off for the others.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from .run_event import SOURCE

CircuitState = Literal["closed", "open", "half_open"]

DETAIL_TYPE = "threadrunner.circuit.changed"


def provider_circuit(project: str) -> str:
    """The circuit behind which a project's model responses are created."""
    return f"provider:{project}"


def tool_circuit(name: str, project: str) -> str:
    """The circuit of a server tool for one project, whether the tool is the project's own or the deployment's."""
    return f"tool:{project}:{name}"


class CircuitChange(BaseModel):
    """A circuit changed state: an EventBridge event (and a metric, and a log line)."""

    circuit: str
    from_state: CircuitState
    to_state: CircuitState

    def entry(self) -> dict[str, Any]:
        """The event as ``PutEvents`` takes it (without the bus)."""
        return {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(self.model_dump())}
