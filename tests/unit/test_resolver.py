"""The API's resolver serves requests in several threads at once, each with its own request and context; and what
it relies on in Powertools' internals is still there (threadrunner/api/resolver.py, written for one version)."""

import importlib.metadata
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, DependencyResolutionError, Depends, Response
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter as Router

from threadrunner.api import streams
from threadrunner.api.resolver import POWERTOOLS_VERSION, ConcurrentResolver

ROOT = Path(__file__).resolve().parents[2]
PER_THREAD = {"current_event", "lambda_context", "context", "processed_stack_frames"}
"""The resolver's attributes that hold a request's state, each kept per thread by ConcurrentResolver."""


def _event(path: str) -> dict:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": path, "stage": "$default"},
        "isBase64Encoded": False,
    }


def _together(app: APIGatewayHttpResolver, names: list[str]) -> list[dict]:
    """Requests for ``/echo/<name>`` resolved at once, each with its own ``project`` in the resolver's context."""

    def resolve(name: str) -> dict:
        app.append_context(project=f"p_{name}")
        return json.loads(app.resolve(_event(f"/echo/{name}"), None)["body"])

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(resolve, names))


def _answers(app: APIGatewayHttpResolver) -> list[dict]:
    """Two requests resolved at once: each route waits until both are inside a route, then answers what it sees."""
    router = Router()
    together = threading.Barrier(2, timeout=5)

    @router.get("/echo/<name>")
    def echo(name: str) -> dict:
        together.wait()
        return {"name": name, "path": router.current_event.path, "project": router.context.get("project")}

    app.include_router(router)
    return _together(app, ["a", "b"])


EXPECTED = [{"name": "a", "path": "/echo/a", "project": "p_a"}, {"name": "b", "path": "/echo/b", "project": "p_b"}]


def test_two_requests_at_once_each_see_their_own_event_and_context():
    assert _answers(ConcurrentResolver()) == EXPECTED


def test_powertools_own_resolver_mixes_them_up_which_is_why_ours_exists():
    # Both requests are set on the shared router class before either route reads it: one sees the other's.
    assert _answers(APIGatewayHttpResolver()) != EXPECTED


def _depending(app: APIGatewayHttpResolver) -> list[dict]:
    """Two requests resolved at once through a route whose values come from Depends(): the dependency reads the
    request (``Request``: the resolver's context and event), after both requests are inside their routes."""
    router = Router()
    together = threading.Barrier(2, timeout=5)

    def project(request: Request) -> str:
        together.wait()
        return f"{request.context['project']}@{request.resolved_event.path}"

    @router.get("/echo/<name>")
    def echo(name: str, seen: Annotated[str, Depends(project)]) -> dict:
        return {"name": name, "seen": seen}

    app.include_router(router)
    return _together(app, ["a", "b"])


def test_dependencies_are_resolved_for_the_request_of_each_thread():
    assert _depending(ConcurrentResolver()) == [
        {"name": "a", "seen": "p_a@/echo/a"},
        {"name": "b", "seen": "p_b@/echo/b"},
    ]


def test_powertools_own_resolver_resolves_them_from_one_shared_context():
    # The first request to end clears the one context, the other's dependency finds it empty (or another's).
    with pytest.raises(DependencyResolutionError):
        _depending(APIGatewayHttpResolver())


# What the resolver relies on in Powertools' internals: each test fails when the internal changes.


def test_the_resolver_is_written_for_the_powertools_the_layer_pins():
    pinned = re.search(
        r"^aws-lambda-powertools\[tracer\]==(\S+)$", (ROOT / "layers/core/requirements.txt").read_text(), re.M
    )
    assert pinned is not None and pinned.group(1) == POWERTOOLS_VERSION, "read api/resolver.py against the new pin"
    assert importlib.metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION


class _Watched(ConcurrentResolver):
    """Records every attribute set on the resolver once :meth:`watch` was called."""

    def watch(self) -> set[str]:
        self.__dict__["set_while_resolving"] = set()
        return self.__dict__["set_while_resolving"]

    def __setattr__(self, name: str, value: Any) -> None:
        if "set_while_resolving" in self.__dict__:
            self.__dict__["set_while_resolving"].add(name)
        super().__setattr__(name, value)


