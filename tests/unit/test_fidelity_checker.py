"""The strict checker the contract tests rely on finds what the SDK's lenient parsing lets through."""

from __future__ import annotations

from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message

from tests.support.fidelity import problems

MESSAGE = {
    "id": "msg_1",
    "object": "thread.message",
    "created_at": 1,
    "thread_id": "thread_1",
    "status": "completed",
    "incomplete_details": None,
    "completed_at": 1,
    "incomplete_at": None,
    "role": "assistant",
    "content": [{"type": "text", "text": {"value": "hi", "annotations": []}}],
    "assistant_id": "asst_1",
    "run_id": "run_1",
    "attachments": [],
    "metadata": {},
}


def test_a_whole_message_conforms():
    assert problems(Message, MESSAGE) == []


def test_null_attachments_and_metadata_are_problems_although_the_sdk_types_them_optional():
    found = problems(Message, MESSAGE | {"attachments": None, "metadata": None})

    assert found == [
        "$.attachments: null where the hosted API always sent a value",
        "$.metadata: null where the hosted API always sent a value",
    ]
    Message.model_validate(MESSAGE | {"attachments": None})  # what the SDK alone lets through


def test_a_missing_field_and_a_wrong_type_are_problems():
    message = {key: value for key, value in MESSAGE.items() if key != "run_id"} | {"created_at": "1"}

    assert problems(Message, message) == ["$.created_at: expected int, got str", "$.run_id: missing"]


def test_null_tool_resources_of_a_thread_is_a_problem():
    thread = {"id": "thread_1", "object": "thread", "created_at": 1, "metadata": {}, "tool_resources": None}

    assert problems(Thread, thread) == ["$.tool_resources: null where the hosted API always sent a value"]


ASSISTANT = {
    "id": "asst_1",
    "object": "assistant",
    "created_at": 1,
    "name": None,
    "description": None,
    "model": "m",
    "instructions": None,
    "tools": [],
    "metadata": {},
    "response_format": "auto",
    "temperature": 1.0,
    "top_p": 1.0,
    "tool_resources": {},
}


def test_a_file_search_tool_without_its_options_filled_is_a_problem_as_openais_description_has_them():
    bare, null = ({"type": "file_search"}, {"type": "file_search", "file_search": None})
    sparse = {"type": "file_search", "file_search": {"ranking_options": {"score_threshold": 0.0}}}
    filled = {"type": "file_search", "file_search": {"ranking_options": {"ranker": "auto", "score_threshold": 0.0}}}

    assert problems(Assistant, ASSISTANT | {"tools": [bare]}) == ["$.tools[0].file_search: missing"]
    assert problems(Assistant, ASSISTANT | {"tools": [null]}) == [
        "$.tools[0].file_search: null where the hosted API always sent a value"
    ]
    assert problems(Assistant, ASSISTANT | {"tools": [sparse]}) == [
        "$.tools[0].file_search.ranking_options.ranker: missing"
    ]
    assert problems(Assistant, ASSISTANT | {"tools": [filled]}) == []


def test_an_attachment_without_a_file_id_or_tools_is_a_problem():
    attachments = [{"file_id": None, "tools": [{"type": "file_search"}]}, {"file_id": "file_1"}]

    assert problems(Message, MESSAGE | {"attachments": attachments}) == [
        "$.attachments[0].file_id: null where the hosted API always sent a value",
        "$.attachments[1].tools: missing",
    ]
