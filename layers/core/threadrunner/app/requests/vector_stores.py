"""Request bodies of ``/v1/vector_stores``: stores, their files and file batches, and search.

As every request body (``common.py``): unknown fields are refused, and a nullable field takes ``null`` as "not
given".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, model_validator

from ...domain.common import Metadata
from ...domain.vector_stores import MAX_FILES_PER_BATCH, bounded_queries
from .common import Attributes, ChunkingStrategyParam, FileIds, Request


class ExpiresAfterParam(Request):
    anchor: Literal["last_active_at"]
    days: Annotated[int, Field(ge=1, le=365)]


class VectorStoreCreate(Request):
    name: Annotated[str, Field(max_length=256)] | None = None
    description: Annotated[str, Field(max_length=512)] | None = Field(None, exclude=True)
    file_ids: FileIds | None = None
    chunking_strategy: ChunkingStrategyParam | None = None
    expires_after: ExpiresAfterParam | None = None
    metadata: Metadata | None = None


class VectorStoreUpdate(Request):
    name: Annotated[str, Field(max_length=256)] | None = None
    expires_after: ExpiresAfterParam | None = None
    metadata: Metadata | None = None


class VectorStoreFileCreate(Request):
    file_id: Annotated[str, Field(max_length=64)]
    chunking_strategy: ChunkingStrategyParam | None = None
    attributes: Attributes | None = None


class VectorStoreFileUpdate(Request):
    attributes: Attributes | None
    """The file's attributes, all of them (``null``: none)."""


class FileBatchCreate(Request):
    file_ids: Annotated[FileIds, Field(min_length=1)] | None = None
    """The files, each with the batch's ``chunking_strategy`` and ``attributes``."""
    files: Annotated[list[VectorStoreFileCreate], Field(min_length=1, max_length=MAX_FILES_PER_BATCH)] | None = None
    """The files, each with its own ``chunking_strategy`` and ``attributes`` (the batch's are not used)."""
    chunking_strategy: ChunkingStrategyParam | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _one_list_of_files(self) -> FileBatchCreate:
        if (self.file_ids is None) == (self.files is None):
            raise ValueError("give the batch's files as file_ids or as files, one of the two")
        return self

    def entries(self) -> list[VectorStoreFileCreate]:
        """Each file of the batch with what it is added with; a file named twice, once (as first named)."""
        if self.files is not None:
            first: dict[str, VectorStoreFileCreate] = {}
            for entry in self.files:
                first.setdefault(entry.file_id, entry)
            return list(first.values())
        return [
            VectorStoreFileCreate(file_id=file_id, chunking_strategy=self.chunking_strategy, attributes=self.attributes)
            for file_id in dict.fromkeys(self.file_ids or [])
        ]


class SearchRankingOptions(Request):
    ranker: Literal["auto", "default-2024-11-15", "default_2024_08_21", "none"] | None = None
    score_threshold: Annotated[float, Field(ge=0, le=1)] | None = None


class VectorStoreSearch(Request):
    query: Annotated[str | list[str], AfterValidator(bounded_queries)]
    max_num_results: Annotated[int, Field(ge=1, le=50)] | None = None
    ranking_options: SearchRankingOptions | None = None
    rewrite_query: StrictBool | None = None
    filters: dict[str, Any] | None = None
    """Attribute filters: accepted for the SDK's sake, and refused when given (docs/compatibility.md)."""
