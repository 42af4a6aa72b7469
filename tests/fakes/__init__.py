"""In-memory fakes of the ports, for fast unit tests of the use cases and the run loop's tasks.

They keep the contracts of ``threadrunner.ports`` as the DynamoDB stores do (the thread's lock, the
run-status table, claims made once, calls claimed once, reservations against budgets, the mark of a
thread being deleted), on plain dicts: what a unit test of a branch needs, without moto. The store contract
(tests/integration/store/) runs every store method against them and the DynamoDB stores alike.

One module per aggregate; everything is imported from here (``from tests.fakes import fake_stores``).
"""

from __future__ import annotations

from threadrunner.ports import Stores

from .api_keys import FakeApiKeys
from .assistants import FakeAssistants
from .code_sandbox import FakeCodeSandbox
from .conversations import FakeConversations, FakePrompts
from .files import FakeContents, FakeFiles
from .projects import FakeProjects
from .runs import FakeRuns
from .services import FakeCatalogue, FakeCircuits, FakeControl, FakeEvents, FakeModel, FakeTurnChecks
from .steps import FakeSteps
from .threads import FakeThreads
from .tools import FakeTools
from .usage import FakeUnsettled, FakeUsage
from .users import FakeUsers
from .vector_stores import FakeIndex, FakeJobs, FakeVectorStores
from .webhooks import FakeResponseWebhooks
from .world import World

__all__ = [
    "FakeApiKeys",
    "FakeAssistants",
    "FakeCatalogue",
    "FakeCircuits",
    "FakeCodeSandbox",
    "FakeContents",
    "FakeControl",
    "FakeConversations",
    "FakeEvents",
    "FakeFiles",
    "FakeIndex",
    "FakeJobs",
    "FakeModel",
    "FakeProjects",
    "FakePrompts",
    "FakeResponseWebhooks",
    "FakeRuns",
    "FakeSteps",
    "FakeThreads",
    "FakeTools",
    "FakeTurnChecks",
    "FakeUnsettled",
    "FakeUsage",
    "FakeUsers",
    "FakeVectorStores",
    "World",
    "fake_stores",
]


def fake_stores(world: World | None = None) -> Stores:
    """The stores of one project, all on one in-memory world."""
    world = world or World()
    return Stores(
        project=world.project,
        assistants=FakeAssistants(world),
        threads=FakeThreads(world),
        runs=FakeRuns(world),
        steps=FakeSteps(world),
        users=FakeUsers(world),
        usage=FakeUsage(world),
        projects=FakeProjects(world),
        files=FakeFiles(world),
        vector_stores=FakeVectorStores(world),
        tools=FakeTools(world),
        conversations=FakeConversations(world),
        prompts=FakePrompts(world),
    )
