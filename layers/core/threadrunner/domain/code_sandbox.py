"""A thread's code sandbox: the session its ``code_interpreter`` calls run in, and what one execution gives back.

The code is the model's, and whoever can write a message or a file steers the model: everything a sandbox
answers (its output, its list of files, their names and bytes) is read as hostile input, bounded by
:class:`SandboxLimits` and checked here before anything else uses it.

A session belongs to one thread of one project (:class:`SessionKey`). It keeps a live Python interpreter, so a
variable one execution sets is there for the next, and its files under :data:`DATA_DIR`; it ends after
``idle_seconds`` without use, or when an execution had to be stopped by ending it. The caller keeps the
:class:`CodeSession` it was given (in the thread's record) and hands it back to reopen the session: a session that
ended is replaced by a new, empty one (``fresh``), into which the caller stages the thread's files again.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

DATA_DIR = "/mnt/data"
"""Where the code finds the files it was given and writes the files it gives back, as on the hosted API."""

PNG = b"\x89PNG\r\n\x1a\n"
MAX_PATH_CHARS = 1024
"""The longest path of a file, relative to the data directory, that threadrunner stages or reads back."""


class SandboxLimits(BaseModel):
    """What one session and one execution may take (config: ``CODE_*`` settings)."""

    model_config = ConfigDict(frozen=True)

    idle_seconds: int = Field(1200, ge=60, le=28800)
    """A session unused this long ends, with its variables and files."""
    execution_seconds: float = Field(60.0, gt=0, le=900)
    """Wall-clock time one execution may take; then it is stopped (and its session ended if it does not stop)."""
    memory_mb: int = Field(1024, ge=64)
    """Address space of each process of the session."""
    max_output_bytes: int = Field(16384, ge=256)
    """The most of an execution's output (and of its error) kept, in UTF-8 bytes; the rest is cut."""
    max_file_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """The largest file the code may write, be given or give back."""
    max_files: int = Field(20, ge=1, le=1000)
    """The most files staged into a session at once, and given back (or images shown) by one execution."""


class SessionKey(BaseModel):
    """Whose session: one per thread of a project."""

    model_config = ConfigDict(frozen=True)

    project: str
    thread_id: str

    @property
    def name(self) -> str:
        """A name for the session that says whose it is without showing the ids (AgentCore's session name)."""
        digest = hashlib.sha256(f"{self.project}\0{self.thread_id}".encode()).hexdigest()
        return f"thread-{digest[:40]}"


class CodeSession(BaseModel):
    """A live session as its caller keeps it between calls."""

    model_config = ConfigDict(frozen=True)

    key: SessionKey
    session_id: str
    """The sandbox's own id of the session."""
    data_dir: str = DATA_DIR
    """The directory the code reads and writes its files in (what the model is told)."""
    started_at: float
    """Unix seconds."""
    last_used_at: float
    """Unix seconds: the session ends ``idle_seconds`` after this."""
    fresh: bool = False
    """The session was just started: it has no variables and no files yet."""

    def idle(self, now: float, limits: SandboxLimits) -> bool:
        return now - self.last_used_at >= limits.idle_seconds


class StagedFile(BaseModel):
    """A file given to the code: its path under the data directory and its bytes."""

    path: str
    data: bytes


class SandboxFile(BaseModel):
    """A file the code wrote or changed under the data directory."""

    model_config = ConfigDict(frozen=True)

    path: str
    """Relative to the data directory (``chart.png``, ``out/table.csv``)."""
    size: int = Field(ge=0)


class Execution(BaseModel):
    """What one execution of code gave back."""

    output: str
    """What the code printed (stdout and stderr as they came) and the value of its last expression, cut to
    ``max_output_bytes``."""
    output_truncated: bool = False
    error: str | None = None
    """Why the execution failed, for the model to read: the traceback of the code's exception, or what stopped
    it (its time, its memory, a limit of the sandbox). ``None`` when it ran to its end."""
    files: list[SandboxFile] = Field(default_factory=list)
    """Files written or changed under the data directory, at most ``max_files``, each at most ``max_file_bytes``
    (larger ones are left out and named in ``error``)."""
    images: list[bytes] = Field(default_factory=list)
    """PNG images of the figures the code left open (matplotlib), as a notebook shows them."""
    seconds: float = 0.0
    """Wall-clock time of the execution (what the project is metered for)."""
    session: CodeSession
    """The session after the execution: ``ended`` below means it is gone, and the next open starts a new one."""
    ended: bool = False
    """The session had to be ended to stop the code: its variables and files are gone."""


def checked_path(path: str) -> str:
    """``path`` as a file's path relative to the data directory, normalised; ``ValueError`` for anything that would
    leave it (absolute, ``..``), name nothing, or be unreadable (control characters, too long)."""
    if not path or len(path) > MAX_PATH_CHARS or any(ord(char) < 32 or char == "\x7f" for char in path):
        raise ValueError("a file's path must be 1 to 1024 printable characters")
    if path.startswith(DATA_DIR + "/"):
        path = path[len(DATA_DIR) + 1 :]
    normal = posixpath.normpath(path)
    if posixpath.isabs(normal) or normal in (".", "..") or normal.startswith("../") or "\\" in normal:
        raise ValueError(f"the path {path!r} is not under {DATA_DIR}")
    return normal


def cut(text: str, max_bytes: int) -> tuple[str, bool]:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes (at a character's boundary), and whether it was cut."""
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= max_bytes:
        return text, False
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), True


def written_files(entries: object, limits: SandboxLimits) -> list[SandboxFile]:
    """The files a sandbox says the code wrote (``[[path, size], ...]``): entries that are not a path under the data
    directory with a size are left out, and those past ``max_files``."""
    files: list[SandboxFile] = []
    for entry in entries if isinstance(entries, list) else []:
        if len(files) == limits.max_files:
            break
        try:
            path, size = entry
            files.append(SandboxFile(path=checked_path(str(path)), size=int(size)))
        except (TypeError, ValueError):
            continue
    return files


def shown_images(images: Iterable[bytes], limits: SandboxLimits) -> list[bytes]:
    """The images a sandbox says the code showed that are PNG: at most ``max_files``, ``max_file_bytes`` in all."""
    kept: list[bytes] = []
    for image in images:
        fits = len(kept) < limits.max_files and sum(map(len, kept)) + len(image) <= limits.max_file_bytes
        if image.startswith(PNG) and fits:
            kept.append(image)
    return kept
