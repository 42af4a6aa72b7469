"""Every key of the table, built here and nowhere else (docs/data-model.md).

Every key of a project's items starts with the project, so one project can never address another's
objects. Ids sort by creation time, so a query on an SK prefix lists a thread's messages, runs or a
run's steps in order, and the cursors ``after``/``before`` become key conditions.

==========================  =====================================  ==========================================
item                        PK                                     SK
==========================  =====================================  ==========================================
assistant                   ``P#<project>#ASSISTANTS``             ``ASST#<assistant_id>``
thread                      ``P#<project>#THREAD#<thread_id>``     ``THREAD``
message                     the thread's                           ``MSG#<message_id>``
run                         the thread's                           ``RUN#<run_id>``
run step                    the thread's                           ``STEP#<run_id>#<step_id>``
tool call                   the thread's                           ``STEP#<run_id>#<step_id>#CALL#<call_id>``
queued message              the thread's                           ``QUEUE#<message_id>``
user                        ``P#<project>#USER#<user_id>``         ``USER``
usage of a day              ``P#<project>#USAGE``                  ``DAY#<day>`` / ``DAY#<day>#USER#<user_id>``
a response's usage          ``P#<project>#USAGE``                  ``RESPONSE#<response_id>``
policy                      ``P#<project>#POLICY``                 ``POLICY``
active runs                 ``P#<project>#ACTIVE``                 ``RUNS``
requests of a minute        ``P#<project>#RATE``                   ``MINUTE#<unix minute>``
file                        ``P#<project>#FILES``                  ``FILE#<file_id>``
file, by purpose            ``P#<project>#FILES#<purpose>``        ``FILE#<file_id>``
upload                      ``P#<project>#UPLOADS``                ``UPLOAD#<upload_id>``
upload part                 ``P#<project>#UPLOADS``                ``UPLOAD#<upload_id>#PART#<part_id>``
vector store                ``P#<project>#VECTOR_STORES``          ``STORE#<vector_store_id>``
file of a vector store      ``P#<project>#VS#<vector_store_id>``   ``FILE#<file_id>``
file batch                  ``P#<project>#VS#<vector_store_id>``   ``BATCH#<batch_id>``
a file's vector stores      ``P#<project>#FILE_STORES#<file_id>``  ``VS#<vector_store_id>``
registered server tool      ``P#<project>#TOOLS``                  ``TOOL#<name>``
conversation                ``P#<project>#CONV#<conv_id>``         ``CONV``
conversation item           the conversation's or a thread's       ``ITEM#<item id after its prefix>``
a response's turn, by key   the conversation's or a thread's       ``TURN#<hashed Idempotency-Key>``
prompt version              ``P#<project>#PROMPT#<prompt_id>``     ``V#<version, 5 digits>``
API key                     ``APIKEY#<sha256>``                    ``APIKEY``
API key's listing entry     ``APIKEYS``                            ``<name>``
an unsettled response       ``unsettled#responses``                ``<project>#<response_id>``
a run waiting on a webhook  ``webhook#response#<response_id>``     ``RUN``
a webhook delivery          ``webhook#delivery#<webhook-id>``      ``DELIVERY``
==========================  =====================================  ==========================================

A thread item also carries ``threads_of`` = ``P#<project>#THREADS``, the partition key of the ThreadsByProject
index, whose sort key is the thread's ``id``: the project's threads, listed by creation time. A conversation item
carries ``P#<project>#CONVERSATIONS`` there: the index lists the project's conversations too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ...domain.conversation import position
from .codec import checked

HIGHEST = "~"
"""Sorts after every id character: the upper bound of a prefix's range."""
LOWEST = "!"
"""Sorts before every id character: the lower bound of a range of whole ids."""


class Index(NamedTuple):
    """A key schema a query reads: the table's, or a global secondary index's."""

    name: str | None
    partition_key: str
    sort_key: str


