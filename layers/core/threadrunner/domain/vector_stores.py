"""Vector stores, the files in them and batches of files: the objects, and how a file's text becomes chunks."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, Literal, NamedTuple

from pydantic import Field

from ..errors import InvalidRequest
from .budget import estimate_tokens
from .common import Metadata, WireModel
from .documents import Unreadable

VectorStoreFileStatus = Literal["in_progress", "completed", "cancelled", "failed"]

DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400
CHARS_PER_TOKEN = 4
"""Characters of ASCII a token, as :func:`~.budget.estimate_tokens` counts them: the most a chunk's token holds."""
MAX_CHUNKS_PER_FILE = 2_000
"""The most chunks one file is cut into (each embedded, and stored in the index)."""
MAX_FILES_PER_BATCH = 500
MAX_RESULTS = 50
"""The most results one search gives, as the hosted ``max_num_results`` allowed."""
DEFAULT_RESULTS = 20
MAX_QUERY_CHARS = 4096
"""The most characters of one search query (each of a list of queries)."""
MAX_QUERIES = 8
"""The most queries one search takes."""
MAX_EMBEDDING_INPUT_TOKENS = 8192
"""The most tokens one input of an embeddings endpoint takes (OpenAI's models): a search's queries are embedded
together, as one input."""


class FileCounts(WireModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class ExpiresAfter(WireModel):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int = Field(ge=1, le=365)


class StaticChunking(WireModel):
    max_chunk_size_tokens: int = Field(DEFAULT_CHUNK_TOKENS, ge=100, le=4096)
    chunk_overlap_tokens: int = Field(DEFAULT_OVERLAP_TOKENS, ge=0)


class ChunkingStrategy(WireModel):
    """How a file was cut into chunks; ``auto`` requests are stored as the static defaults, as the hosted API did."""

    type: Literal["static"] = "static"
    static: StaticChunking = Field(default_factory=StaticChunking)


class VectorStore(WireModel):
    id: str
    """The identifier, ``vs_...``."""
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str = ""
    usage_bytes: int = 0
    """The bytes of text the store's chunks hold."""
    file_counts: FileCounts = Field(default_factory=FileCounts)
    status: Literal["expired", "in_progress", "completed"] = "completed"
    """``in_progress`` while any file is being indexed; ``expired`` once ``expires_after`` passed."""
    expires_after: ExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: Metadata = Field(default_factory=dict)


class FileError(WireModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFile(WireModel):
    id: str
    """The file's id."""
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int = 0
    created_at: int
    vector_store_id: str
    status: VectorStoreFileStatus = "in_progress"
    last_error: FileError | None = None
    chunking_strategy: ChunkingStrategy = Field(default_factory=ChunkingStrategy)
    attributes: dict[str, str | float | bool] = Field(default_factory=dict)


class VectorStoreFileBatch(WireModel):
    id: str
    """The identifier, ``vsfb_...``."""
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: VectorStoreFileStatus = "in_progress"
    file_counts: FileCounts = Field(default_factory=FileCounts)


def store_status(store: VectorStore, at: int) -> VectorStore:
    """The store as it reads at ``at``: ``expired`` past its time, ``in_progress`` while files are indexed."""
    if store.expires_at is not None and at >= store.expires_at:
        return store.model_copy(update={"status": "expired"})
    status = "in_progress" if store.file_counts.in_progress else "completed"
    return store.model_copy(update={"status": status})


def batch_status(counts: FileCounts, cancelled: bool) -> VectorStoreFileStatus:
    if counts.in_progress:
        return "cancelled" if cancelled else "in_progress"
    if cancelled:
        return "cancelled"
    return "failed" if counts.failed and not counts.completed else "completed"


def bounded_queries(query: str | list[str]) -> str | list[str]:
    """A query, or a list of them: each of 1 to :data:`MAX_QUERY_CHARS` characters, at most :data:`MAX_QUERIES`, and
    all of them one input the embeddings take."""
    queries = [query] if isinstance(query, str) else query
    if not 1 <= len(queries) <= MAX_QUERIES:
        raise ValueError(f"give 1 to {MAX_QUERIES} queries, not {len(queries)}")
    if not all(1 <= len(each) <= MAX_QUERY_CHARS for each in queries):
        raise ValueError(f"each query holds 1 to at most {MAX_QUERY_CHARS} characters")
    tokens = estimate_tokens(" ".join(queries))
    if tokens > MAX_EMBEDDING_INPUT_TOKENS:
        raise ValueError(
            f"the queries hold about {tokens} tokens together; at most {MAX_EMBEDDING_INPUT_TOKENS} are embedded"
        )
    return query


def chunks(text: str, strategy: ChunkingStrategy) -> list[str]:
    """``text`` cut into chunks of at most ``max_chunk_size_tokens``, each starting ``chunk_overlap_tokens`` before
    the previous one ended, at word boundaries where there are any; tokens as :func:`estimate_tokens` counts them,
    so a chunk holds at most four bytes a token (16 KiB at 4096 tokens) whatever its script. A text of more than
    :data:`MAX_CHUNKS_PER_FILE` chunks is :class:`~.documents.Unreadable`."""
    size, overlap = strategy.static.max_chunk_size_tokens, strategy.static.chunk_overlap_tokens
    text = text.strip()
    cut: list[str] = []
    start = 0
    while start < len(text):
        end = _furthest_end(text, start, size)
        if end < len(text):
            space = text.rfind(" ", start + (end - start) // 2, end)  # never a chunk of less than half its size
            end = space if space > start else end
        piece = text[start:end].strip()
        if piece:
            if len(cut) == MAX_CHUNKS_PER_FILE:
                raise Unreadable(
                    "invalid_file",
                    f"The file makes more than {MAX_CHUNKS_PER_FILE:,} chunks with this chunking strategy; use "
                    "larger chunks or split the file.",
                )
            cut.append(piece)
        if end >= len(text):
            break
        following = max(_earliest_start(text, end, overlap), start + 1)
        space = text.find(" ", following, end)
        start = space + 1 if 0 <= space < end else following
    return cut


def _furthest_end(text: str, start: int, tokens: int) -> int:
    """The furthest ``end`` whose ``text[start:end]`` counts at most ``tokens`` (and at least one character)."""
    low, high = start + 1, min(len(text), start + tokens * CHARS_PER_TOKEN)
    if text[start:high].isascii():
        return high
    while low < high:  # the count grows with the end: the last end that fits, by halves
        middle = (low + high + 1) // 2
        low, high = (middle, high) if estimate_tokens(text[start:middle]) <= tokens else (low, middle - 1)
    return low


def _earliest_start(text: str, end: int, tokens: int) -> int:
    """The earliest ``start`` whose ``text[start:end]`` counts at most ``tokens``."""
    low, high = max(0, end - tokens * CHARS_PER_TOKEN), end
    if text[low:end].isascii():
        return low
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if estimate_tokens(text[middle:end]) <= tokens else (middle + 1, high)
    return low


KEYWORD_DIMENSIONS = 1024
"""The size of the hashed keyword vectors every chunk gets, whatever the embeddings."""

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "about",
        "into",
        "than",
        "then",
        "there",
        "these",
        "those",
        "they",
        "them",
        "their",
        "our",
        "we",
        "us",
        "me",
        "my",
    ]
)


def keyword_vector(text: str) -> list[float]:
    """The text's words (lower case, common words left out), hashed into :data:`KEYWORD_DIMENSIONS` counts with
    sublinear weights and normalised: the cosine of two such vectors ranks texts by the words they share."""
    counts: dict[int, float] = {}
    for word in _WORD.findall(text.lower()):
        if word in _STOP or len(word) < 2:
            continue
        slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % KEYWORD_DIMENSIONS
        counts[slot] = counts.get(slot, 0.0) + 1.0
    vector = [0.0] * KEYWORD_DIMENSIONS
    for slot, count in counts.items():
        vector[slot] = 1.0 + math.log(count)
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector] if norm else vector


