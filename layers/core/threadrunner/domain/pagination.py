"""Cursor pagination as the Assistants API lists do it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
Order = Literal["asc", "desc"]


class PageRequest(BaseModel):
    """Which page of a list the caller asks for."""

    limit: int = Field(20, ge=1, le=100)
    """How many objects, 1 to 100."""
    order: Order = "desc"
    """``asc`` or ``desc`` by creation time."""
    after: str | None = None
    """Start after this id, in list order."""
    before: str | None = None
    """End before this id, in list order."""


class Page(BaseModel, Generic[T]):
    """One page of objects in list order, and whether more follow."""

    data: list[T]
    has_more: bool


def paginate(items: Sequence[T], request: PageRequest, key: str = "id") -> Page[T]:
    """Cut one page out of ``items``, which are sorted ascending by id (ids sort by creation).

    For lists short enough to read whole (the steps of one run); longer lists page in the store.
    """
    ordered = list(items) if request.order == "asc" else list(reversed(items))
    ids = [getattr(item, key) for item in ordered]
    start, stop = 0, len(ordered)
    if request.after is not None:
        start = _position_after(ids, request.after, request.order)
    if request.before is not None:
        stop = _position_after(ids, request.before, request.order, inclusive=True)
    window = ordered[start:stop]
    if request.before is not None and request.after is None:
        # Only `before`: the page ends right at the cursor.
        return Page(data=window[-request.limit :], has_more=len(window) > request.limit)
    return Page(data=window[: request.limit], has_more=len(window) > request.limit)


def _position_after(ids: list[str], cursor: str, order: Order, inclusive: bool = False) -> int:
    """Index of the first id that comes after ``cursor`` in list order (or at it, if ``inclusive``)."""
    for index, item_id in enumerate(ids):
        beyond = item_id > cursor if order == "asc" else item_id < cursor
        if beyond or (inclusive and item_id == cursor):
            return index
    return len(ids)
