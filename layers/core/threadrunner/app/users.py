"""Users (``/v1/users``): one persistent thread per end user, and a queue so no message is lost.

Every message a user sends goes through the thread's queue (``QUEUE#`` items, in order). After
queueing, :func:`~threadrunner.app.user_queue.drain` tries to start one run that moves the oldest
queued messages (up to 20) into the thread and takes the thread's lock, in one write. When a
run is active the write is refused and the messages wait; the loop drains the queue again as
the run ends (AnnounceRun). So one follow-up run answers every message that arrived while the
previous run was active, in the order they arrived. A queued message gets its thread message id
when it joins the thread (ids sort by the time a message joins), so the thread always reads in
the order its messages arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.common import now
from ..domain.deployment import RunDefaults
from ..domain.ids import new_id
from ..domain.message import Message
from ..domain.pagination import Page, PageRequest
from ..domain.run import Run
from ..domain.thread import Thread
from ..domain.user import QueuedMessage, QueuedUserMessage, User, UserRecord
from ..errors import Conflict, NotFound, TooManyActiveRuns
from ..ports import RunControl, Stores
from . import projects, threads
from .messages import check_files, new_message
from .user_queue import drain

if TYPE_CHECKING:
    from .requests.users import UserMessageCreate


def post_user_message(
    stores: Stores, control: RunControl, user_id: str, body: UserMessageCreate, defaults: RunDefaults
) -> Run | QueuedUserMessage:
    """Add a user's message to the user's thread (created on the first message) and have it answered.

    Returns the run that answers it, or, while another run is active, the queued message and its place.
    """
    # An unknown assistant, a model not allowed or a spent budget writes nothing.
    projects.check_model(stores, stores.assistants.get_assistant(body.assistant_id).model)
    projects.check_budget(stores, defaults, user_id)
    check_files(stores, [body.as_message()])
    thread_id = _thread_of(stores, user_id)
    if body.if_busy == "reject" and (stores.threads.active_run_id(thread_id) or stores.users.queued(thread_id, 1)):
        raise _busy(thread_id)
    message = new_message(thread_id, body.as_message())
    try:
        stores.users.enqueue(QueuedMessage(message=message, assistant_id=body.assistant_id))
    except NotFound:  # the thread was deleted just now: the message goes to the user's new one
        thread_id = _thread_of(stores, user_id)
        message = new_message(thread_id, body.as_message())
        stores.users.enqueue(QueuedMessage(message=message, assistant_id=body.assistant_id))
    try:
        started = drain(stores, control, thread_id, defaults)
    except TooManyActiveRuns:
        if stores.users.dequeue(thread_id, message.id):
            raise  # refused whole, so that a retry does not find the message queued twice
        return _run_holding(stores, thread_id)  # a concurrent drain took it into its run
    if started is not None and message.id in started[1]:
        return started[0]
    if body.if_busy == "reject":
        if stores.users.dequeue(thread_id, message.id):
            raise _busy(thread_id)
        return _run_holding(stores, thread_id)  # a concurrent drain took it into its run
    waiting = [entry.message.id for entry in stores.users.queued(thread_id, 1000)]
    if message.id not in waiting:
        return _run_holding(stores, thread_id)
    return QueuedUserMessage(
        id=message.id, thread_id=thread_id, position=waiting.index(message.id) + 1, message=message
    )


def _thread_of(stores: Stores, user_id: str) -> str:
    """The user's thread: made on the first message, and made again if it was deleted (DELETE /v1/threads/...)."""
    user = stores.users.get_user(user_id)
    if user is not None:
        try:
            return stores.threads.get_thread(user.thread_id).id
        except NotFound:
            pass
    thread = Thread(id=new_id("thread"), created_at=now())
    record = UserRecord(user_id=user_id, thread_id=thread.id, created_at=user.created_at if user else now())
    return stores.users.create_user(record, thread, replacing=user.thread_id if user else None).thread_id


def get_user(stores: Stores, user_id: str) -> User:
    record = _user(stores, user_id)
    return User(id=user_id, thread_id=record.thread_id, created_at=record.created_at, usage=record.usage)


def list_user_messages(stores: Stores, user_id: str, page: PageRequest) -> Page[Message]:
    """The messages of the user's thread; an empty list for a user who never wrote."""
    record = stores.users.get_user(user_id)
    try:
        return stores.threads.list_messages(record.thread_id, page) if record else Page(data=[], has_more=False)
    except NotFound:  # the thread was deleted; the next message starts a new one
        return Page(data=[], has_more=False)


def delete_user(stores: Stores, control: RunControl, user_id: str) -> None:
    """Forget the user: the thread with everything in it (its active run cancelled first), then the mapping."""
    record = _user(stores, user_id)
    try:
        threads.delete_thread(stores, control, record.thread_id)  # the mapping goes with its thread
    except NotFound:
        pass  # the thread went first (DELETE /v1/threads/...)
    try:
        stores.users.delete_user(user_id)
    except NotFound:
        pass  # it went with the thread


def _user(stores: Stores, user_id: str) -> UserRecord:
    record = stores.users.get_user(user_id)
    if record is None:
        raise NotFound("user", user_id)
    return record


def _run_holding(stores: Stores, thread_id: str) -> Run:
    active = stores.threads.active_run_id(thread_id)
    if active is None:  # it finished already: the newest run answered the message
        return stores.runs.list_runs(thread_id, PageRequest(limit=1, order="desc")).data[0]
    return stores.runs.get_run(thread_id, active)


def _busy(thread_id: str) -> Conflict:
    return Conflict(
        f"The user's thread {thread_id} is busy with an active run or queued messages; "
        "send with if_busy=queue to have this message answered next.",
        code="thread_busy",
    )
