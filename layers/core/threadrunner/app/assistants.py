"""Assistants: created and changed with their tools, model and vector stores checked."""

from __future__ import annotations

from ..domain.assistant import Assistant
from ..domain.common import now
from ..domain.ids import new_id
from ..ports import IndexJobs, Stores, ToolCatalogue
from . import projects, vector_stores
from .requests.assistants import AssistantCreate, AssistantUpdate
from .requests.common import given_fields
from .tools import check_tools


def create_assistant(stores: Stores, catalogue: ToolCatalogue, jobs: IndexJobs, body: AssistantCreate) -> Assistant:
    assistant = Assistant(id=new_id("asst"), created_at=now(), **given_fields(body))
    projects.check_model(stores, assistant.model)
    check_tools(catalogue, stores, assistant.tools)
    resources = vector_stores.resolved_resources(stores, jobs, body.tool_resources)
    projects.check_resources(stores, resources)
    stores.assistants.put_assistant(assistant.model_copy(update={"tool_resources": resources or {}}))
    return stores.assistants.get_assistant(assistant.id)


def update_assistant(
    stores: Stores, catalogue: ToolCatalogue, jobs: IndexJobs, assistant_id: str, body: AssistantUpdate
) -> Assistant:
    stores.assistants.get_assistant(assistant_id)
    if body.model is not None:
        projects.check_model(stores, body.model)
    if body.tools is not None:
        check_tools(catalogue, stores, body.tools)
    changes = given_fields(body)
    if "tool_resources" in changes:
        changes["tool_resources"] = vector_stores.resolved_resources(stores, jobs, body.tool_resources)
        projects.check_resources(stores, changes["tool_resources"])
    return stores.assistants.update_assistant(assistant_id, changes)