def store_key(project: str, vector_store_id: str) -> str:
    """The store's name in the vector index: the project's and the store's ids, hashed (no tenant can name
    another's store), and short."""
    return hashlib.sha256(f"{project}/{vector_store_id}".encode()).hexdigest()[:32]


def chunk_key(store: str, file_id: str, number: int) -> str:
    """A chunk's key in the vector index."""
    return f"{store}:{file_id}:{number}"


def chunking_of(request: Any) -> ChunkingStrategy:
    """The strategy a request asks for (``auto`` or nothing: the defaults); overlap at most half the size."""
    if isinstance(request, dict) and request.get("type") == "static":
        static = StaticChunking.model_validate(request.get("static") or {})
        if static.chunk_overlap_tokens > static.max_chunk_size_tokens // 2:
            raise InvalidRequest(
                "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens.",
                param="chunking_strategy.static.chunk_overlap_tokens",
            )
        return ChunkingStrategy(static=static)
    return ChunkingStrategy()


class Chunk(WireModel):
    """A piece of a file's text in the vector index."""

    key: str
    store: str
    """The store's name in the index (:func:`store_key`)."""
    file_id: str
    number: int
    text: str


class Embedded(NamedTuple):
    """Texts' embeddings, in their order, and the tokens the provider counted for them."""

    vectors: list[list[float]]
    tokens: int


class Hit(WireModel):
    """A chunk a search found, and how near it was (cosine distance: 0 the nearest)."""

    key: str
    distance: float
    store: str
    file_id: str
    text: str


class SearchResult(WireModel):
    """A chunk ranked for a query: what ``file_search`` returns and what ``vector_stores.search`` answers."""

    file_id: str
    filename: str = ""
    score: float
    attributes: dict[str, str | float | bool] = Field(default_factory=dict)
    """The file's attributes in the store it was found in."""
    text: str


class IndexJob(WireModel):
    """One piece of the IndexFunction's work, as the queue carries it."""

    kind: Literal["index", "forget_file", "forget_store"]
    project: str
    vector_store_id: str | None = None
    file_id: str | None = None
