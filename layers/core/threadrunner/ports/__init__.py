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
    Delivery,
    Embeddings,
    Event,
    EventPublisher,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    ResponseWebhooks,
    RunControl,
    ToolCatalogue,
    ToolInvoker,
    TurnChecks,
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
    "Delivery",
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
    "ResponseWebhooks",
    "RunControl",
    "RunStore",
    "StepStore",
    "Stores",
    "ThreadStore",
    "ToolCatalogue",
    "ToolInvoker",
    "ToolStore",
    "TurnChecks",
    "UnsettledResponses",
    "UsageStore",
    "UserStore",
    "VectorIndex",
    "VectorStoreStore",
]
