"""What a route needs, put in the resolver's context for each request by :func:`threadrunner.api.app.handle`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..config import Settings
from ..domain.deployment import RunDefaults
from ..ports import RunLoopControl, Stores, ToolCatalogue


def stores(router: APIGatewayHttpRouter) -> Stores:
    """The caller's project's stores."""
    return router.context["stores"]


def loop(router: APIGatewayHttpRouter) -> RunLoopControl:
    """The run loop: started by new runs, resumed by tool outputs, interrupted by cancels."""
    return router.context["loop"]


def tools(router: APIGatewayHttpRouter) -> ToolCatalogue:
    """The server tools."""
    return router.context["tools"]


def settings(router: APIGatewayHttpRouter) -> Settings:
    return router.context["settings"]


def run_defaults(router: APIGatewayHttpRouter) -> RunDefaults:
    return settings(router).run_defaults
