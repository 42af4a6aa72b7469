"""The HTTP API's routes as API Gateway has them: the OpenAPI body SAM writes for ``AWS::Serverless::HttpApi``
from the functions' ``HttpApi`` events (method and path, ``{name}`` and greedy ``{proxy+}`` variables), each
integrated with a function's alias.

API Gateway picks the most specific route ("Routing API requests" in the HTTP API guide): a path without
variables before one with, a variable before a greedy one, and a method before ``ANY``; the ``$default`` route
takes what no other route matches; without one, such a request is answered ``404 {"message":"Not Found"}`` by
API Gateway itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .template import Template

NOT_FOUND = b'{"message":"Not Found"}'
"""API Gateway's own answer to a request no route matches."""
DEFAULT = "$default"
"""The route, and its path in the OpenAPI body SAM writes, of an ``HttpApi`` event without ``Path`` and ``Method``."""


@dataclass(frozen=True)
class Route:
    method: str
    """``GET``, ``POST``, ... or ``ANY``."""
    path: str
    """``/v1/{proxy+}``."""
    function: str
    """The logical id of the function the route invokes."""
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        """The route key the event carries (``ANY /v1/{proxy+}``, or ``$default``)."""
        return DEFAULT if self.path == DEFAULT else f"{self.method} {self.path}"

    def specificity(self) -> tuple[int, int, int, int, int]:
        """Greater is more specific: not ``$default``, no greedy variable, fewer variables, more literal characters,
        a method."""
        if self.path == DEFAULT:
            return (0, 0, 0, 0, 0)
        variables = re.findall(r"\{[^}]+\}", self.path)
        literal = len(re.sub(r"\{[^}]+\}", "", self.path))
        greedy = any(v.endswith("+}") for v in variables)
        return (1, 0 if greedy else 1, -len(variables), literal, 0 if self.method == "ANY" else 1)


def _pattern(path: str) -> re.Pattern[str]:
    if path == DEFAULT:
        return re.compile(".*", re.S)  # tried last: whatever no other route took
    parts = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            parts.append(f"(?P<{_name(piece)}>.+)")
        elif piece.startswith("{"):
            parts.append(f"(?P<{_name(piece)}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts) + r"\Z")


def _name(variable: str) -> str:
    return re.sub(r"\W", "_", variable.strip("{}+"))


def read(translated: Template) -> list[Route]:
    """Every route of the transformed template's HTTP APIs, most specific first."""
    found = []
    for api in translated.resources("AWS::ApiGatewayV2::Api").values():
        for path, methods in api["Properties"].get("Body", {}).get("paths", {}).items():
            for method, operation in methods.items():
                uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                alias = re.search(r"functions/\$\{(\w+)\}/invocations", uri)
                if alias is None:
                    raise ValueError(f"{method} {path}: an integration the local stack does not know ({uri})")
                function = translated.raw["Resources"][alias.group(1)]["Properties"]["FunctionName"]["Ref"]
                verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                found.append(Route(verb, path, function, _pattern(path)))
    return sorted(found, key=Route.specificity, reverse=True)


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway picks for a request, with its path parameters; ``None``: API Gateway's 404."""
    for route in routes:
        if route.method not in ("ANY", method.upper()):
            continue
        found = route.pattern.match(path)
        if found is not None:
            return route, {_original(route.path, name): value for name, value in found.groupdict().items()}
    return None


def _original(path: str, name: str) -> str:
    """A path parameter's name as the event carries it (``proxy`` for ``{proxy+}``)."""
    return next(v.strip("{}+") for v in re.findall(r"\{[^}]+\}", path) if _name(v) == name)