TABLE = Index(None, "PK", "SK")
THREADS = Index("ThreadsByProject", "threads_of", "id")
"""A project's threads, by id (so by creation time): thread items carry ``threads_of``; the index projects the
thread's wire fields (template.yaml), not the bookkeeping that changes with every run."""

MESSAGES, RUNS, QUEUE, ASSISTANTS, FILES, STORES = "MSG#", "RUN#", "QUEUE#", "ASST#", "FILE#", "STORE#"
ITEMS, STEPS, VERSIONS = "ITEM#", "STEP#", "V#"
"""SK prefixes of the items listed by prefix."""

BEGUN = "begun"
"""The attribute of a message or step a run's stream stored in progress: the loop's write of it replaces it."""


def key(pk: str, sk: str) -> dict[str, Any]:
    """An item's key as the DynamoDB API takes it."""
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def steps_of(run_id: str) -> str:
    """The SK prefix of a run's steps and their calls."""
    return f"STEP#{checked('run', run_id)}#"


def step_sk(run_id: str, step_id: str) -> str:
    return f"{steps_of(run_id)}{checked('run step', step_id)}"


def item_sk(item_id: str) -> str:
    """An item of a conversation (or thread) sorts by its id after the prefix: when it was made."""
    return ITEMS + position(checked("item", item_id))


def turn_sk(key_hash: str) -> str:
    return f"TURN#{key_hash}"


def version_sk(version: int) -> str:
    return f"{VERSIONS}{version:05d}"


def upload_parts_of(upload_id: str) -> str:
    """The SK prefix of an upload's parts."""
    return f"UPLOAD#{checked('upload', upload_id)}#PART#"


def calls_of(run_id: str, step_id: str) -> str:
    """The SK prefix of a step's tool calls."""
    return f"{step_sk(run_id, step_id)}#CALL#"


