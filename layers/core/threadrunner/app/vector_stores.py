"""Vector stores: created with their files, files added alone or in batches (indexed by the IndexFunction, not in
the request), searched (by ``file_search`` and ``vector_stores.search``), and deleted with everything in them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..domain.common import now
from ..domain.file_search import FileSearchOutput, Source, query_of
from ..domain.files import FileObject
from ..domain.ids import new_id
from ..domain.model_input import file_search_options
from ..domain.pagination import Page, PageRequest, paginate
from ..domain.run_record import RunRecord
from ..domain.vector_stores import (
    DEFAULT_RESULTS,
    ChunkingStrategy,
    ExpiresAfter,
    Hit,
    IndexJob,
    SearchResult,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    chunk_key,
    chunking_of,
    keyword_vector,
    store_key,
    store_status,
)
from ..errors import InvalidRequest, NotFound
from ..ports import Embeddings, IndexJobs, Stores, VectorIndex

if TYPE_CHECKING:
    from .requests.vector_stores import (
        FileBatchCreate,
        VectorStoreCreate,
        VectorStoreFileCreate,
        VectorStoreFileUpdate,
        VectorStoreUpdate,
    )

DAY = 86400

SEMANTIC_WEIGHT = 0.7
"""How much the embeddings' similarity counts in a result's score, where there are embeddings; the keywords'
similarity counts the rest."""


def _expiry(expires_after: Any, active_at: int) -> dict[str, Any]:
    if expires_after is None:
        return {"expires_after": None, "expires_at": None}
    after = ExpiresAfter.model_validate(
        expires_after.model_dump() if hasattr(expires_after, "model_dump") else expires_after
    )
    return {"expires_after": after, "expires_at": active_at + after.days * DAY}


def create_store(
    stores: Stores,
    jobs: IndexJobs,
    name: str | None,
    file_ids: Sequence[str],
    chunking: Any = None,
    metadata: dict[str, str] | None = None,
    expires_after: Any = None,
) -> VectorStore:
    """A store, with its files queued for indexing; every file must be the project's."""
    strategy = chunking_of(_plain(chunking))
    files = _files(stores, file_ids, "file_ids")
    at = now()
    store = VectorStore(
        id=new_id("vs"),
        created_at=at,
        name=name or "",
        last_active_at=at,
        metadata=metadata or {},
        **_expiry(expires_after, at),
    )
    stores.vector_stores.put_store(store)
    for file in files:
        _add(stores, jobs, store.id, file.id, strategy)
    return get_store(stores, store.id)


def create_store_from(stores: Stores, jobs: IndexJobs, body: VectorStoreCreate) -> VectorStore:
    return create_store(
        stores, jobs, body.name, body.file_ids or [], body.chunking_strategy, body.metadata, body.expires_after
    )


def get_store(stores: Stores, vector_store_id: str) -> VectorStore:
    return store_status(stores.vector_stores.get_store(vector_store_id), now())


def list_stores(stores: Stores, page: PageRequest) -> Page[VectorStore]:
    listed = stores.vector_stores.list_stores(page)
    at = now()
    return Page(data=[store_status(store, at) for store in listed.data], has_more=listed.has_more)


def update_store(stores: Stores, vector_store_id: str, body: VectorStoreUpdate) -> VectorStore:
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.metadata is not None:
        changes["metadata"] = body.metadata
    if "expires_after" in body.model_fields_set:
        active = stores.vector_stores.get_store(vector_store_id).last_active_at or now()
        expiry = _expiry(body.expires_after, active)
        changes |= {"expires_after": expiry["expires_after"].model_dump() if expiry["expires_after"] else None}
        changes["expires_at"] = expiry["expires_at"]
    stores.vector_stores.update_store(vector_store_id, changes)
    return get_store(stores, vector_store_id)


def delete_store(stores: Stores, jobs: IndexJobs, vector_store_id: str) -> None:
    """The store goes at once; its files' chunks are forgotten by the IndexFunction."""
    stores.vector_stores.delete_store(vector_store_id)
    jobs.submit(IndexJob(kind="forget_store", project=stores.project, vector_store_id=vector_store_id))


def add_file(stores: Stores, jobs: IndexJobs, vector_store_id: str, body: VectorStoreFileCreate) -> VectorStoreFile:
    stores.vector_stores.get_store(vector_store_id)
    _files(stores, [body.file_id], "file_id")
    return _add(
        stores, jobs, vector_store_id, body.file_id, chunking_of(_plain(body.chunking_strategy)), body.attributes
    )


def _add(
    stores: Stores,
    jobs: IndexJobs,
    vector_store_id: str,
    file_id: str,
    strategy: ChunkingStrategy,
    attributes: dict[str, Any] | None = None,
    batch_id: str | None = None,
) -> VectorStoreFile:
    entry = VectorStoreFile(
        id=file_id,
        created_at=now(),
        vector_store_id=vector_store_id,
        chunking_strategy=strategy,
        attributes=attributes or {},
    )
    if stores.vector_stores.add_file(entry, batch_id):
        jobs.submit(IndexJob(kind="index", project=stores.project, vector_store_id=vector_store_id, file_id=file_id))
        return entry
    return stores.vector_stores.get_file(vector_store_id, file_id)  # in the store already: as it is


