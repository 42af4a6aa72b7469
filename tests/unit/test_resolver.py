"""The API's resolver serves requests in several threads at once, each with its own request and context."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter as Router

from threadrunner.api.resolver import ConcurrentResolver


def _event(path: str) -> dict:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": path, "stage": "$default"},
        "isBase64Encoded": False,
    }


def _answers(app: APIGatewayHttpResolver) -> list[dict]:
    """Two requests resolved at once: each route waits until both are inside a route, then answers what it sees."""
    router = Router()
    together = threading.Barrier(2, timeout=5)

    @router.get("/echo/<name>")
    def echo(name: str) -> dict:
        together.wait()
        return {"name": name, "path": router.current_event.path, "project": router.context.get("project")}

    app.include_router(router)

    def resolve(name: str) -> dict:
        app.append_context(project=f"p_{name}")
        return json.loads(app.resolve(_event(f"/echo/{name}"), None)["body"])

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(resolve, ["a", "b"]))


EXPECTED = [{"name": "a", "path": "/echo/a", "project": "p_a"}, {"name": "b", "path": "/echo/b", "project": "p_b"}]


def test_two_requests_at_once_each_see_their_own_event_and_context():
    assert _answers(ConcurrentResolver()) == EXPECTED


def test_powertools_own_resolver_mixes_them_up_which_is_why_ours_exists():
    # Both requests are set on the shared router class before either route reads it: one sees the other's.
    assert _answers(APIGatewayHttpResolver()) != EXPECTED
