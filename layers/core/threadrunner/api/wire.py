"""Response envelopes of the API: lists and errors."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from ..domain.pagination import Page

T = TypeVar("T")


class ListObject(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    """One page of objects."""
    first_id: str | None
    """The id of the first object of the page."""
    last_id: str | None
    """The id of the last object of the page; pass it as ``after`` for the next page."""
    has_more: bool
    """Whether objects follow this page."""

    @classmethod
    def of(cls, page: Page[T]) -> ListObject[T]:
        ids = [getattr(item, "id") for item in page.data]  # noqa: B009 - T is any object with an id
        return cls(
            data=page.data, first_id=ids[0] if ids else None, last_id=ids[-1] if ids else None, has_more=page.has_more
        )


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Deleted(BaseModel):
    id: str
    """The deleted object's id."""
    object: str
    """``assistant.deleted``, ``thread.deleted`` or ``thread.message.deleted``."""
    deleted: bool = True
