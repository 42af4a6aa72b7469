"""Assistants: one partition per project, listed by creation."""

from __future__ import annotations

from typing import Any

from ...domain.assistant import Assistant
from ...domain.pagination import Page, PageRequest
from ...errors import NotFound
from . import keys
from .codec import fields
from .table import Table


class DynamoDBAssistants(Table):
    """:class:`threadrunner.ports.AssistantStore`."""

    def put_assistant(self, assistant: Assistant) -> None:
        self._client.put_item(**self._put(self.keys.assistant(assistant.id), "assistant", assistant.model_dump()))

    def get_assistant(self, assistant_id: str) -> Assistant:
        item = self._get(self.keys.assistant(assistant_id))
        if item is None:
            raise NotFound("assistant", assistant_id)
        return Assistant.model_validate(fields(item))

    def update_assistant(self, assistant_id: str, changes: dict[str, Any]) -> Assistant:
        item = self._update(self.keys.assistant(assistant_id), "assistant", assistant_id, changes)
        return Assistant.model_validate(fields(item))

    def delete_assistant(self, assistant_id: str) -> None:
        self._delete(self.keys.assistant(assistant_id), "assistant", assistant_id)

    def list_assistants(self, page: PageRequest) -> Page[Assistant]:
        items, has_more = self._page(self.keys.assistants_pk, keys.ASSISTANTS, page)
        return Page(data=[Assistant.model_validate(fields(item)) for item in items], has_more=has_more)
