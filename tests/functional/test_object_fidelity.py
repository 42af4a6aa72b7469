"""Every object the API answers has the hosted API's fields with the hosted API's types (the SDK's models, strictly):
the objects the API writes itself, in-process. Moved from tests/e2e/test_object_fidelity.py, which keeps the objects
runs write."""

from __future__ import annotations

import io

from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted, Run

from tests.e2e.helpers import LOCAL_TIME_TOOL, server_tool
from tests.support.fidelity import conforming, conforming_list
from threadrunner.app.files import stored_file


def test_assistants_are_whole(api):
    data = stored_file(api.deployment.stores("default"), api.deployment.contents, "data.csv", "assistants", b"a\n1\n")
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
                "tool_resources": {"code_interpreter": {"file_ids": [data.id]}},
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
