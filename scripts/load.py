"""``make load``: N concurrent users through complete conversations with tool calls on the local stack.

Prints one user's reply latency (the median of five, once the handlers are warm), then N users' (p50, p95)
measured in the same run on the same stack, their ratio, and the CPU time the stack's process spent per
message.
"""

from __future__ import annotations

import argparse
import resource

from threadrunner_harness.load import run_load
from threadrunner_local.stack import LocalStack, StackConfig, free_port


def cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (the stack's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


ONE_USER_MESSAGES = 5
"""The replies one user's latency is the median of."""


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
        run_load(stack, 1, 1)  # the handlers' first invocations (cold starts) count in neither figure
        one = run_load(stack, 1, ONE_USER_MESSAGES)
        used = cpu_seconds()
        report = run_load(stack, args.users, args.messages)
        used = cpu_seconds() - used
    finally:
        stack.stop()
    print(f"1 user: {one.summary()}")
    print(f"{args.users} users: {report.summary()}")
    single = one.percentile(0.5)
    print(
        f"one-user reply latency {single:.2f} s; {args.users} users p50 {report.percentile(0.5):.2f} s, "
        f"p95 {report.percentile(0.95):.2f} s; ratio p95 / one user {report.percentile(0.95) / single:.1f}; "
        f"CPU {used / max(1, report.messages_sent):.3f} s per message ({used:.1f} s for {report.messages_sent})"
    )


if __name__ == "__main__":
    main()
