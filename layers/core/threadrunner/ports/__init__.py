"""What the use cases need from the outside world: one small protocol per aggregate.

Adapters implement them (``threadrunner.adapters``); the unit tests use in-memory fakes
(``tests/fakes/``). Every store belongs to one project, and every method raises
:class:`~threadrunner.errors.NotFound` for ids the project does not have.
"""

from .conversations import ConversationStore, PromptStore
from .services import (
    ApiKeys,
    Circuits,
    CodeSandbox,
    Embeddings,
    Event,
    EventPublisher,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    RunControl,
    ToolCatalogue,
    ToolInvoker,
    UnsettledResponses,
    VectorIndex,
)
from .stores import (
    AssistantStore,
    FileStore,
    ProjectStore,
    RunStore,
    StepStore,
    Stores,
    ThreadStore,
    ToolStore,
    UsageStore,
    UserStore,
    VectorStoreStore,
)

__all__ = [
    "ApiKeys",
    "AssistantStore",
    "Circuits",
    "CodeSandbox",
    "ConversationStore",
    "Embeddings",
    "Event",
    "EventPublisher",
    "FileContents",
    "FileStore",
    "IndexJobs",
    "ModelClient",
    "ProjectStore",
    "PromptStore",
    "Provider",
    "RunControl",
    "RunStore",
    "StepStore",
    "Stores",
    "ThreadStore",
    "ToolCatalogue",
    "ToolInvoker",
    "ToolStore",
    "UnsettledResponses",
    "UsageStore",
    "UserStore",
    "VectorIndex",
    "VectorStoreStore",
]