def remove_file(stores: Stores, index: VectorIndex, kinds: Sequence[str], vector_store_id: str, file_id: str) -> None:
    """The file leaves the store, its chunks with it (the file itself stays)."""
    chunks = stores.vector_stores.remove_file(vector_store_id, file_id)
    forget_chunks(index, kinds, store_key(stores.project, vector_store_id), file_id, chunks)


def forget_chunks(index: VectorIndex, kinds: Sequence[str], store: str, file_id: str, chunks: int) -> None:
    keys = [chunk_key(store, file_id, number) for number in range(chunks)]
    for kind in kinds:
        index.delete(kind, keys)


def update_file(stores: Stores, vector_store_id: str, file_id: str, body: VectorStoreFileUpdate) -> VectorStoreFile:
    """A file of a store with new attributes (all of them: ``null`` leaves it none)."""
    stores.vector_stores.get_file(vector_store_id, file_id)
    return stores.vector_stores.update_file(vector_store_id, file_id, {"attributes": body.attributes or {}})


def create_batch(stores: Stores, jobs: IndexJobs, vector_store_id: str, body: FileBatchCreate) -> VectorStoreFileBatch:
    """A batch of files, each added with the batch's chunking and attributes (``file_ids``) or its own (``files``)."""
    stores.vector_stores.get_store(vector_store_id)
    entries = body.entries()
    _files(stores, [entry.file_id for entry in entries], "file_ids" if body.files is None else "files")
    strategies = [chunking_of(_plain(entry.chunking_strategy)) for entry in entries]
    batch = VectorStoreFileBatch(id=new_id("vsfb"), created_at=now(), vector_store_id=vector_store_id)
    stores.vector_stores.put_batch(batch, [entry.file_id for entry in entries])
    for entry, strategy in zip(entries, strategies, strict=True):
        _add(stores, jobs, vector_store_id, entry.file_id, strategy, entry.attributes, batch.id)
    return stores.vector_stores.get_batch(vector_store_id, batch.id)[0]


