"""What routes run on, declared: a route names each port it needs as a parameter typed with one of the aliases
below (Powertools ``Depends()``), and gets it for the request it answers.

Every dependency comes from the request's :class:`~threadrunner.api.scope.RequestScope`, which the resolver stage
puts in the resolver's context (:func:`threadrunner.api.routes.resolve`); the resolver keeps that context per
thread (api/resolver.py), so concurrent requests each get their own. A test may swap any one of them through
``routes.app.dependency_overrides``. Those made on first use (the provider, the embeddings) are made only by the
routes that declare them.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from ..app.embeddings import metered
from ..config import Settings
from ..domain.deployment import RunDefaults
from ..ports import (
    Embeddings,
    FileContents,
    IndexJobs,
    Provider,
    RunControl,
    Stores,
    ToolCatalogue,
    ToolInvoker,
    VectorIndex,
)
from .scope import RequestScope
from .streams import RunStreams

SCOPE = "scope"
"""The resolver's context key of the request's scope: the one value the front door puts there."""


def request_scope(request: Request) -> RequestScope:
    """The request's scope, as the front door put it in the resolver's context."""
    found: RequestScope = request.context[SCOPE]
    return found


Scope = Annotated[RequestScope, Depends(request_scope)]


def stores(scope: Scope) -> Stores:
    """The caller's project's stores."""
    return scope.stores


def run_control(scope: Scope) -> RunControl:
    """What starts a run's loop, resumes it with tool outputs and interrupts it on a cancel."""
    return scope.deps.run_control


def tools(scope: Scope) -> ToolCatalogue:
    """The server tools."""
    return scope.deps.tools


def functions(scope: Scope) -> ToolInvoker:
    """The Lambda functions that may be tools: their tags, read when one is registered."""
    return scope.deps.functions


def provider(scope: Scope) -> Provider:
    """The provider's HTTP API, for the calls threadrunner forwards (made on the first: its SDK loads then)."""
    return scope.deps.provider()


def settings(scope: Scope) -> Settings:
    return scope.deps.settings


def run_defaults(scope: Scope) -> RunDefaults:
    return scope.deps.settings.run_defaults


def run_streams(scope: Scope) -> RunStreams:
    """Runs' events as this request streams them (api/streams.py)."""
    return scope.run_streams()


def contents(scope: Scope) -> FileContents:
    """The bytes of the project's files."""
    return scope.deps.contents


def jobs(scope: Scope) -> IndexJobs:
    """The IndexFunction's queue: files to index, files and stores to forget."""
    return scope.deps.jobs


def index(scope: Scope) -> VectorIndex:
    return scope.deps.index


def index_kinds(scope: Scope) -> list[str]:
    """The kinds of vectors every chunk has."""
    return ["keywords", "embeddings"] if scope.deps.settings.embedding_model else ["keywords"]


def embeddings(scope: Scope) -> Embeddings | None:
    """The provider's embeddings (made on first use), counted and budgeted in the project's ledger; ``None``
    without an embedding model."""
    return metered(scope.deps.embeddings(), scope.stores, scope.deps.settings.run_defaults)


StoresDep = Annotated[Stores, Depends(stores)]
RunControlDep = Annotated[RunControl, Depends(run_control)]
ToolsDep = Annotated[ToolCatalogue, Depends(tools)]
FunctionsDep = Annotated[ToolInvoker, Depends(functions)]
ProviderDep = Annotated[Provider, Depends(provider)]
SettingsDep = Annotated[Settings, Depends(settings)]
RunDefaultsDep = Annotated[RunDefaults, Depends(run_defaults)]
RunStreamsDep = Annotated[RunStreams, Depends(run_streams)]
ContentsDep = Annotated[FileContents, Depends(contents)]
JobsDep = Annotated[IndexJobs, Depends(jobs)]
IndexDep = Annotated[VectorIndex, Depends(index)]
IndexKindsDep = Annotated[list[str], Depends(index_kinds)]
EmbeddingsDep = Annotated[Embeddings | None, Depends(embeddings)]