def _watched_app() -> tuple[_Watched, Route]:
    app = _Watched(enable_validation=True)
    router = Router()

    def project(request: Request) -> str:
        return str(request.context.get("project"))

    @router.get("/echo/<name>")
    def echo(name: str, seen: Annotated[str, Depends(project)]) -> dict:
        return {"name": name, "seen": seen}

    app.include_router(router)
    app.use(middlewares=[lambda resolver, next_middleware: next_middleware(resolver)])
    (route,) = [route for route in app._static_routes + app._dynamic_routes if route.rule.match("/echo/x")]
    return app, route


def test_resolving_a_request_sets_no_state_on_the_resolver_but_what_is_kept_per_thread():
    app, _ = _watched_app()
    set_while_resolving = app.watch()
    app.append_context(project="p")

    answer = app.resolve(_event("/echo/a"), None)
    app.resolve(_event("/nowhere"), None)  # the route Powertools makes for a path no route serves

    assert json.loads(answer["body"]) == {"name": "a", "seen": "p"}
    assert set_while_resolving <= PER_THREAD | {"_stacks_built"}


def test_a_route_keeps_nothing_of_the_requests_it_answered():
    app, route = _watched_app()
    app.resolve(_event("/echo/a"), None)  # builds what the route keeps for every request (its stack, its dependant)
    kept = dict(vars(route))

    app.append_context(project="q")
    app.resolve(_event("/echo/b"), None)

    assert vars(route).keys() == kept.keys()
    assert [name for name, value in vars(route).items() if value is not kept[name]] == []


def test_two_first_requests_at_once_build_the_route_once():
    """Powertools builds a route's middleware stack on its first request, without a lock; here two first requests
    are made to build it at once, the second after the first built it (as a thread switch can have it)."""
    app, _ = _watched_app()
    build = Route._build_middleware_stack
    both_in, first_built, turns, turns_lock = (
        threading.Barrier(2, timeout=0.5),
        threading.Event(),
        [0],
        threading.Lock(),
    )

    def in_turn(route: Route, *args: Any, **kwargs: Any) -> None:
        with turns_lock:
            turn, turns[0] = turns[0], turns[0] + 1
        try:
            both_in.wait()
        except threading.BrokenBarrierError:
            pass  # only one built it
        if turn == 1:
            first_built.wait(1)
        build(route, *args, **kwargs)
        first_built.set()

    try:
        Route._build_middleware_stack = in_turn  # type: ignore[method-assign]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda name: app.resolve(_event(f"/echo/{name}"), None), ["a", "b"]))
    finally:
        Route._build_middleware_stack = build  # type: ignore[method-assign]

    answers.append(app.resolve(_event("/echo/c"), None))
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200]
    assert turns == [1]


def test_the_resolver_knows_which_paths_its_routes_serve():
    app, _ = _watched_app()
    assert app.serves("/echo/x") and not app.serves("/nowhere")


def _streaming_app(*middlewares: Any) -> tuple[ConcurrentResolver, list[str]]:
    app = ConcurrentResolver(enable_validation=True)
    read: list[str] = []

    def chunks():
        for chunk in ("event: a\n\n", "event: b\n\n"):
            read.append(chunk)
            yield chunk

    @app.get("/stream")
    def stream() -> Response[Any]:
        return streams.StreamAnswer(streams.EventStream(chunks()))

    app.use(middlewares=list(middlewares))
    return app, read


def test_a_stream_a_route_hands_back_comes_out_of_the_resolver_unread():
    app, read = _streaming_app(lambda resolver, next_middleware: streams.events_in_body(next_middleware(resolver)))

    answer = app.resolve(_event("/stream"), None)

    assert isinstance(answer["body"], streams.EventStream) and read == []  # nothing read before the entry point
    assert answer["headers"]["Content-Type"] == "text/event-stream"
    assert list(answer["body"]) == ["event: a\n\n", "event: b\n\n"]


def test_powertools_validation_reads_an_iterator_body_to_its_end_which_is_why_events_go_in_after_it():
    app = ConcurrentResolver(enable_validation=True)

    @app.get("/stream")
    def stream() -> Response[Any]:
        return Response(200, "text/event-stream", streams.EventStream(iter(["event: a\n\n", "event: b\n\n"])))

    assert app.resolve(_event("/stream"), None)["body"] == ["event: a\n\n", "event: b\n\n"]  # read, as a list
