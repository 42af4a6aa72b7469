"""``make load``: N concurrent users through complete conversations with tool calls on the local stack."""

from __future__ import annotations

import argparse

from threadrunner_harness.load import run_load
from threadrunner_local.stack import LocalStack, StackConfig, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--messages", type=int, default=2, help="messages per user (default 2)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the offline model takes per response")
    args = parser.parse_args()
    stack = LocalStack(
        StackConfig(api_port=free_port(), model_latency=args.latency, environment={"POWERTOOLS_LOG_LEVEL": "ERROR"})
    ).start()
    try:
        report = run_load(stack, args.users, args.messages)
    finally:
        stack.stop()
    print(report.summary())


if __name__ == "__main__":
    main()
