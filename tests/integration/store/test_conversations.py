"""The contract of the stores of the Responses API's state (conversations and their items, threads read as
conversations, prompts), kept by the DynamoDB stores (on moto, with the table built from template.yaml by the local
stack) and by the in-memory fakes alike."""

from __future__ import annotations

import pytest

from threadrunner.domain.common import now
from threadrunner.domain.conversation import Conversation, Hold, Item, client_item, input_items, provider_item
from threadrunner.domain.ids import new_id
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.pagination import PageRequest
from threadrunner.domain.prompts import Prompt
from threadrunner.domain.run import Run
from threadrunner.domain.run_step import FunctionCall, FunctionToolCall, RunStep, ToolCallsStepDetails
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.errors import ConversationLocked, InvalidRequest, NotFound, RunActive, TurnAnswered
from threadrunner.ports import Stores


def _said(text: str, role: str = "user") -> Item:
    return client_item({"type": "message", "role": role, "content": text}, "items[0]")


def _conversation(store: Stores, *texts: str) -> Conversation:
    conversation = Conversation(id=new_id("conv"), created_at=now(), metadata={"topic": "demo"})
    store.conversations.create_conversation(conversation, [_said(text) for text in texts])
    return conversation


def _texts(items: list[Item]) -> list[str]:
    return [part["text"] for item in items for part in item.data.get("content", [])]


def _hold(key: str | None = None, seconds: int = 60) -> Hold:
    return Hold(id=new_id("hold"), until=now() + seconds, key=key)


def test_a_conversation_keeps_its_metadata_and_items_until_it_is_deleted_with_them(store):
    conversation = _conversation(store, "Hello!", "How are you?")

    assert store.conversations.get_conversation(conversation.id) == conversation
    changed = store.conversations.update_conversation(conversation.id, {"topic": "other"})
    assert changed.metadata == {"topic": "other"} == store.conversations.get_conversation(conversation.id).metadata
    listed = store.conversations.list_items(conversation.id, PageRequest(order="asc"))
    assert _texts(listed.data) == ["Hello!", "How are you?"] and not listed.has_more

    store.conversations.delete_conversation(conversation.id)
    with pytest.raises(NotFound):
        store.conversations.get_conversation(conversation.id)
    with pytest.raises(NotFound):
        store.conversations.list_items(conversation.id, PageRequest())
    with pytest.raises(NotFound):
        store.conversations.add_items(conversation.id, [_said("late")])


def test_items_are_added_in_order_read_one_by_one_deleted_and_listed_in_pages(store):
    conversation = _conversation(store)
    items = [_said(f"m{n}") for n in range(25)]
    for start in range(0, 25, 10):
        store.conversations.add_items(conversation.id, items[start : start + 10])
    ids = [item.id for item in items]

    for order, expected in (("asc", ids), ("desc", ids[::-1])):
        seen, after = [], None
        while True:
            page = store.conversations.list_items(conversation.id, PageRequest(limit=10, order=order, after=after))
            seen += [item.id for item in page.data]
            if not page.has_more:
                break
            after = page.data[-1].id
        assert seen == expected
    before = store.conversations.list_items(conversation.id, PageRequest(limit=3, order="asc", before=ids[10]))
    assert [item.id for item in before.data] == ids[7:10] and before.has_more
    assert store.conversations.get_item(conversation.id, ids[4]) == items[4]
    assert [item.id for item in store.conversations.newest_items(conversation.id)][:3] == ids[::-1][:3]

    store.conversations.delete_item(conversation.id, ids[4])
    with pytest.raises(NotFound):
        store.conversations.get_item(conversation.id, ids[4])
    with pytest.raises(NotFound):
        store.conversations.delete_item(conversation.id, ids[4])
    assert len(list(store.conversations.newest_items(conversation.id))) == 24


def test_items_keep_what_the_client_and_the_provider_gave_them(store):
    conversation = _conversation(store)
    reasoning = client_item({"type": "reasoning", "id": "rs_given", "encrypted_content": "opaque"}, "items[0]")
    made = provider_item(
        {"type": "function_call", "id": "fc_provider", "call_id": "call_1", "name": "f", "arguments": "{}"}
    )
    odd = client_item({"type": "web_search_call", "status": "completed", "action": {"query": "q", "": [1e300]}}, "x")
    store.conversations.add_items(conversation.id, [reasoning, made, odd])

    listed = store.conversations.list_items(conversation.id, PageRequest(order="asc")).data
    assert listed == [reasoning, made, odd]
    assert [item.for_provider().get("id") for item in listed] == ["rs_given", "fc_provider", None]
    assert listed[0].wire() == {"id": reasoning.id, "type": "reasoning", "encrypted_content": "opaque", "summary": []}