def cancel_batch(stores: Stores, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch:
    """The batch's files still waiting end ``cancelled``; the IndexFunction skips them."""
    _, file_ids = stores.vector_stores.get_batch(vector_store_id, batch_id)
    stores.vector_stores.cancel_batch(vector_store_id, batch_id)
    for file_id in file_ids:
        stores.vector_stores.finish_file(vector_store_id, file_id, "cancelled")
    return stores.vector_stores.get_batch(vector_store_id, batch_id)[0]


def batch_files(
    stores: Stores, vector_store_id: str, batch_id: str, page: PageRequest, status: str | None
) -> Page[VectorStoreFile]:
    _, file_ids = stores.vector_stores.get_batch(vector_store_id, batch_id)
    entries = []
    for file_id in sorted(file_ids):
        try:
            entry = stores.vector_stores.get_file(vector_store_id, file_id)
        except NotFound:
            continue  # removed from the store since
        if status is None or entry.status == status:
            entries.append(entry)
    return paginate(entries, page)


def search(
    stores: Stores,
    index: VectorIndex,
    embeddings: Embeddings | None,
    vector_store_ids: Sequence[str],
    query: str,
    max_results: int = DEFAULT_RESULTS,
    score_threshold: float = 0.0,
) -> list[SearchResult]:
    """The chunks of the stores that best answer ``query``: by their embeddings' similarity where the provider
    embeds, and by the words they share (both weighed, :data:`SEMANTIC_WEIGHT`); none under ``score_threshold``."""
    at = now()
    names: dict[str, str] = {}
    for vector_store_id in vector_store_ids:
        store = store_status(stores.vector_stores.get_store(vector_store_id), at)
        if store.status != "expired":
            names[store_key(stores.project, vector_store_id)] = vector_store_id
            _touch(stores, store, at)
    if not names:
        return []
    wanted = max(max_results * 2, 10)
    scores: dict[str, float] = {}
    found: dict[str, Hit] = {}
    lists = [("keywords", keyword_vector(query), 1.0 - SEMANTIC_WEIGHT if embeddings else 1.0)]
    if embeddings is not None:
        lists.append(("embeddings", embeddings.embed([query]).vectors[0], SEMANTIC_WEIGHT))
    for kind, vector, weight in lists:
        for hit in index.query(kind, vector, list(names), wanted):
            similarity = max(0.0, 1.0 - hit.distance)
            scores[hit.key] = scores.get(hit.key, 0.0) + weight * similarity
            found[hit.key] = hit
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    results: list[SearchResult] = []
    described: dict[tuple[str, str], tuple[str, dict[str, Any]] | None] = {}
    for key, score in ranked:
        if score < score_threshold or score <= 0.0 or len(results) >= max_results:
            break
        hit = found[key]
        where = (names[hit.store], hit.file_id)
        if where not in described:
            described[where] = _described(stores, *where)
        description = described[where]
        if description is None:
            continue  # deleted, or taken out of the store, its chunks not forgotten yet
        filename, attributes = description
        results.append(
            SearchResult(
                file_id=hit.file_id, filename=filename, score=round(score, 6), attributes=attributes, text=hit.text
            )
        )
    return results


def _described(stores: Stores, vector_store_id: str, file_id: str) -> tuple[str, dict[str, Any]] | None:
    """A found file's name and its attributes in the store it was found in; None when it is gone from either."""
    try:
        return stores.files.get_file(file_id).filename, stores.vector_stores.get_file(
            vector_store_id, file_id
        ).attributes
    except NotFound:
        return None


def _touch(stores: Stores, store: VectorStore, at: int) -> None:
    """A store used now: active, and its expiry moved on (at most once an hour)."""
    if store.last_active_at is not None and at - store.last_active_at < 3600:
        return
    changes: dict[str, Any] = {"last_active_at": at}
    if store.expires_after is not None:
        changes["expires_at"] = at + store.expires_after.days * DAY
    stores.vector_stores.update_store(store.id, changes)


def _files(stores: Stores, file_ids: Sequence[str], param: str) -> list[FileObject]:
    files = []
    for index, file_id in enumerate(file_ids):
        try:
            files.append(stores.files.get_file(file_id))
        except NotFound as exc:
            raise InvalidRequest(
                f"No file found with id '{file_id}'.", param=f"{param}[{index}]" if param.endswith("s") else param
            ) from exc
    return files


def _plain(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def file_search_call(
    stores: Stores,
    index: VectorIndex,
    embeddings: Embeddings | None,
    record: RunRecord,
    arguments: str,
    max_output_bytes: int,
) -> FileSearchOutput:
    """A run's ``file_search`` call: its query over the run's vector stores, with the run's tool options; as many
    results as fit ``max_output_bytes`` (the best first)."""
    options = file_search_options(record)
    query = query_of(arguments)
    found = search(
        stores,
        index,
        embeddings,
        record.vector_store_ids,
        query,
        options.max_num_results,
        options.ranking_options.score_threshold,
    )
    sources = [Source(file_id=r.file_id, file_name=r.filename, score=r.score, text=r.text) for r in found]
    output = FileSearchOutput(query=query, ranking_options=options.ranking_options, results=sources)
    while sources and len(output.model_dump_json().encode()) > max_output_bytes:
        sources.pop()
        output = output.model_copy(update={"results": sources})
    return output


THREAD_STORE_DAYS = 7
"""How long a thread's own store (made for its messages' attachments) lives after it was last used."""


def resolved_resources(stores: Stores, jobs: IndexJobs, tool_resources: Any) -> dict[str, Any] | None:
    """``tool_resources`` with the vector stores it describes (``file_search.vector_stores``) made, and named by
    their ids (``file_search.vector_store_ids``)."""
    tool_resources = _plain(tool_resources)
    search = (tool_resources or {}).get("file_search") or {}
    inline = search.get("vector_stores")
    if not inline or tool_resources is None:
        return tool_resources
    if search.get("vector_store_ids"):
        raise InvalidRequest(
            "Name vector stores (vector_store_ids) or describe them (vector_stores), not both.",
            param="tool_resources.file_search",
        )
    made = [
        create_store(
            stores, jobs, None, spec.get("file_ids") or [], spec.get("chunking_strategy"), spec.get("metadata")
        )
        for spec in inline
    ]
    return {**tool_resources, "file_search": {"vector_store_ids": [store.id for store in made]}}


def searched_attachments(attachments: Sequence[Any]) -> list[str]:
    """The files of messages' attachments that are for ``file_search``."""
    return [
        attachment.file_id
        for attachment in attachments
        if attachment.file_id and any(_plain(tool).get("type") == "file_search" for tool in attachment.tools or [])
    ]


def attach(stores: Stores, jobs: IndexJobs, thread_id: str, file_ids: Sequence[str]) -> None:
    """Messages' attachments for ``file_search`` join the thread's vector store, made for them if it has none (it
    expires a week after it was last used), as the hosted API did."""
    if not file_ids:
        return
    thread = stores.threads.get_thread(thread_id)
    resources = dict(thread.tool_resources or {})
    ids = list((resources.get("file_search") or {}).get("vector_store_ids") or [])
    if not ids:
        week = ExpiresAfter(days=THREAD_STORE_DAYS)
        store = create_store(stores, jobs, f"Vector store for {thread_id}", [], expires_after=week)
        ids = [store.id]
        resources["file_search"] = {"vector_store_ids": ids}
        stores.threads.update_thread(thread_id, {"tool_resources": resources})
    for file_id in dict.fromkeys(file_ids):
        _add(stores, jobs, ids[0], file_id, ChunkingStrategy())
