"""Assistants."""

from __future__ import annotations

from typing import Any

from threadrunner.domain.assistant import Assistant
from threadrunner.domain.pagination import Page, PageRequest, paginate
from threadrunner.errors import NotFound

from .world import World


class FakeAssistants:
    def __init__(self, world: World) -> None:
        self.world = world

    def put_assistant(self, assistant: Assistant) -> None:
        self.world.assistants[assistant.id] = assistant

    def get_assistant(self, assistant_id: str) -> Assistant:
        if assistant_id not in self.world.assistants:
            raise NotFound("assistant", assistant_id)
        return self.world.assistants[assistant_id]

    def update_assistant(self, assistant_id: str, changes: dict[str, Any]) -> Assistant:
        updated = {**self.get_assistant(assistant_id).model_dump(), **changes}
        self.world.assistants[assistant_id] = Assistant.model_validate(updated)
        return self.world.assistants[assistant_id]

    def delete_assistant(self, assistant_id: str) -> None:
        self.get_assistant(assistant_id)
        del self.world.assistants[assistant_id]

    def list_assistants(self, page: PageRequest) -> Page[Assistant]:
        return paginate(sorted(self.world.assistants.values(), key=lambda a: a.id), page)
