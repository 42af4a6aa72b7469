"""Server-side tools that exist for the tests: they fail, hang, page forever, or answer too much.

The test stack's ToolFunction imports this module next to the examples (``TOOL_MODULES``).
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from threadrunner.domain.tools import tool

BIG_OUTPUT_BYTES = 300_000
"""More than a Step Functions state may carry (256 KB)."""


class Topic(BaseModel):
    topic: str = Field(description="What the call is about")


class Page(BaseModel):
    topic: str = Field(description="What to list")
    cursor: int | None = Field(None, description="Where to go on from")


@tool(timeout_seconds=5)
def explode(args: Topic) -> dict:
    """Explode on purpose: always raises."""
    raise RuntimeError(f"the {args.topic} exploded")


@tool(timeout_seconds=1)
def sleepy(args: Topic) -> dict:
    """Sleep far longer than its one-second limit."""
    time.sleep(10)
    return {"topic": args.topic}


@tool(timeout_seconds=5)
def paginate(args: Page) -> dict:
    """List items page by page; there is always a next page, so a model paging through never stops."""
    cursor = args.cursor or 0
    return {"items": [f"{args.topic} {cursor}"], "next_cursor": cursor + 1}


@tool(timeout_seconds=5)
def big_report(args: Topic) -> str:
    """Write a report far larger than a Step Functions state may carry."""
    return "r" * BIG_OUTPUT_BYTES


EXECUTIONS: dict[str, int] = {}
"""How often ``tally`` ran, by topic: what a side effect (a payment, an email) would count."""


@tool(timeout_seconds=5)
def tally(args: Topic) -> dict:
    """Tally one more for a topic: a tool with a side effect, which must run at most once per call."""
    EXECUTIONS[args.topic] = EXECUTIONS.get(args.topic, 0) + 1
    return {"topic": args.topic, "count": EXECUTIONS[args.topic]}
