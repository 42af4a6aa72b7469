"""Every file in events/ goes to its function through `make invoke`'s code path and gets a sensible answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadrunner_harness import samples
from threadrunner_harness.invoke import invoke
from threadrunner_local.stack import LocalStack
from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def _body(answer: dict) -> Any:
    return json.loads(answer["body"])


def _settled(stack: LocalStack, response_id: str) -> bool:
    """Whether a response of the sample project is counted (its ledger entry settled)."""
    (entry,) = [i for i in stack.table_items(f"P#{samples.PROJECT}#USAGE") if i["SK"]["S"] == f"RESPONSE#{response_id}"]
    return bool(entry.get("settled", {}).get("BOOL"))


def _run(stack: LocalStack, name: str) -> Any:
    stores = stack.stores(samples.PROJECT)
    return stores.runs.get_run(f"thread_sample_{name}", f"run_sample_{name}")


EXPECTATIONS: dict[str, Callable[[Any, LocalStack], bool]] = {
    "ApiFunction/create-assistant.json": lambda a, s: a["statusCode"] == 200 and _body(a)["object"] == "assistant",
    "ApiFunction/list-assistants.json": lambda a, s: samples.ASSISTANT in [x["id"] for x in _body(a)["data"]],
    "ApiFunction/create-thread.json": lambda a, s: _body(a)["object"] == "thread",
    "ApiFunction/list-messages.json": lambda a, s: (
        [m["content"][0]["text"]["value"] for m in _body(a)["data"]] == [samples.QUESTION]
    ),
    "ApiFunction/create-run.json": lambda a, s: _body(a)["object"] == "thread.run" and _body(a)["status"] == "queued",
    "ApiFunction/retrieve-run.json": lambda a, s: _body(a)["id"] == "run_sample_start",
    "ApiFunction/post-user-message.json": lambda a, s: a["statusCode"] == 202 and _body(a)["object"] == "thread.run",
    "ApiFunction/open-console.json": lambda a, s: (
        a["statusCode"] == 200 and "script-src 'self'" in a["headers"]["Content-Security-Policy"]
    ),
    "ApiFunction/unknown-thread.json": lambda a, s: (
        a["statusCode"] == 404 and _body(a)["error"]["message"] == "No thread found with id 'thread_nope'."
    ),
    "StartTurnFunction/start-queued-run.json": lambda a, s: (
        a["turn"]["response_id"].startswith("resp_") and _run(s, "start").status == "in_progress"
    ),
    "CheckTurnFunction/check-response-with-tool-call.json": lambda a, s: (
        a["turn"]["outcome"] == "tool_calls" and a["turn"]["server_calls"] == ["call_sample_check"]
    ),
    "RequestToolOutputsFunction/wait-for-client-call.json": lambda a, s: (
        _run(s, "wait").status == "requires_action"
        and [c.id for c in _run(s, "wait").required_action.submit_tool_outputs.tool_calls] == ["call_sample_time"]
    ),
    "SubmitToolOutputsFunction/send-tool-outputs.json": lambda a, s: (
        a["turn"]["response_id"] != "resp_sample_submit" and a["turn"]["outcome"] == "pending"
    ),
    "FinalizeRunFunction/finalize-completed-response.json": lambda a, s: (
        a["turn"]["outcome"] == "completed" and _run(s, "final").status == "completed"
    ),
    "FailRunFunction/fail-after-model-errors.json": lambda a, s: (
        a["turn"]["outcome"] == "failed"
        and _run(s, "fail").last_error.message.startswith("ModelUnavailable: The model provider is unavailable")
    ),
    "AnnounceRunFunction/announce-completed-run.json": lambda a, s: a["turn"]["outcome"] == "stopped",
    "ReconcilerFunction/execution-aborted.json": lambda a, s: (
        _run(s, "abort").status == "failed" and "execution ended ABORTED" in _run(s, "abort").last_error.message
    ),
    "ToolFunction/run-get-weather-call.json": lambda a, s: a["ran"] is True and a["is_error"] is False,
    "ToolFunction/run-lambda-tool-call.json": lambda a, s: (
        a["ran"] is True
        and a["execution"]["function_arn"] == samples.LOOKUP_ORDER.function_arn
        and a["execution"]["outcome"] == "ok"
    ),
    "ToolFunction/list-tools.json": lambda a, s: "get_weather" in [t["name"] for t in a["tools"]],
    "SettleResponsesFunction/scheduled-sweep.json": lambda a, s: (
        set(a) == {"settled", "running", "unanswered"} and _settled(s, samples.BACKGROUND_RESPONSE)
    ),
    "EventsFunction/message-requested.json": lambda a, s: a["run_id"].startswith("run_"),
    "QueueFunction/messages-batch.json": lambda a, s: a == {"batchItemFailures": []},
    "IndexFunction/index-file.json": lambda a, s: (
        a == {"batchItemFailures": []}
        and s.stores(samples.PROJECT).vector_stores.get_file(samples.VECTOR_STORE, samples.FILE).status == "completed"
    ),
}


def _samples() -> list[str]:
    return sorted(str(path.relative_to(EVENTS)) for path in EVENTS.glob("*/*.json"))


def test_every_function_has_samples_and_every_sample_an_expectation():
    # The streaming function takes HTTP requests through the web adapter, not events (test_streaming_function.py).
    functions = {name for name, spec in load(ROOT).functions.items() if not spec.web_adapter}
    assert {sample.split("/")[0] for sample in _samples()} == functions
    assert set(_samples()) == set(EXPECTATIONS)


@pytest.mark.parametrize("sample", _samples())
def test_a_sample_event_gets_a_sensible_answer(stack: LocalStack, sample: str):
    function = sample.split("/")[0]

    answer = invoke(stack, function, EVENTS / sample)

    assert EXPECTATIONS[sample](answer, stack), answer
