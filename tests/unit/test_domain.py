"""Pure rules: run-status transitions, pagination, output capping, ids."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from threadrunner.domain.ids import new_id
from threadrunner.domain.model_input import cap_output, next_poll_delay
from threadrunner.domain.pagination import PageRequest, paginate
from threadrunner.domain.run_status import ALL_STATUSES, TERMINAL, can_move, sources_of


def test_terminal_statuses_have_no_way_out_and_every_status_is_reachable_from_queued():
    for status in TERMINAL:
        assert not any(can_move(status, target) for target in ALL_STATUSES)
    reachable, frontier = {"queued"}, ["queued"]
    while frontier:
        source = frontier.pop()
        for target in ALL_STATUSES:
            if can_move(source, target) and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(ALL_STATUSES)
    assert sources_of("cancelled") == {"queued", "cancelling"}
    assert "completed" not in {t for t in ALL_STATUSES if can_move("cancelling", t)}  # a cancel is final


@dataclass
class Item:
    id: str


@pytest.mark.parametrize(
    ("request_", "expected", "has_more"),
    [
        (PageRequest(limit=2, order="asc"), ["a", "b"], True),
        (PageRequest(limit=2, order="desc"), ["e", "d"], True),
        (PageRequest(limit=2, order="asc", after="b"), ["c", "d"], True),
        (PageRequest(limit=2, order="desc", after="b"), ["a"], False),
        (PageRequest(limit=2, order="asc", before="d"), ["b", "c"], True),
        (PageRequest(limit=5, order="asc", after="a", before="d"), ["b", "c"], False),
    ],
)
def test_paginate_cuts_pages_like_the_api(request_, expected, has_more):
    page = paginate([Item(i) for i in "abcde"], request_)
    assert ([item.id for item in page.data], page.has_more) == (expected, has_more)


def test_cap_output_keeps_whole_characters_and_says_it_cut():
    text = "é" * 1000  # two bytes each
    capped = cap_output(text, 1024)
    assert len(capped.encode()) <= 1024
    assert capped.endswith("[threadrunner: output truncated from 2000 to 1024 bytes]")
    assert cap_output("short", 1024) == "short"


def test_poll_delays_back_off_to_a_ceiling():
    assert [next_poll_delay(n, 10) for n in range(6)] == [1, 2, 4, 8, 10, 10]


def test_ids_sort_in_creation_order():
    ids = [new_id("msg") for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == 2000
    assert all(len(i) == len("msg_") + 22 for i in ids)


def test_a_tool_choice_naming_an_undeclared_function_is_refused_and_a_declared_one_passes():
    from threadrunner.domain.common import FunctionDefinition, FunctionTool
    from threadrunner.domain.server_tools import check_tool_choice
    from threadrunner.errors import InvalidRequest

    tools = [FunctionTool(function=FunctionDefinition(name="threadrunner:get_weather"))]

    check_tool_choice(tools, {"type": "function", "function": {"name": "threadrunner:get_weather"}})
    check_tool_choice(tools, "required")
    with pytest.raises(InvalidRequest) as refused:
        check_tool_choice(tools, {"type": "function", "function": {"name": "get_weather"}})
    assert refused.value.param == "tool_choice"


def test_attachments_stored_by_earlier_versions_without_a_file_or_tools_read_as_the_spec_has_them():
    from threadrunner.domain.message import Attachment, Message

    stored = {"id": "msg_1", "created_at": 1, "thread_id": "thread_1", "role": "user", "content": []}
    kept = [{"file_id": None, "tools": None}, {}, {"file_id": "file-1", "tools": None}]

    message = Message.model_validate(stored | {"attachments": kept})

    assert message.attachments == [Attachment(file_id="file-1", tools=[])]
