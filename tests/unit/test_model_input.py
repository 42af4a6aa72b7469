"""What the model is sent: a thread cut to fit, and the tokens a turn reserves against the budgets."""

from __future__ import annotations

from collections.abc import Iterator

from threadrunner.domain.common import Usage
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.model_input import first_turn, format_problem, next_turn, reservation_for
from threadrunner.domain.model_turn import ToolOutput
from threadrunner.domain.run import Run, TruncationStrategy
from threadrunner.domain.run_record import RunRecord


def _record(**fields) -> RunRecord:
    run = Run(id="run_1", created_at=1, thread_id="thread_1", assistant_id="asst_1", model="m", **fields)
    return RunRecord(run=run)


class Thread:
    """A thread of ``count`` messages of 400 characters (100 estimated tokens), read newest first, counting reads."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.read = 0

    def newest_first(self) -> Iterator[Message]:
        for index in reversed(range(self.count)):
            self.read += 1
            text = f"{index:04d} " + "x" * 395
            yield Message(
                id=f"msg_{index:04d}", created_at=index, thread_id="thread_1", role="user", content=text_content(text)
            )


def test_given_a_long_thread_when_truncated_auto_then_the_newest_messages_that_fit_are_sent_oldest_first():
    thread = Thread(1000)

    request = first_turn(_record(instructions="Be brief."), thread.newest_first(), context_tokens=8_192)

    # 8192 - 4096 for the reply - the instructions and tools leave room for 40 messages of 100 tokens.
    assert len(request.messages) == 40
    assert request.messages[0].text.startswith("0960 ") and request.messages[-1].text.startswith("0999 ")
    assert thread.read == 41  # the thread is read only as far as it is kept


def test_given_a_run_that_leaves_room_for_its_reply_when_truncated_auto_then_the_room_is_its_own():
    request = first_turn(_record(max_completion_tokens=1_000), Thread(1000).newest_first(), context_tokens=8_192)
    assert len(request.messages) == 71


def test_given_one_message_larger_than_the_context_when_truncated_auto_then_the_newest_message_is_still_sent():
    request = first_turn(_record(), Thread(3).newest_first(), context_tokens=4_100)
    assert [m.text[:4] for m in request.messages] == ["0002"]


def test_given_last_messages_when_truncated_then_that_many_of_the_newest_are_sent():
    thread = Thread(1000)
    request = first_turn(
        _record(truncation_strategy=TruncationStrategy(type="last_messages", last_messages=3)),
        thread.newest_first(),
        context_tokens=128_000,
    )
    assert [m.text[:4] for m in request.messages] == ["0997", "0998", "0999"] and thread.read == 3


def test_given_a_turn_that_continues_a_response_when_reserved_then_the_chained_context_counts_too():
    record = _record(instructions="x" * 400)
    first = first_turn(record, Thread(2).newest_first(), context_tokens=128_000)
    assert reservation_for(first, Usage(), 32_768) == {"prompt_tokens": 100 + 1 + 200, "completion_tokens": 32_768}

    record.usage = Usage(prompt_tokens=300, completion_tokens=50, total_tokens=350)
    following = next_turn(record, "resp_1", [ToolOutput(call_id="call_1", output="y" * 40)])
    reserved = reservation_for(following, record.usage, 32_768)
    assert reserved == {"prompt_tokens": 100 + 1 + 10 + 350, "completion_tokens": 32_768}


def test_given_a_forced_server_tool_when_turns_are_built_then_the_first_forces_it_and_later_ones_may_reply():
    record = _record(tool_choice={"type": "function", "function": {"name": "threadrunner:get_weather"}})

    first = first_turn(record, Thread(1).newest_first(), context_tokens=128_000)
    following = next_turn(record, "resp_1", [ToolOutput(call_id="call_1", output="sunny")])

    assert first.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert following.tool_choice == "auto"


def test_given_tool_choice_none_when_turns_are_built_then_every_turn_keeps_it():
    record = _record(tool_choice="none")

    assert first_turn(record, Thread(1).newest_first(), context_tokens=128_000).tool_choice == "none"
    assert next_turn(record, "resp_1", []).tool_choice == "none"


def test_a_message_nested_deeper_than_the_json_parser_goes_does_not_match_its_format():
    deep = "[" * 100_000 + "]" * 100_000

    assert format_problem({"type": "json_object"}, deep) == (
        "The response_format is json_object, but the model's message is JSON nested too deeply to read."
    )
