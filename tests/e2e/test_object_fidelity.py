"""Objects that runs write have the hosted API's fields with the hosted API's types (the SDK's models, strictly); what
the API answers for itself is checked in-process (tests/functional/test_object_fidelity.py)."""

from __future__ import annotations

import pytest
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from tests.conftest import api_call
from tests.e2e.helpers import LOCAL_TIME_TOOL, wait_for
from tests.support.fidelity import conforming, conforming_list, problems


@pytest.fixture
def api(stack):
    return lambda method, path, body=None: api_call(stack, method, path, body)


def test_runs_steps_and_the_messages_runs_write_are_whole(api):
    assistant = conforming(Assistant, api("POST", "/assistants", {"model": "gpt-4.1-mini", "tools": [LOCAL_TIME_TOOL]}))
    thread = conforming(Thread, api("POST", "/threads", {"messages": [{"role": "user", "content": "Time in Oslo?"}]}))
    path = f"/threads/{thread['id']}/runs"

    queued = conforming(Run, api("POST", path, {"assistant_id": assistant["id"]}))
    waiting = wait_for(lambda: (r := api("GET", f"{path}/{queued['id']}")[1])["status"] == "requires_action" and r)
    conforming(Run, (200, waiting))
    (call,) = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    conforming(
        Run,
        api(
            "POST",
            f"{path}/{queued['id']}/submit_tool_outputs",
            {"tool_outputs": [{"tool_call_id": call["id"], "output": "9:00"}]},
        ),
    )
    done = wait_for(lambda: (r := api("GET", f"{path}/{queued['id']}")[1])["status"] == "completed" and r)

    assert problems(Run, done) == []
    conforming_list(Run, api("GET", path))
    steps = conforming_list(RunStep, api("GET", f"{path}/{queued['id']}/steps?order=asc"))
    assert [step["type"] for step in steps] == ["tool_calls", "message_creation"]
    conforming(RunStep, api("GET", f"{path}/{queued['id']}/steps/{steps[0]['id']}"))
    messages = conforming_list(Message, api("GET", f"/threads/{thread['id']}/messages?order=asc"))
    written = messages[-1]
    assert (written["role"], written["attachments"], written["metadata"]) == ("assistant", [], {})
    assert written["content"][0]["text"]["annotations"] == []
    conforming(Run, api("POST", f"{path}/{queued['id']}", {"metadata": {"k": "v"}}))


def test_runs_that_end_badly_are_whole(api, model, marker):
    assistant = conforming(Assistant, api("POST", "/assistants", {"model": "gpt-4.1-mini"}))
    model.inject("failed", match=marker)
    failed = conforming(
        Run,
        api(
            "POST",
            "/threads/runs",
            {"assistant_id": assistant["id"], "thread": {"messages": [{"role": "user", "content": f"Hi {marker}"}]}},
        ),
    )
    ended = wait_for(
        lambda: (r := api("GET", f"/threads/{failed['thread_id']}/runs/{failed['id']}")[1])["status"] == "failed" and r
    )
    assert problems(Run, ended) == [] and ended["last_error"]["code"] == "server_error"

    long_text = "Please repeat this sentence back to me in full. " * 40
    cut = conforming(
        Run,
        api(
            "POST",
            "/threads/runs",
            {
                "assistant_id": assistant["id"],
                "thread": {"messages": [{"role": "user", "content": long_text}]},
                "max_completion_tokens": 256,
            },
        ),
    )
    incomplete = wait_for(
        lambda: (r := api("GET", f"/threads/{cut['thread_id']}/runs/{cut['id']}")[1])["status"] == "incomplete" and r
    )
    assert problems(Run, incomplete) == []
    conforming_list(Message, api("GET", f"/threads/{cut['thread_id']}/messages"))
