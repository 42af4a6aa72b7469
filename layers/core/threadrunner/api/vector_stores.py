"""``/v1/vector_stores``, their files and file batches, and their search."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from ..app import vector_stores
from ..app.requests.vector_stores import (
    FileBatchCreate,
    VectorStoreCreate,
    VectorStoreFileCreate,
    VectorStoreFileUpdate,
    VectorStoreSearch,
    VectorStoreUpdate,
)
from ..domain.vector_stores import DEFAULT_RESULTS, VectorStore, VectorStoreFile, VectorStoreFileBatch
from ..errors import InvalidRequest
from .dependencies import EmbeddingsDep, IndexDep, IndexKindsDep, JobsDep, StoresDep
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()

Status = Annotated[Literal["in_progress", "completed", "failed", "cancelled"] | None, Query()]


class SearchContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class SearchHit(BaseModel):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, str | float | bool]
    content: list[SearchContent]


class SearchPage(BaseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchHit]
    has_more: bool = False
    next_page: str | None = None


@router.post("/v1/vector_stores", summary="Create a vector store")
def create_store(body: Annotated[VectorStoreCreate, Body()], stores: StoresDep, jobs: JobsDep) -> VectorStore:
    return vector_stores.create_store_from(stores, jobs, body)


@router.get("/v1/vector_stores", summary="List vector stores")
def list_stores(
    stores: StoresDep, limit: Limit = 20, order: Order = "desc", after: Cursor = None, before: Cursor = None
) -> ListObject[VectorStore]:
    return ListObject.of(vector_stores.list_stores(stores, page(limit, order, after, before)))


@router.get("/v1/vector_stores/<vector_store_id>", summary="Retrieve a vector store")
def retrieve_store(vector_store_id: str, stores: StoresDep) -> VectorStore:
    return vector_stores.get_store(stores, vector_store_id)


@router.post("/v1/vector_stores/<vector_store_id>", summary="Modify a vector store")
def modify_store(vector_store_id: str, body: Annotated[VectorStoreUpdate, Body()], stores: StoresDep) -> VectorStore:
    return vector_stores.update_store(stores, vector_store_id, body)


@router.delete("/v1/vector_stores/<vector_store_id>", summary="Delete a vector store")
def delete_store(vector_store_id: str, stores: StoresDep, jobs: JobsDep) -> Deleted:
    vector_stores.delete_store(stores, jobs, vector_store_id)
    return Deleted(id=vector_store_id, object="vector_store.deleted")


@router.post("/v1/vector_stores/<vector_store_id>/search", summary="Search a vector store")
def search_store(
    vector_store_id: str,
    body: Annotated[VectorStoreSearch, Body()],
    stores: StoresDep,
    index: IndexDep,
    embeddings: EmbeddingsDep,
) -> SearchPage:
    if body.filters:
        raise InvalidRequest("Attribute filters are not supported yet.", param="filters", code="unsupported_parameter")
    queries = [body.query] if isinstance(body.query, str) else body.query
    threshold = body.ranking_options.score_threshold if body.ranking_options else None
    results = vector_stores.search(
        stores,
        index,
        embeddings,
        [vector_store_id],
        " ".join(queries),
        body.max_num_results or DEFAULT_RESULTS,
        threshold or 0.0,
    )
    hits = [
        SearchHit(
            file_id=r.file_id,
            filename=r.filename,
            score=r.score,
            attributes=r.attributes,
            content=[SearchContent(text=r.text)],
        )
        for r in results
    ]
    return SearchPage(search_query=queries, data=hits)


@router.post("/v1/vector_stores/<vector_store_id>/files", summary="Add a file to a vector store")
def add_file(
    vector_store_id: str, body: Annotated[VectorStoreFileCreate, Body()], stores: StoresDep, jobs: JobsDep
) -> VectorStoreFile:
    return vector_stores.add_file(stores, jobs, vector_store_id, body)


@router.get("/v1/vector_stores/<vector_store_id>/files", summary="List a vector store's files")
def list_files(
    vector_store_id: str,
    stores: StoresDep,
    filter: Status = None,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[VectorStoreFile]:
    return ListObject.of(stores.vector_stores.list_files(vector_store_id, page(limit, order, after, before), filter))


@router.get("/v1/vector_stores/<vector_store_id>/files/<file_id>", summary="Retrieve a vector store's file")
def retrieve_file(vector_store_id: str, file_id: str, stores: StoresDep) -> VectorStoreFile:
    return stores.vector_stores.get_file(vector_store_id, file_id)


@router.post("/v1/vector_stores/<vector_store_id>/files/<file_id>", summary="Update a vector store file's attributes")
def update_file(
    vector_store_id: str, file_id: str, body: Annotated[VectorStoreFileUpdate, Body()], stores: StoresDep
) -> VectorStoreFile:
    return vector_stores.update_file(stores, vector_store_id, file_id, body)


@router.delete("/v1/vector_stores/<vector_store_id>/files/<file_id>", summary="Take a file out of a vector store")
def remove_file(
    vector_store_id: str, file_id: str, stores: StoresDep, index: IndexDep, kinds: IndexKindsDep
) -> Deleted:
    vector_stores.remove_file(stores, index, kinds, vector_store_id, file_id)
    return Deleted(id=file_id, object="vector_store.file.deleted")


@router.post("/v1/vector_stores/<vector_store_id>/file_batches", summary="Add a batch of files to a vector store")
def create_batch(
    vector_store_id: str, body: Annotated[FileBatchCreate, Body()], stores: StoresDep, jobs: JobsDep
) -> VectorStoreFileBatch:
    return vector_stores.create_batch(stores, jobs, vector_store_id, body)


@router.get("/v1/vector_stores/<vector_store_id>/file_batches/<batch_id>", summary="Retrieve a file batch")
def retrieve_batch(vector_store_id: str, batch_id: str, stores: StoresDep) -> VectorStoreFileBatch:
    return stores.vector_stores.get_batch(vector_store_id, batch_id)[0]


@router.post("/v1/vector_stores/<vector_store_id>/file_batches/<batch_id>/cancel", summary="Cancel a file batch")
def cancel_batch(vector_store_id: str, batch_id: str, stores: StoresDep) -> VectorStoreFileBatch:
    return vector_stores.cancel_batch(stores, vector_store_id, batch_id)


@router.get("/v1/vector_stores/<vector_store_id>/file_batches/<batch_id>/files", summary="List a file batch's files")
def list_batch_files(
    vector_store_id: str,
    batch_id: str,
    stores: StoresDep,
    filter: Status = None,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[VectorStoreFile]:
    chosen = page(limit, order, after, before)
    return ListObject.of(vector_stores.batch_files(stores, vector_store_id, batch_id, chosen, filter))
