"""The code sandbox's contract in memory (sessions per thread, reopened within their idle time, files under the
data directory); it runs no code."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from threadrunner.domain.code_sandbox import CodeSession, Execution, SandboxLimits, SessionKey, StagedFile, checked_path
from threadrunner.errors import NotFound, SessionEnded, TooLarge


@dataclass
class _FakeSession:
    session: CodeSession
    files: dict[str, bytes] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)


class FakeCodeSandbox:
    """The code sandbox's contract (sessions per thread, reopened within their idle time, files under the data
    directory) in memory. It runs no code: an execution answers what ``run`` makes of the code and the session
    (which it may change), by default the code itself as output."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        run: Callable[[str, _FakeSession], Execution] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.run = run or (lambda code, entry: Execution(output=code, session=entry.session))
        self.clock = clock
        self.sessions: dict[str, _FakeSession] = {}
        self._ids = itertools.count(1)

    def open(self, key: SessionKey, resume: CodeSession | None = None) -> CodeSession:
        now = self.clock()
        entry = self.sessions.get(resume.session_id) if resume is not None else None
        if entry is not None and entry.session.key == key and not entry.session.idle(now, self.limits):
            entry.session = entry.session.model_copy(update={"last_used_at": now, "fresh": False})
            return entry.session
        for session_id in [sid for sid, other in self.sessions.items() if other.session.key == key]:
            del self.sessions[session_id]
        session = CodeSession(key=key, session_id=f"cs{next(self._ids)}", started_at=now, last_used_at=now, fresh=True)
        self.sessions[session.session_id] = _FakeSession(session)
        return session

    def _entry(self, session: CodeSession) -> _FakeSession:
        entry = self.sessions.get(session.session_id)
        if entry is None or entry.session.key != session.key:
            raise SessionEnded("The code session has ended: open it again.")
        entry.session = entry.session.model_copy(update={"last_used_at": self.clock(), "fresh": False})
        return entry

    def write_files(self, session: CodeSession, files: Sequence[StagedFile]) -> None:
        if len(files) > self.limits.max_files:
            raise ValueError(f"at most {self.limits.max_files} files can be given to a session at once")
        checked = [(checked_path(file.path), file.data) for file in files]
        if any(len(data) > self.limits.max_file_bytes for _, data in checked):
            raise TooLarge(f"A file is larger than {self.limits.max_file_bytes} bytes.")
        self._entry(session).files.update(checked)

    def execute(self, session: CodeSession, code: str) -> Execution:
        entry = self._entry(session)
        execution = self.run(code, entry)
        if execution.ended:
            del self.sessions[session.session_id]
        return execution.model_copy(update={"session": entry.session})

    def read_file(self, session: CodeSession, path: str) -> bytes:
        path = checked_path(path)
        files = self._entry(session).files
        if path not in files:
            raise NotFound("file in the code session", path)
        return files[path]

    def close(self, session: CodeSession) -> None:
        entry = self.sessions.get(session.session_id)
        if entry is not None and entry.session.key == session.key:
            del self.sessions[session.session_id]
