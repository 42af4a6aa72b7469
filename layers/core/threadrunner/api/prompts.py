"""``/v1/prompts``: versioned prompts that ``prompt`` in ``POST /v1/responses`` names (an extension; OpenAI's were
kept in its dashboard)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app import prompts
from ..app.requests.prompts import PromptCreate
from ..domain.prompts import Prompt
from .dependencies import StoresDep
from .params import Limit, Order, page
from .wire import Deleted

router = APIGatewayHttpRouter()

Version = Annotated[str | None, Query(description="A version of the prompt: 1, 2, ...", pattern=r"^[0-9]{1,5}$")]


class PromptVersionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Prompt]
    first_id: str | None
    """The first version of the page."""
    last_id: str | None
    """The last version of the page; pass it as ``after`` for the next page."""
    has_more: bool


@router.post("/v1/prompts", summary="Create a prompt (extension)")
def create_prompt(stores: StoresDep, body: Annotated[PromptCreate, Body()]) -> Prompt:
    return prompts.create_prompt(stores, body)


@router.get("/v1/prompts/<prompt_id>", summary="Retrieve a prompt's latest version, or one (extension)")
def retrieve_prompt(stores: StoresDep, prompt_id: str, version: Version = None) -> Prompt:
    return stores.prompts.get_prompt(prompt_id, version)


@router.delete("/v1/prompts/<prompt_id>", summary="Delete a prompt with its versions (extension)")
def delete_prompt(stores: StoresDep, prompt_id: str) -> Deleted:
    stores.prompts.delete_prompt(prompt_id)
    return Deleted(id=prompt_id, object="prompt.deleted")


@router.post("/v1/prompts/<prompt_id>/versions", summary="Create a prompt's next version (extension)")
def create_version(stores: StoresDep, prompt_id: str, body: Annotated[PromptCreate, Body()]) -> Prompt:
    return prompts.add_version(stores, prompt_id, body)


@router.get("/v1/prompts/<prompt_id>/versions", summary="List a prompt's versions (extension)")
def list_versions(
    stores: StoresDep,
    prompt_id: str,
    limit: Limit = 20,
    order: Order = "desc",
    after: Version = None,
    before: Version = None,
) -> PromptVersionList:
    listed = stores.prompts.list_versions(prompt_id, page(limit, order, after, before))
    versions = [prompt.version for prompt in listed.data]
    return PromptVersionList(
        data=listed.data,
        first_id=versions[0] if versions else None,
        last_id=versions[-1] if versions else None,
        has_more=listed.has_more,
    )