def test_a_response_holds_its_conversation_until_it_appends_its_turn_once(store):
    conversation = _conversation(store, "first")
    hold = _hold(key="k" * 64)
    store.conversations.hold(conversation.id, hold)

    with pytest.raises(ConversationLocked):
        store.conversations.hold(conversation.id, _hold())
    with pytest.raises(ConversationLocked):
        store.conversations.add_items(conversation.id, [_said("interleaved")])
    turn = [_said("second"), _said("answer", role="assistant")]
    assert store.conversations.append_turn(conversation.id, hold, turn)
    assert not store.conversations.append_turn(conversation.id, hold, turn)  # appended once

    assert _texts(store.conversations.list_items(conversation.id, PageRequest(order="asc")).data) == [
        "first",
        "second",
        "answer",
    ]
    with pytest.raises(TurnAnswered):  # the turn of this key was appended: it is not asked again
        store.conversations.hold(conversation.id, _hold(key="k" * 64))
    store.conversations.add_items(conversation.id, [_said("free again")])


def test_a_hold_that_lapsed_or_was_let_go_holds_nothing_and_appends_nothing(store):
    conversation = _conversation(store)
    lapsed = _hold(seconds=-1)
    store.conversations.hold(conversation.id, lapsed)
    taken = _hold()
    store.conversations.hold(conversation.id, taken)  # the lapsed hold no longer counts

    assert not store.conversations.append_turn(conversation.id, lapsed, [_said("late")])
    store.conversations.release(conversation.id, lapsed)  # not its hold any more: nothing
    with pytest.raises(ConversationLocked):
        store.conversations.add_items(conversation.id, [_said("x")])
    store.conversations.release(conversation.id, taken)
    store.conversations.add_items(conversation.id, [_said("x")])
    assert _texts(list(store.conversations.newest_items(conversation.id))) == ["x"]


def _thread_with_a_run(store: Stores) -> tuple[Thread, Run, list[Message]]:
    """A thread: a user's question, a run that called a tool (answered) and wrote an answer."""
    thread = Thread(id=new_id("thread"), created_at=now(), metadata={"a": "b"})
    question = Message(
        id=new_id("msg"), created_at=now(), thread_id=thread.id, role="user", content=text_content("Weather?")
    )
    store.threads.create_thread(thread, [question])
    run = Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="asst_x", model="m")
    store.runs.create_run(run)
    step_id = new_id("step")
    call = ToolCall(call_id="call_1", run_id=run.id, step_id=step_id, name="get_weather", arguments="{}", side="client")
    step = RunStep(
        id=step_id,
        created_at=now(),
        run_id=run.id,
        assistant_id="asst_x",
        thread_id=thread.id,
        type="tool_calls",
        step_details=ToolCallsStepDetails(
            tool_calls=[FunctionToolCall(id="call_1", function=FunctionCall(name="get_weather", arguments="{}"))]
        ),
    )
    store.steps.put_step(step, [call])
    store.runs.transition_run(thread.id, run.id, "in_progress")
    store.runs.transition_run(thread.id, run.id, "requires_action", waiting_step_id=step_id)
    store.runs.accept_tool_outputs(thread.id, run.id, step_id, {"call_1": "sunny"}, 1000)
    answer = Message(
        id=new_id("msg"),
        created_at=now(),
        thread_id=thread.id,
        role="assistant",
        content=text_content("It is sunny."),
        run_id=run.id,
    )
    store.runs.transition_run(thread.id, run.id, "completed", puts=[answer])
    return thread, run, [question, answer]


def test_a_thread_reads_as_a_conversation_of_its_messages_and_tool_calls_in_order(store):
    thread, _, (question, _) = _thread_with_a_run(store)

    listed = store.conversations.list_items(thread.id, PageRequest(order="asc")).data
    assert [item.type for item in listed] == ["message", "function_call", "function_call_output", "message"]
    assert listed[0].wire() == {
        "id": question.id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Weather?"}],
        "status": "completed",
    }
    assert listed[1].data | {"id": listed[1].id} == listed[1].wire()
    assert (listed[1].data["call_id"], listed[1].data["name"], listed[2].data["output"]) == (
        "call_1",
        "get_weather",
        "sunny",
    )
    assert listed[3].data["content"] == [{"type": "output_text", "text": "It is sunny.", "annotations": []}]
    assert [store.conversations.get_item(thread.id, item.id) for item in listed] == listed
    assert [item.id for item in store.conversations.newest_items(thread.id)] == [item.id for item in listed][::-1]
    second = store.conversations.list_items(thread.id, PageRequest(limit=2, order="asc", after=listed[1].id))
    assert [item.id for item in second.data] == [listed[2].id, listed[3].id] and not second.has_more
    back = store.conversations.list_items(thread.id, PageRequest(limit=2, order="desc", before=listed[1].id))
    assert [item.id for item in back.data] == [listed[3].id, listed[2].id]
    assert store.conversations.get_conversation(thread.id) == Conversation(
        id=thread.id, created_at=thread.created_at, metadata={"a": "b"}
    )
    with pytest.raises(InvalidRequest):
        store.conversations.delete_item(thread.id, listed[1].id)
    with pytest.raises(InvalidRequest):
        store.conversations.delete_conversation(thread.id)


