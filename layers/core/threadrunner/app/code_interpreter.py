"""``code_interpreter`` calls, as the ToolFunction runs them: the model's code in its thread's session.

A thread's calls run one at a time (a hold on the thread's record, which a call that died lets lapse): the session is
the thread's, reopened while it lives (``domain.code_sandbox``), and a new one is given the thread's files again. The
files are read from S3 here and written into the session; the sandbox never reads anything itself. What the code
wrote and showed comes back as the project's files (purpose ``assistants_output``), and its seconds count against the
project's daily budget of code.
"""

from __future__ import annotations

import itertools
import posixpath
import time
from collections.abc import Callable

from ..domain.budget import over_code_budget, today
from ..domain.code_interpreter import CodeFile, CodeOutput, KeptSession, code_of, definition, staged_paths
from ..domain.code_sandbox import DATA_DIR, CodeSession, Execution, SessionKey, StagedFile
from ..domain.common import CodeInterpreterTool, FunctionDefinition, now
from ..domain.deployment import RunDefaults
from ..domain.files import OUTPUT_PURPOSE, FileObject
from ..domain.run import Run
from ..domain.run_record import RunRecord
from ..domain.tool_call import ToolCall
from ..domain.tools import Outcome, ToolResult
from ..errors import CodeSessionBusy, NotFound, SandboxUnavailable, SessionEnded, TooLarge
from ..observability import logger
from ..ports import CodeSandbox, FileContents, Stores
from . import projects
from .files import stored_file

MESSAGES_READ = 100
"""How many of a thread's newest messages are read for attachments given to the code."""
HOLD_MARGIN_SECONDS = 60
"""How long a hold of a thread's session outlasts an execution's time limit: for staging files and giving them back."""


def code_files(stores: Stores, thread_id: str, assistant_id: str, max_files: int) -> list[tuple[FileObject, str]]:
    """The files a thread's code is given, each with its path under the data directory: the assistant's and the
    thread's ``tool_resources.code_interpreter.file_ids`` and the attachments for ``code_interpreter`` of the thread's
    newest :data:`MESSAGES_READ` messages; only the project's files (one deleted since is left out), at most
    ``max_files``."""
    resources = [stores.threads.get_thread(thread_id).tool_resources]
    try:
        resources.insert(0, stores.assistants.get_assistant(assistant_id).tool_resources)
    except NotFound:
        pass  # the assistant was deleted: its files are no longer the run's
    file_ids = [
        file_id
        for resource in resources
        for file_id in ((resource or {}).get("code_interpreter") or {}).get("file_ids") or []
    ]
    for message in itertools.islice(stores.threads.newest_messages(thread_id), MESSAGES_READ):
        file_ids += [
            attachment.file_id
            for attachment in message.attachments
            if any(tool.get("type") == "code_interpreter" for tool in attachment.tools)
        ]
    files: list[FileObject] = []
    for file_id in dict.fromkeys(file_ids):
        if len(files) == max_files:
            break
        try:
            files.append(stores.files.get_file(file_id))
        except NotFound:
            continue
    paths = dict(staged_paths((file.id, file.filename) for file in files))
    return [(file, paths[file.id]) for file in files]


def offered_code(stores: Stores, run: Run, passthrough: bool, max_files: int) -> list[FunctionDefinition]:
    """The ``code_interpreter`` function offered to the run's model, naming the run's files, when the run has the tool
    and threadrunner runs it; none when the run has no such tool or it is passed through to the provider."""
    if passthrough or not any(isinstance(tool, CodeInterpreterTool) for tool in run.tools):
        return []
    return [definition([path for _, path in code_files(stores, run.thread_id, run.assistant_id, max_files)])]


