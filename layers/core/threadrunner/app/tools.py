"""Tools a caller declares on an assistant or a run, checked against the server's catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from ..domain import server_tools
from ..domain.common import AssistantTool
from ..ports import ToolCatalogue


def check_tools(catalogue: ToolCatalogue, tools: Sequence[AssistantTool]) -> None:
    """Refuse unknown server tools and clashing function names; the catalogue is asked only when server tools
    are declared."""
    server_tools.check_tools(tools, catalogue.server_tools() if server_tools.server_tool_names(tools) else {})
