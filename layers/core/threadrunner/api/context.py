"""What a route needs, put in the resolver's context for each request by :func:`threadrunner.api.app.handle`."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app.embeddings import metered
from ..config import Settings
from ..domain.deployment import RunDefaults
from ..ports import (
    Embeddings,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    RunControl,
    Stores,
    ToolCatalogue,
    ToolInvoker,
    VectorIndex,
)


def stores(router: APIGatewayHttpRouter) -> Stores:
    """The caller's project's stores."""
    return router.context["stores"]


def run_control(router: APIGatewayHttpRouter) -> RunControl:
    """What starts a run's loop, resumes it with tool outputs and interrupts it on a cancel."""
    return router.context["run_control"]


def tools(router: APIGatewayHttpRouter) -> ToolCatalogue:
    """The server tools."""
    return router.context["tools"]


def functions(router: APIGatewayHttpRouter) -> ToolInvoker:
    """The Lambda functions that may be tools: their tags, read when one is registered."""
    return router.context["functions"]


def provider(router: APIGatewayHttpRouter) -> Provider:
    """The provider's HTTP API, for the calls threadrunner forwards (made on the first: its SDK loads then)."""
    made: Provider = router.context["provider"]()
    return made


def settings(router: APIGatewayHttpRouter) -> Settings:
    return router.context["settings"]


def run_defaults(router: APIGatewayHttpRouter) -> RunDefaults:
    return settings(router).run_defaults


def model(router: APIGatewayHttpRouter) -> Callable[[], ModelClient]:
    """The model, made on first use: a streamed run follows the response its loop works on."""
    return router.context["model"]


def stream_seconds(router: APIGatewayHttpRouter) -> float:
    """How long a streamed answer may last on the entry point serving it."""
    return router.context["stream_seconds"]


def contents(router: APIGatewayHttpRouter) -> FileContents:
    """The bytes of the project's files."""
    return router.context["contents"]


def jobs(router: APIGatewayHttpRouter) -> IndexJobs:
    """The IndexFunction's queue: files to index, files and stores to forget."""
    return router.context["jobs"]


def index(router: APIGatewayHttpRouter) -> VectorIndex:
    return router.context["index"]


def index_kinds(router: APIGatewayHttpRouter) -> list[str]:
    """The kinds of vectors every chunk has."""
    return ["keywords", "embeddings"] if router.context["settings"].embedding_model else ["keywords"]


def embeddings(router: APIGatewayHttpRouter) -> Embeddings | None:
    """The provider's embeddings (made on first use), counted and budgeted in the project's ledger; ``None``
    without an embedding model."""
    return metered(router.context["embeddings"](), stores(router), run_defaults(router))
