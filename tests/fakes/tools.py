"""The project's registered server tools."""

from __future__ import annotations

from threadrunner.domain.lambda_tools import LambdaTool
from threadrunner.errors import Conflict, NotFound

from .world import World


class FakeTools:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_tool(self, tool: LambdaTool) -> None:
        if tool.name in self.world.tools:
            raise Conflict(f"A server tool named '{tool.name}' is registered already.", param="name")
        self.world.tools[tool.name] = tool

    def get_tool(self, name: str) -> LambdaTool:
        if name not in self.world.tools:
            raise NotFound("server tool", name)
        return self.world.tools[name]

    def list_tools(self) -> list[LambdaTool]:
        return [self.world.tools[name] for name in sorted(self.world.tools)]

    def delete_tool(self, name: str) -> None:
        self.get_tool(name)
        del self.world.tools[name]
