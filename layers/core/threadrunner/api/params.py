"""Query parameters every list takes: cursor pagination as the Assistants API does it."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from ..domain.pagination import PageRequest

Limit = Annotated[int, Query(ge=1, le=100, description="How many objects, 1 to 100")]
Order = Annotated[Literal["asc", "desc"], Query(description="Sort by creation time")]
Cursor = Annotated[str | None, Query(description="An object id to page from", pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def page(limit: int, order: Literal["asc", "desc"], after: str | None, before: str | None) -> PageRequest:
    return PageRequest(limit=limit, order=order, after=after, before=before)
