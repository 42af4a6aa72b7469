"""The local stack's data on disk: a snapshot and a journal of the writes since, in a data folder.

moto keeps everything in memory. Each request that writes to a table, a bucket or a vector index is
appended to the journal after moto applied it and before its answer goes back (fsynced in groups: the
writers that arrive during one fsync share the next), so a kill loses no acknowledged write. Writes are
applied and journaled one at a time, so the journal's order is the order they took effect.

At start the snapshot is loaded and the journal replayed, then both are folded into a new snapshot and an
empty journal; the same happens when the journal grows long, and at a clean stop. Queues, executions,
functions, secrets and rules are not kept: the stack makes them again from ``template.yaml``, and the runs
that were in flight are taken up again from the table (:mod:`threadrunner_local.recovery`).

The snapshot holds moto's own objects (pickled): the items of each table, the objects of each bucket, the
vector buckets. A new moto may not read an old snapshot; ``--ephemeral`` (or a new data folder) starts
afresh.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .template import ACCOUNT, REGION

JOURNAL = "journal.jsonl"
SNAPSHOT = "snapshot.pickle"
CHECKPOINT_ENTRIES = 20_000
"""Journal entries after which the snapshot is taken again (a longer journal takes longer to replay)."""

_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_KEPT_HEADERS = ("CONTENT_TYPE", "HTTP_")


def service_of(environ: dict[str, Any]) -> str | None:
    """The AWS service a request is for, from its signature's credential scope."""
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


def is_kept_write(environ: dict[str, Any]) -> bool:
    """Whether a request writes data the folder keeps: table items, bucket objects, vectors."""
    service, method = service_of(environ), environ.get("REQUEST_METHOD", "GET")
    if service == "dynamodb":
        return environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1] in _DYNAMODB_WRITES
    if service == "s3":
        return method in ("PUT", "POST", "DELETE")
    if service == "s3vectors":
        operation = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
        return method == "POST" and not operation.startswith(("Get", "List", "Query"))
    return False


class Journal:
    """An append-only file of requests, one JSON line each; appends are ordered, fsyncs shared."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("ab")
        self._written = 0
        self._synced = 0
        self._sync_lock = threading.Lock()

    @property
    def length(self) -> int:
        """Entries appended since it was opened."""
        return self._written

    def append(self, entry: dict[str, Any]) -> int:
        """Write one entry (the caller holds the write lock); its number, for :meth:`sync`."""
        self._file.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        self._written += 1
        return self._written

    def sync(self, number: int) -> None:
        """Return once entry ``number`` is on disk: one fsync covers every entry written before it."""
        with self._sync_lock:
            if self._synced >= number or self._file.closed:  # closed by a checkpoint: the snapshot holds it
                return
            target = self._written
            os.fsync(self._file.fileno())
            self._synced = target

    def close(self) -> None:
        with self._sync_lock:
            self._file.close()

    @staticmethod
    def read(path: Path) -> Iterator[dict[str, Any]]:
        """The entries of a journal; a last line cut by a kill (never acknowledged) is left out."""
        if not path.exists():
            return
        with path.open("rb") as lines:
            for line in lines:
                try:
                    yield json.loads(line)
                except ValueError:
                    return


def _entry(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    headers = {key: value for key, value in environ.items() if key.startswith(_KEPT_HEADERS) and isinstance(value, str)}
    return {
        "method": environ["REQUEST_METHOD"],
        "path": environ.get("PATH_INFO", "/"),
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
        "body": base64.b64encode(body).decode(),
    }


def _body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    return bytes(stream.read(int(length))) if length else bytes(stream.read())


class DataFolder:
    """The data folder of one stack: wraps moto's WSGI app so kept writes are journaled, and restores them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._journal: Journal | None = None

    def restore(self, app: Callable[..., Any]) -> int:
        """Load the snapshot into moto's backends and replay the journal through ``app``; the entries replayed.
        Then fold both into a new snapshot, and start journaling."""
        snapshot = self.path / SNAPSHOT
        if snapshot.exists():
            _load(pickle.loads(snapshot.read_bytes()))
        replayed = 0
        for entry in Journal.read(self.path / JOURNAL):
            _replay(app, entry)
            replayed += 1
        self.checkpoint()
        return replayed

    def checkpoint(self) -> None:
        """Write the snapshot of what moto holds now and empty the journal, writes held meanwhile."""
        with self._lock:
            temporary = self.path / (SNAPSHOT + ".new")
            with temporary.open("wb") as out:
                pickle.dump(_state(), out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path / SNAPSHOT)  # the snapshot holds the journal's writes: it may go
            if self._journal is not None:
                self._journal.close()
            (self.path / JOURNAL).write_bytes(b"")
            self._journal = Journal(self.path / JOURNAL)

    def close(self) -> None:
        self.checkpoint()
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """``app`` with its kept writes journaled before they are answered."""

        def journaled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if self._journal is None or not is_kept_write(environ):
                return app(environ, start_response)
            body = _body(environ)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            answered: list[Any] = []

            def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
                answered[:] = [status, headers]
                return lambda data: None

            with self._lock:  # applied and journaled in one order
                answer = b"".join(app(environ, keep))
                number = 0
                if self._journal is not None and answered[0].startswith("2"):
                    number = self._journal.append(_entry(environ, body))
                journal = self._journal
            if number and journal is not None:
                journal.sync(number)
                if journal.length >= CHECKPOINT_ENTRIES:
                    self.checkpoint()
            start_response(*answered)
            return [answer]

        return journaled


def _replay(app: Callable[..., Any], entry: dict[str, Any]) -> None:
    from werkzeug.test import Client

    Client(app).open(
        entry["path"],
        method=entry["method"],
        query_string=entry["query"],
        headers={_header_name(key): value for key, value in entry["headers"].items()},
        data=base64.b64decode(entry["body"]),
    )


def _header_name(key: str) -> str:
    return key.removeprefix("HTTP_").replace("_", "-").title()


def _backends() -> tuple[Any, Any, Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.s3vectors.models import s3vectors_backends

    return dynamodb_backends[ACCOUNT][REGION], s3_backends[ACCOUNT]["global"], s3vectors_backends[ACCOUNT]["aws"]


def _state() -> dict[str, Any]:
    """What the data folder keeps of moto: the items of each table, the objects of each bucket, vector buckets."""
    dynamodb, s3, vectors = _backends()
    return {
        "tables": {name: table.items for name, table in dynamodb.tables.items()},
        "buckets": {name: bucket.keys for name, bucket in s3.buckets.items()},
        "vector_buckets": vectors.vector_buckets,
    }


def _load(state: dict[str, Any]) -> None:
    """Put a snapshot's data into the resources the stack made from the template (others are gone)."""
    dynamodb, s3, vectors = _backends()
    for name, items in state["tables"].items():
        if name in dynamodb.tables:
            dynamodb.tables[name].items = items
    for name, keys in state["buckets"].items():
        if name in s3.buckets:
            s3.buckets[name].keys = keys
    vectors.vector_buckets.update(state["vector_buckets"])
