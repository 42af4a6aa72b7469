"""A project's registered server tools: one partition, one item a tool."""

from __future__ import annotations

from ...domain.lambda_tools import LambdaTool
from ...errors import Conflict, NotFound
from .codec import fields
from .table import Table


class DynamoDBTools(Table):
    """:class:`threadrunner.ports.ToolStore`."""

    def put_tool(self, tool: LambdaTool) -> None:
        put = self._put(self.keys.tool(tool.name), "server_tool", tool.model_dump(), "attribute_not_exists(PK)")
        try:
            self._client.put_item(**put)
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(f"A server tool named '{tool.name}' is registered already.", param="name") from exc

    def get_tool(self, name: str) -> LambdaTool:
        item = self._get(self.keys.tool(name))
        if item is None:
            raise NotFound("server tool", name)
        return LambdaTool.model_validate(fields(item))

    def list_tools(self) -> list[LambdaTool]:
        return [LambdaTool.model_validate(fields(item)) for item in self._query(self.keys.tools_pk)]

    def delete_tool(self, name: str) -> None:
        self._delete(self.keys.tool(name), "server tool", name)
