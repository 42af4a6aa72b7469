"""A Lambda function that is a server tool: what `docs/server-tools.md` walks through.

Any runtime works; the contract is the event and the answer. threadrunner invokes the function with
the call's arguments (already checked against the tool's JSON schema) and where the call comes from:

    {"arguments": {"order_id": "A-1001"},
     "context": {"tool": "lookup_order", "call_id": "call_...", "run_id": "run_...",
                 "thread_id": "thread_...", "assistant_id": "asst_...", "project": "default"}}

Whatever it returns (JSON) is the call's output the model reads; an exception is an error output, and
counts against the project's circuit of the tool, unless its class is named `InvalidArguments` (the caller's
arguments are wrong: never retried nor counted). `make run` creates it as `lookup-order`, tagged as a tool of the
local project; deployed, it is any function of the account with the tag `threadrunner-tool`.
"""

ORDERS = {
    "A-1001": {"status": "shipped", "carrier": "UPS", "delivery": "2026-12-04"},
    "A-1002": {"status": "processing", "carrier": None, "delivery": None},
}


def handler(event: dict, context: object) -> dict:
    order_id = event["arguments"]["order_id"]
    order = ORDERS.get(order_id)
    if order is None:
        return {"order_id": order_id, "found": False}
    return {"order_id": order_id, "found": True, **order}
