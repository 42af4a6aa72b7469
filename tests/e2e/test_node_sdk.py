"""The Node openai SDK, unmodified (tests/node, pinned), against the local stack: server tools declared by name
survive its round trips, ``runs.stream`` relays the reply token by token, client tools stream to the answer, and a
streamed file_search shows as one from its creation, with its citation in a text delta."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "tests" / "node"


def test_the_node_sdk_declares_server_tools_and_streams_runs(stack):
    env = {**os.environ, "THREADRUNNER_URL": stack.api_url, "THREADRUNNER_API_KEY": stack.config.api_key}
    answer = subprocess.run(
        ["node", str(NODE / "assistants.mjs")], capture_output=True, text=True, env=env, timeout=120, cwd=NODE
    )
    assert answer.returncode == 0, answer.stderr
    seen = json.loads(answer.stdout.strip().splitlines()[-1])

    assert seen["declared"] == ["threadrunner:get_weather", "get_account_balance"]  # unchanged by the round trip
    assert seen["request_id"]  # x-request-id reaches the SDK's request id
    weather = seen["weather"]
    assert weather["status"] == "completed" and weather["events"][-1] == "thread.run.completed"
    assert weather["events"].count("thread.message.delta") > 1 and weather["text"] == weather["stored"]
    assert "thread.run.step.delta" in weather["events"]  # the server tool's call, as the model made it
    assert seen["asked"] == {
        "last": "thread.run.requires_action",
        "status": "requires_action",
        "call": "get_account_balance",
    }
    answered = seen["answered"]
    assert answered["status"] == "completed" and "7.00 EUR" in answered["text"]
    search = seen["search"]
    assert search["status"] == "completed" and search["created"] == ["file_search"]  # never a function
    (citation,) = search["annotations"]  # in a delta, indexed into the whole text
    assert (citation["index"], citation["type"], citation["file_citation"]["file_id"]) == (
        0,
        "file_citation",
        search["file_id"],
    )
    assert search["text"][citation["start_index"] : citation["end_index"]] == citation["text"] == "【0:0†handbook.txt】"