def test_a_turn_on_a_thread_adds_its_messages_as_messages_and_the_rest_as_items(store):
    thread, _, _ = _thread_with_a_run(store)
    hold = _hold()
    store.conversations.hold(thread.id, hold)
    late = Message(id=new_id("msg"), created_at=now(), thread_id=thread.id, role="user", content=text_content("x"))
    with pytest.raises(ConversationLocked):
        store.threads.add_message(late)
    with pytest.raises(ConversationLocked):
        store.runs.create_run(Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="a", model="m"))

    turn = [
        *input_items("Thanks! And tomorrow?", "input"),
        provider_item(
            {"type": "function_call", "id": "fc_p", "call_id": "call_2", "name": "get_weather", "arguments": "{}"}
        ),
    ]
    assert store.conversations.append_turn(thread.id, hold, turn)

    messages = store.threads.list_messages(thread.id, PageRequest(order="asc")).data
    assert [m.text for m in messages] == ["Weather?", "It is sunny.", "Thanks! And tomorrow?"]
    assert messages[-1].id == turn[0].id and messages[-1].role == "user"
    listed = store.conversations.list_items(thread.id, PageRequest(order="asc")).data
    assert listed[-2:] == turn
    store.threads.add_message(late)  # free again


def test_a_thread_with_an_active_run_is_held_by_the_run(store):
    thread = Thread(id=new_id("thread"), created_at=now())
    store.threads.create_thread(thread, [])
    run = Run(id=new_id("run"), created_at=now(), thread_id=thread.id, assistant_id="asst_x", model="m")
    store.runs.create_run(run)

    with pytest.raises(RunActive):
        store.conversations.hold(thread.id, _hold())
    with pytest.raises(RunActive):
        store.conversations.add_items(thread.id, [_said("x")])


def test_conversations_are_listed_newest_first_and_projects_cannot_see_each_others(store, other_project):
    made = [_conversation(store) for _ in range(3)]
    page = store.conversations.list_conversations(PageRequest(limit=2))
    assert [c.id for c in page.data] == [made[2].id, made[1].id] and page.has_more
    store.conversations.delete_conversation(made[2].id)
    assert [c.id for c in store.conversations.list_conversations(PageRequest()).data] == [made[1].id, made[0].id]

    other = other_project
    assert other.conversations.list_conversations(PageRequest()).data == []
    with pytest.raises(NotFound):
        other.conversations.get_conversation(made[0].id)
    with pytest.raises(NotFound):
        other.conversations.get_item(made[0].id, "msg_x")


def _prompt(prompt_id: str, instructions: str) -> Prompt:
    return Prompt(id=prompt_id, version="1", created_at=now(), instructions=instructions, model="m")


def test_a_prompt_keeps_its_versions_in_order_and_the_latest_is_the_default(store):
    prompt_id = new_id("pmpt")
    store.prompts.create_prompt(_prompt(prompt_id, "v1"))
    made = [store.prompts.add_version(_prompt(prompt_id, f"v{n}")) for n in range(2, 13)]

    assert [p.version for p in made] == [str(n) for n in range(2, 13)]
    assert store.prompts.get_prompt(prompt_id).instructions == "v12"
    assert store.prompts.get_prompt(prompt_id, "2").instructions == "v2"
    first = store.prompts.list_versions(prompt_id, PageRequest(limit=5, order="asc"))
    assert [p.version for p in first.data] == ["1", "2", "3", "4", "5"] and first.has_more
    later = store.prompts.list_versions(prompt_id, PageRequest(limit=5, order="asc", after="9"))
    assert [p.version for p in later.data] == ["10", "11", "12"] and not later.has_more
    newest = store.prompts.list_versions(prompt_id, PageRequest(limit=2))
    assert [p.version for p in newest.data] == ["12", "11"]
    for missing in ("13", "0", "x", "-1"):
        with pytest.raises(NotFound):
            store.prompts.get_prompt(prompt_id, missing)
    with pytest.raises(InvalidRequest):
        store.prompts.list_versions(prompt_id, PageRequest(after="latest"))

    store.prompts.delete_prompt(prompt_id)
    for gone in (
        lambda: store.prompts.get_prompt(prompt_id),
        lambda: store.prompts.add_version(_prompt(prompt_id, "v")),
        lambda: store.prompts.list_versions(prompt_id, PageRequest()),
        lambda: store.prompts.delete_prompt(prompt_id),
    ):
        with pytest.raises(NotFound):
            gone()