class Keys:
    """The keys of one project's items."""

    def __init__(self, project: str) -> None:
        self.project = project

    def thread_pk(self, thread_id: str) -> str:
        return f"P#{self.project}#THREAD#{checked('thread', thread_id)}"

    def thread(self, thread_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), "THREAD")

    @property
    def threads(self) -> str:
        """The project's partition of the ThreadsByProject index."""
        return f"P#{self.project}#THREADS"

    def message(self, thread_id: str, message_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), MESSAGES + checked("message", message_id))

    def queued(self, thread_id: str, message_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), QUEUE + message_id)

    def run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), RUNS + checked("run", run_id))

    def step(self, thread_id: str, run_id: str, step_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), step_sk(run_id, step_id))

    def call(self, thread_id: str, run_id: str, step_id: str, call_id: str) -> dict[str, Any]:
        return key(self.thread_pk(thread_id), calls_of(run_id, step_id) + call_id)

    @property
    def assistants_pk(self) -> str:
        return f"P#{self.project}#ASSISTANTS"

    def assistant(self, assistant_id: str) -> dict[str, Any]:
        return key(self.assistants_pk, ASSISTANTS + checked("assistant", assistant_id))

    def user(self, user_id: str) -> dict[str, Any]:
        return key(f"P#{self.project}#USER#{user_id}", "USER")

    def usage_day(self, day: str, user_id: str | None = None) -> dict[str, Any]:
        return key(f"P#{self.project}#USAGE", f"DAY#{day}" + (f"#USER#{user_id}" if user_id else ""))

    def response(self, response_id: str) -> dict[str, Any]:
        return key(f"P#{self.project}#USAGE", f"RESPONSE#{response_id}")

    def policy(self) -> dict[str, Any]:
        return key(f"P#{self.project}#POLICY", "POLICY")

    def legacy_budget(self) -> dict[str, Any]:
        """Where a project's budget lived before policies; still read."""
        return key(f"P#{self.project}#BUDGET", "BUDGET")

    def active_runs(self) -> dict[str, Any]:
        return key(f"P#{self.project}#ACTIVE", "RUNS")

    def open_streams(self) -> dict[str, Any]:
        return key(f"P#{self.project}#STREAMS", "STREAMS")

    def requests(self, minute: int) -> dict[str, Any]:
        return key(f"P#{self.project}#RATE", f"MINUTE#{minute}")

    def files_pk(self, purpose: str | None = None) -> str:
        """The partition of the project's files, or of its files of one purpose."""
        return f"P#{self.project}#FILES" + (f"#{purpose}" if purpose else "")

    def file(self, file_id: str, purpose: str | None = None) -> dict[str, Any]:
        return key(self.files_pk(purpose), FILES + checked("file", file_id))

    @property
    def uploads_pk(self) -> str:
        return f"P#{self.project}#UPLOADS"

    def upload(self, upload_id: str) -> dict[str, Any]:
        return key(self.uploads_pk, f"UPLOAD#{checked('upload', upload_id)}")

    def upload_part(self, upload_id: str, part_id: str) -> dict[str, Any]:
        return key(self.uploads_pk, upload_parts_of(upload_id) + checked("upload part", part_id))

    def tool(self, name: str) -> dict[str, Any]:
        return key(f"P#{self.project}#TOOLS", f"TOOL#{name}")

    @property
    def tools_pk(self) -> str:
        return f"P#{self.project}#TOOLS"

    @property
    def stores_pk(self) -> str:
        return f"P#{self.project}#VECTOR_STORES"

    def store(self, vector_store_id: str) -> dict[str, Any]:
        return key(self.stores_pk, STORES + checked("vector store", vector_store_id))

    def store_pk(self, vector_store_id: str) -> str:
        """The partition of a store's files and batches."""
        return f"P#{self.project}#VS#{checked('vector store', vector_store_id)}"

    def store_file(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        return key(self.store_pk(vector_store_id), FILES + checked("file", file_id))

    def batch(self, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        return key(self.store_pk(vector_store_id), "BATCH#" + checked("file batch", batch_id))

    def conversation_pk(self, conversation_id: str) -> str:
        return f"P#{self.project}#CONV#{checked('conversation', conversation_id)}"

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return key(self.conversation_pk(conversation_id), "CONV")

    @property
    def conversations(self) -> str:
        """The project's conversations' partition of the ThreadsByProject index."""
        return f"P#{self.project}#CONVERSATIONS"

    def prompt_pk(self, prompt_id: str) -> str:
        return f"P#{self.project}#PROMPT#{checked('prompt', prompt_id)}"

    def prompt(self, prompt_id: str, version: int) -> dict[str, Any]:
        return key(self.prompt_pk(prompt_id), version_sk(version))

    def file_stores_pk(self, file_id: str) -> str:
        """The partition that names the stores a file is in."""
        return f"P#{self.project}#FILE_STORES#{checked('file', file_id)}"


UNSETTLED = "unsettled#responses"
"""The partition that lists every project's unsettled responses, for the sweep (the functions' policies grant it)."""


def unsettled(project: str, response_id: str) -> dict[str, Any]:
    """A project's response on the list of unsettled ones (``project`` and ``response_id`` are also attributes)."""
    return key(UNSETTLED, f"{project}#{response_id}")


def webhook_response(response_id: str) -> dict[str, Any]:
    """Which run waits on a response's webhook: the webhook names the response only (not its project)."""
    return key(f"webhook#response#{response_id}", "RUN")


def webhook_delivery(webhook_id: str) -> dict[str, Any]:
    """A webhook delivery received, by its ``webhook-id``."""
    return key(f"webhook#delivery#{webhook_id}", "DELIVERY")


def api_key(key_hash: str) -> dict[str, Any]:
    return key(f"APIKEY#{key_hash}", "APIKEY")


def api_key_entry(name: str) -> dict[str, Any]:
    return key("APIKEYS", name)