class CodeCalls:
    """The ``code_interpreter`` calls of one project's runs."""

    def __init__(
        self,
        stores: Stores,
        sandbox: CodeSandbox,
        contents: FileContents,
        defaults: RunDefaults,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stores, self._sandbox, self._contents, self._defaults = stores, sandbox, contents, defaults
        self._sleep, self._clock = sleep, clock

    def run(self, record: RunRecord, call: ToolCall, max_output_bytes: int, budget_seconds: float) -> ToolResult:
        """Run the call's code in its thread's session, within ``budget_seconds`` (waiting for the thread's other
        calls included); its output fits ``max_output_bytes``. Whatever happens is an output the model can read."""
        started = time.monotonic()
        code = code_of(call.arguments)
        if code is None:
            return _refused(
                started, 'code_interpreter needs the code to run, as {"code": "<Python>"}.', "invalid_arguments"
            )
        budget = projects.budget_of(self._stores, self._defaults)
        problem = over_code_budget(budget, self._stores.usage.usage_today(today()))
        if problem:
            return _refused(started, problem, "failed")
        thread_id = record.run.thread_id
        try:
            kept = self._hold(thread_id, call.call_id, budget_seconds)
        except CodeSessionBusy:
            message = "Another code_interpreter call of this thread ran too long to wait for; this code did not run."
            return _refused(started, message, "timed_out")
        except NotFound:
            return _refused(started, "The thread was deleted; no code ran.", "failed")
        after = kept
        try:
            output, after = self._run(record, call.call_id, kept, code)
        except CodeSessionBusy:
            message = "Giving the session its files took longer than this call held it; this code did not run."
            return _refused(started, message, "timed_out")
        except SandboxUnavailable as exc:
            return _refused(started, f"{exc} No code ran; answer without it, or try again later.", "failed")
        except Exception:
            logger.exception("code_interpreter failed", extra={"call_id": call.call_id})
            return _refused(started, "code_interpreter is not available right now; answer without it.", "failed")
        finally:
            self._stores.threads.keep_code_session(thread_id, call.call_id, after)
        fitted = output.fitted(max_output_bytes)
        return ToolResult(fitted.model_dump_json(), fitted.error is not None, _ms(started))

    def _hold(self, thread_id: str, holder: str, budget_seconds: float) -> KeptSession | None:
        """The thread's session, held for this call once the thread's other calls let go of it; raises
        :class:`CodeSessionBusy` when that would leave the call too little of ``budget_seconds`` to run."""
        deadline = self._clock() + budget_seconds - self._hold_seconds
        pause = 0.1
        while True:
            try:
                return self._stores.threads.hold_code_session(thread_id, holder, now() + self._hold_seconds)
            except CodeSessionBusy:
                if self._clock() + pause > deadline:
                    raise
                self._sleep(pause)
                pause = min(pause * 1.5, 1.0)

    @property
    def _hold_seconds(self) -> int:
        """How long a call holds its thread's session: the execution's time limit and a margin."""
        return int(self._sandbox.limits.execution_seconds) + HOLD_MARGIN_SECONDS

    def _run(
        self, record: RunRecord, holder: str, kept: KeptSession | None, code: str
    ) -> tuple[CodeOutput, KeptSession | None]:
        thread_id = record.run.thread_id
        key = SessionKey(project=self._stores.project, thread_id=thread_id)
        notes: list[str] = []
        session = self._sandbox.open(key, kept.session if kept else None)
        if session.fresh and kept is not None:
            notes.append("This is a new session: the variables and files of earlier calls are gone.")
        staged = [] if session.fresh or kept is None else list(kept.staged)
        self._stage(session, record, staged, notes)
        # Held again for the execution: staging large files may have taken much of the hold.
        self._stores.threads.hold_code_session(thread_id, holder, now() + self._hold_seconds)
        try:
            execution = self._sandbox.execute(session, code)
        except SessionEnded:  # it ended between its opening and the code: once more, in a new one
            session, staged = self._sandbox.open(key), []
            notes.append("This is a new session: the variables and files of earlier calls are gone.")
            self._stage(session, record, staged, notes)
            execution = self._sandbox.execute(session, code)
        self._stores.usage.add_code_seconds(today(), execution.seconds)
        output = self._given_back(execution, notes)
        return output, None if execution.ended else KeptSession(session=execution.session, staged=staged)

    def _stage(self, session: CodeSession, record: RunRecord, staged: list[str], notes: list[str]) -> None:
        """Give the session the run's files it does not have yet, one at a time (each may be large); ``staged``
        takes their ids, ``notes`` what could not be given."""
        limits = self._sandbox.limits
        files = code_files(self._stores, record.run.thread_id, record.run.assistant_id, limits.max_files)
        for file, path in files:
            if file.id in staged:
                continue
            if file.bytes > limits.max_file_bytes:
                notes.append(f"{DATA_DIR}/{path} is not given: it is larger than {limits.max_file_bytes} bytes.")
                continue
            try:
                data = self._contents.read(self._stores.files.content_key(file.id))
                self._sandbox.write_files(session, [StagedFile(path=path, data=data)])
            except NotFound:
                continue  # deleted meanwhile
            except (TooLarge, ValueError) as exc:
                notes.append(f"{DATA_DIR}/{path} is not given: {exc}")
                continue
            staged.append(file.id)

    def _given_back(self, execution: Execution, notes: list[str]) -> CodeOutput:
        """What the execution gave back, its files and images stored as the project's."""
        files: list[CodeFile] = []
        for written in execution.files:
            try:
                data = self._sandbox.read_file(execution.session, written.path)
            except (NotFound, TooLarge, ValueError, SessionEnded):
                notes.append(f"{DATA_DIR}/{written.path} could not be given back to the user.")
                continue
            file = stored_file(self._stores, self._contents, posixpath.basename(written.path), OUTPUT_PURPOSE, data)
            files.append(CodeFile(path=written.path, file_id=file.id))
        images = [
            stored_file(self._stores, self._contents, f"image-{number}.png", OUTPUT_PURPOSE, image).id
            for number, image in enumerate(execution.images, start=1)
        ]
        if execution.output_truncated:
            notes.append(f"The output was cut to {self._sandbox.limits.max_output_bytes} bytes.")
        return CodeOutput(logs=execution.output, error=execution.error, files=files, images=images, notes=notes)


def _refused(started: float, message: str, outcome: Outcome) -> ToolResult:
    """A call whose code did not run: the reason, as the error the model reads and the step shows."""
    return ToolResult(CodeOutput(error=message).model_dump_json(), True, _ms(started), outcome)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
