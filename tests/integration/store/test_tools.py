"""The tool store's contract (a project's registered server tools), on DynamoDB and on the fakes."""

from __future__ import annotations

import pytest

from threadrunner.domain.lambda_tools import LambdaTool
from threadrunner.errors import Conflict, NotFound


def _tool(name: str) -> LambdaTool:
    return LambdaTool(name=name, function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}")


def test_a_projects_tools_are_registered_once_by_name_and_listed_by_name(store):
    for name in ("orders", "billing"):
        store.tools.put_tool(_tool(name))

    with pytest.raises(Conflict, match="A server tool named 'orders' is registered already") as refused:
        store.tools.put_tool(_tool("orders").model_copy(update={"function_arn": _tool("other").function_arn}))

    assert refused.value.param == "name"
    assert store.tools.get_tool("orders") == _tool("orders")
    assert store.tools.list_tools() == [_tool("billing"), _tool("orders")]


def test_a_deleted_tool_is_gone_and_an_unknown_one_is_not_found(store):
    store.tools.put_tool(_tool("orders"))

    store.tools.delete_tool("orders")

    for call in (
        lambda: store.tools.get_tool("orders"),
        lambda: store.tools.delete_tool("orders"),
        lambda: store.tools.get_tool("never"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.tools.list_tools() == []
    store.tools.put_tool(_tool("orders"))  # the name is free again
