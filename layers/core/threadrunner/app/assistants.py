"""Assistants: created and changed with their tools, model and vector stores checked."""

from __future__ import annotations

from ..domain.assistant import Assistant
from ..domain.common import now
from ..domain.ids import new_id
from ..ports import Stores, ToolCatalogue
from . import projects
from .requests import AssistantCreate, AssistantUpdate, given_fields
from .tools import check_tools


def create_assistant(stores: Stores, catalogue: ToolCatalogue, body: AssistantCreate) -> Assistant:
    assistant = Assistant(id=new_id("asst"), created_at=now(), **given_fields(body))
    projects.check_model(stores, assistant.model)
    check_tools(catalogue, assistant.tools)
    projects.check_vector_stores(stores, assistant.tool_resources)
    stores.assistants.put_assistant(assistant)
    return assistant


def update_assistant(stores: Stores, catalogue: ToolCatalogue, assistant_id: str, body: AssistantUpdate) -> Assistant:
    if body.model is not None:
        projects.check_model(stores, body.model)
    if body.tools is not None:
        check_tools(catalogue, body.tools)
    projects.check_vector_stores(stores, body.tool_resources)
    return stores.assistants.update_assistant(assistant_id, given_fields(body))
