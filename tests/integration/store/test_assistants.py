"""The assistant store's contract, on DynamoDB and on the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from threadrunner.domain.assistant import Assistant
from threadrunner.domain.common import now
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.errors import NotFound

from .builders import pages_like_a_list


def _assistant(**fields: Any) -> Assistant:
    return Assistant(id=new_id("asst"), created_at=now(), model="m", **fields)


def test_an_assistant_reads_back_as_it_was_put(store):
    assistant = _assistant(
        name="Helper",
        instructions="Be brief.",
        tools=[{"type": "code_interpreter"}, {"type": "function", "function": {"name": "f", "parameters": {}}}],
        tool_resources={"file_search": {"vector_store_ids": ["vs_1"]}},
        metadata={"team": "a"},
        temperature=0.5,
        response_format={"type": "json_object"},
    )

    store.assistants.put_assistant(assistant)

    assert store.assistants.get_assistant(assistant.id) == assistant


@pytest.mark.parametrize(
    "assistant_id", [new_id("asst"), "asst_../x", "asst_" + "x" * 100], ids=["unknown", "a path", "too long"]
)
def test_an_assistant_the_project_does_not_have_is_not_found_and_changes_nothing(store, assistant_id):
    with pytest.raises(NotFound):
        store.assistants.get_assistant(assistant_id)
    with pytest.raises(NotFound):
        store.assistants.update_assistant(assistant_id, {"name": "x"})
    with pytest.raises(NotFound):
        store.assistants.delete_assistant(assistant_id)

    assert store.assistants.list_assistants(PageRequest()).data == []


def test_an_update_sets_the_given_fields_keeps_the_others_and_is_what_a_later_read_shows(store):
    assistant = _assistant(name="Old", instructions="Keep me.", metadata={"v": "1"})
    store.assistants.put_assistant(assistant)

    updated = store.assistants.update_assistant(
        assistant.id, {"name": "New", "metadata": {"v": "2"}, "tools": [{"type": "file_search"}], "top_p": None}
    )

    assert updated == store.assistants.get_assistant(assistant.id)
    expected = {"name": "New", "metadata": {"v": "2"}, "tools": _assistant(tools=[{"type": "file_search"}]).tools}
    assert updated == assistant.model_copy(update=expected)
    assert store.assistants.update_assistant(assistant.id, {}) == updated


def test_a_deleted_assistant_is_gone_from_reads_and_lists(store):
    kept, deleted = _assistant(), _assistant()
    store.assistants.put_assistant(kept)
    store.assistants.put_assistant(deleted)

    store.assistants.delete_assistant(deleted.id)

    with pytest.raises(NotFound):
        store.assistants.get_assistant(deleted.id)
    with pytest.raises(NotFound):
        store.assistants.delete_assistant(deleted.id)
    assert store.assistants.list_assistants(PageRequest()).data == [kept]


def test_assistants_are_listed_in_pages_by_creation(store):
    made = [_assistant(name=f"a{n}") for n in range(5)]
    for assistant in made:
        store.assistants.put_assistant(assistant)

    pages_like_a_list(store.assistants.list_assistants, [a.id for a in made])
    assert store.assistants.list_assistants(PageRequest(limit=1)).data == [made[-1]]
