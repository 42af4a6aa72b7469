"""``make invoke FN=<LogicalId> EVENT=events/<file>.json``: one function, one event, on a fresh local stack.

The stack is the one ``make run`` starts (with the sample world of ``events/``), so the handler
runs exactly as the local stack dispatches it; no Docker is needed. Prints the handler's answer,
or its Lambda error payload (exit status 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from threadrunner_local.dispatch import FunctionError
from threadrunner_local.stack import LocalStack, StackConfig, free_port

from . import samples


def invoke(stack: LocalStack, function: str, event_file: Path) -> Any:
    """The answer of ``function`` to the event in ``event_file``; raises :class:`FunctionError`."""
    assert stack.dispatcher is not None
    event = json.loads(event_file.read_text())
    return stack.dispatcher.invoke(function, event)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make invoke FN=<LogicalId> EVENT=events/<LogicalId>/<file>.json", file=sys.stderr)
        return 2
    function, event_file = argv[0], Path(argv[1])
    config = samples.configure(
        StackConfig(api_port=free_port(), model_latency=0.5, environment={"POWERTOOLS_LOG_LEVEL": "WARNING"})
    )
    stack = LocalStack(config).start()
    try:
        answer = invoke(stack, function, event_file)
    except FunctionError as error:
        print(json.dumps(error.payload, indent=2))
        return 1
    except KeyError:
        known = ", ".join(sorted(stack.template.functions)) if stack.template else ""
        print(f"no function {function!r} in template.yaml; one of: {known}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
    print(json.dumps(answer, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
