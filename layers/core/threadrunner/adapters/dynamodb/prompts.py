"""Prompts: one partition per prompt, a version per item, numbered in the order they were made."""

from __future__ import annotations

from typing import Any

from ...domain.pagination import Page, PageRequest
from ...domain.prompts import MAX_VERSIONS, Prompt
from ...errors import Conflict, InvalidRequest, NotFound
from . import keys
from .codec import fields
from .table import Table


def _number(version: str | None) -> int | None:
    """A version's number, if it is one a prompt can have."""
    if version is None or not version.isdigit() or len(version) > 5:
        return None
    number = int(version)
    return number if 1 <= number <= MAX_VERSIONS else None


class DynamoDBPrompts(Table):
    """:class:`threadrunner.ports.PromptStore`."""

    def create_prompt(self, prompt: Prompt) -> None:
        put = self._put(self.keys.prompt(prompt.id, 1), "prompt", prompt.model_dump(), "attribute_not_exists(PK)")
        self._client.put_item(**put)

    def _latest(self, prompt_id: str) -> dict[str, Any]:
        pk = self.keys.prompt_pk(prompt_id)
        latest = next(iter(self._query(pk, keys.VERSIONS, keys.VERSIONS + keys.HIGHEST, forward=False, limit=1)), None)
        if latest is None:
            raise NotFound("prompt", prompt_id)
        return latest

    def add_version(self, prompt: Prompt) -> Prompt:
        for _ in range(5):
            number = int(self._latest(prompt.id)["version"]) + 1
            if number > MAX_VERSIONS:
                raise Conflict(f"The prompt '{prompt.id}' has {MAX_VERSIONS} versions, the most one may have.")
            made = prompt.model_copy(update={"version": str(number)})
            try:
                # Versions are numbered in order: two made at once cannot take one number.
                self._client.put_item(
                    **self._put(
                        self.keys.prompt(prompt.id, number), "prompt", made.model_dump(), "attribute_not_exists(PK)"
                    )
                )
                return made
            except self._client.exceptions.ConditionalCheckFailedException:
                continue  # another version took the number: the next one
        raise Conflict(f"Versions of the prompt '{prompt.id}' are being made at once; retry.")

    def get_prompt(self, prompt_id: str, version: str | None = None) -> Prompt:
        if version is None:
            return Prompt.model_validate(fields(self._latest(prompt_id)))
        number = _number(version)
        item = self._get(self.keys.prompt(prompt_id, number)) if number is not None else None
        if item is None:
            raise NotFound("prompt", f"{prompt_id}' version '{version[:16]}")
        return Prompt.model_validate(fields(item))

    def list_versions(self, prompt_id: str, page: PageRequest) -> Page[Prompt]:
        self._latest(prompt_id)
        cursors = {}
        for name in ("after", "before"):
            given = getattr(page, name)
            if given is not None:
                number = _number(given)
                if number is None:
                    raise InvalidRequest(f"'{name}' must be a version of the prompt: 1, 2, ...", param=name)
                cursors[name] = f"{number:05d}"
        items, has_more = self._page(self.keys.prompt_pk(prompt_id), keys.VERSIONS, page.model_copy(update=cursors))
        return Page(data=[Prompt.model_validate(fields(item)) for item in items], has_more=has_more)

    def delete_prompt(self, prompt_id: str) -> None:
        pk = self.keys.prompt_pk(prompt_id)
        targets = [keys.key(pk, item["SK"]) for item in self._query(pk)]
        if not targets:
            raise NotFound("prompt", prompt_id)
        self._delete_keys(targets)
