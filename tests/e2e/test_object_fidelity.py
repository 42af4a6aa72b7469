"""Every object the API answers has the hosted API's fields with the hosted API's types (the SDK's models, strictly)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted, Run
from openai.types.beta.threads.runs import RunStep

from tests.conftest import api_call
from tests.e2e.helpers import LOCAL_TIME_TOOL, server_tool, wait_for
from tests.support.fidelity import problems

LIST_KEYS = {"object", "data", "first_id", "last_id", "has_more"}


def conforming(model: Any, answer: tuple[int, Any], status: int = 200) -> Any:
    """The object of a successful answer, after checking it against the SDK's model."""
    code, value = answer
    assert code == status, value
    assert problems(model, value) == [], value
    return value


def conforming_list(model: Any, answer: tuple[int, Any]) -> list[Any]:
    code, value = answer
    assert code == 200 and set(value) == LIST_KEYS and value["object"] == "list", value
    for item in value["data"]:
        assert problems(model, item) == [], item
    return value["data"]


@pytest.fixture
def api(stack):
    return lambda method, path, body=None: api_call(stack, method, path, body)


def test_assistants_are_whole(api):
    full = conforming(
        Assistant,
        api(
            "POST",
            "/assistants",
            {
                "model": "gpt-4.1-mini",
                "name": "Full",
                "description": "Every field",
                "instructions": "Be brief.",
                "tools": [{"type": "code_interpreter"}, {"type": "file_search"}, LOCAL_TIME_TOOL, server_tool("tally")],
                "tool_resources": {"code_interpreter": {"file_ids": ["file_1"]}},
                "metadata": {"k": "v"},
                "temperature": 0.5,
                "top_p": 0.5,
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            },
        ),
    )
    bare = conforming(Assistant, api("POST", "/assistants", {"model": "gpt-4.1-mini"}))

    assert (bare["tools"], bare["metadata"], bare["tool_resources"], bare["response_format"]) == ([], {}, {}, "auto")
    assert conforming(Assistant, api("GET", f"/assistants/{full['id']}")) == full
    conforming_list(Assistant, api("GET", "/assistants?limit=5"))
    conforming(Assistant, api("POST", f"/assistants/{bare['id']}", {"name": "Renamed"}))
    conforming(AssistantDeleted, api("DELETE", f"/assistants/{bare['id']}"))


FILLED = {"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}}
"""A file_search tool's options as the hosted API answered them when none were given."""


def test_file_search_tools_come_back_with_their_options_filled_in_assistants_and_runs(api):
    assistant = conforming(Assistant, api("POST", "/assistants", {"model": "m", "tools": [{"type": "file_search"}]}))
    thread = conforming(Thread, api("POST", "/threads", {}))
    tools = [
        {"type": "file_search", "file_search": {"max_num_results": 5, "ranking_options": {"score_threshold": 0.2}}}
    ]

    run = conforming(
        Run, api("POST", f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"], "tools": tools})
    )

    assert assistant["tools"] == [{"type": "file_search", "file_search": FILLED}]
    assert run["tools"] == [
        {
            "type": "file_search",
            "file_search": {
                "max_num_results": 5,
                "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.2},
            },
        }
    ]
    assert conforming(Assistant, api("GET", f"/assistants/{assistant['id']}"))["tools"][0]["file_search"] == FILLED


def test_threads_and_messages_are_whole(api, client):
    attached = client.files.create(file=("notes.txt", io.BytesIO(b"Tide tables")), purpose="assistants").id
    thread = conforming(
        Thread,
        api(
            "POST",
            "/threads",
            {
                "messages": [
                    {"role": "user", "content": "plain"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "parts"},
                            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                        ],
                        "attachments": [{"file_id": attached, "tools": [{"type": "code_interpreter"}]}],
                        "metadata": {"k": "v"},
                    },
                ]
            },
        ),
    )
    assert (thread["metadata"], thread["tool_resources"]) == ({}, {})
    messages = conforming_list(Message, api("GET", f"/threads/{thread['id']}/messages?order=asc"))
    assert [m["attachments"] for m in messages] == [
        [],
        [{"file_id": attached, "tools": [{"type": "code_interpreter"}]}],
    ]
    added = conforming(Message, api("POST", f"/threads/{thread['id']}/messages", {"role": "user", "content": "x"}))
    conforming(Message, api("GET", f"/threads/{thread['id']}/messages/{added['id']}"))
    conforming(Message, api("POST", f"/threads/{thread['id']}/messages/{added['id']}", {"metadata": {"a": "b"}}))
    conforming(MessageDeleted, api("DELETE", f"/threads/{thread['id']}/messages/{added['id']}"))
    conforming(Thread, api("POST", f"/threads/{thread['id']}", {"metadata": {"k": "w"}}))
    conforming(ThreadDeleted, api("DELETE", f"/threads/{thread['id']}"))


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
