"""Prompts (an extension under ``/v1/prompts``): versions made and read, and a response's ``prompt`` applied from
them, or from an assistant (docs/forwarding.md, "Prompts")."""

from __future__ import annotations

from typing import Any

from ..domain.common import now
from ..domain.ids import new_id
from ..domain.prompts import Prompt, applied, assistant_prompt, reference, variables_of
from ..errors import InvalidRequest, NotFound
from ..ports import Stores
from .requests.prompts import PromptCreate


def _version(prompt_id: str, body: PromptCreate) -> Prompt:
    return Prompt(
        id=prompt_id,
        version="1",
        created_at=now(),
        name=body.name,
        instructions=body.instructions,
        model=body.model,
        tools=body.tools or [],
        variables=variables_of(body.instructions),
        metadata=body.metadata or {},
    )


def create_prompt(stores: Stores, body: PromptCreate) -> Prompt:
    prompt = _version(new_id("pmpt"), body)
    stores.prompts.create_prompt(prompt)
    return prompt


def add_version(stores: Stores, prompt_id: str, body: PromptCreate) -> Prompt:
    """The prompt's next version, which responses use from now on unless they name a version."""
    return stores.prompts.add_version(_version(prompt_id, body))


def apply(stores: Stores, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A response's request with its ``prompt`` applied (a prompt of the project's, or an assistant's id), and the
    ``prompt`` its answer shows; the request as it is without one.

    Raises
    ------
    InvalidRequest, NotFound
        With ``param`` naming the field of ``prompt`` that is wrong.
    """
    given = body.get("prompt")
    if given is None:
        return body, None
    if not isinstance(given, dict) or not isinstance(given.get("id"), str):
        raise InvalidRequest("'prompt' must be an object with an 'id': the prompt to use.", param="prompt.id")
    prompt_id, version = given["id"], given.get("version")
    if version is not None and not isinstance(version, str):
        raise InvalidRequest('\'prompt.version\' must be a string: "1", "2", ...', param="prompt.version")
    if prompt_id.startswith("asst_"):
        if version is not None:
            raise InvalidRequest("An assistant used as a prompt has no versions.", param="prompt.version")
        try:
            prompt = assistant_prompt(stores.assistants.get_assistant(prompt_id))
        except NotFound as exc:
            raise NotFound("prompt", prompt_id[:70], param="prompt.id") from exc
    else:
        try:
            prompt = stores.prompts.get_prompt(prompt_id, version)
        except NotFound as exc:
            missing = f"{prompt_id[:70]}' version '{version[:16]}" if version else prompt_id[:70]
            raise NotFound("prompt", missing, param="prompt.version" if version else "prompt.id") from exc
    used = None if prompt_id.startswith("asst_") else prompt.version
    return applied(prompt, given.get("variables"), body), reference(given, used)
