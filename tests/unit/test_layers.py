"""The layers of threadrunner/ (DESIGN.md, "Layout") hold: imports only point down, the domain stays pure."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "core" / "threadrunner"

OUTSIDE_WORLD = ("boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk", "openai", "httpx", "requests")
"""What the domain never imports: AWS, the model's SDK, HTTP clients (and the standard library's, below)."""
STANDARD_NETWORK = ("http", "urllib", "socket", "ssl", "email")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every import in the package, relative ones resolved."""
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                yield module, target
                for alias in node.names:  # `from . import api` imports a module, not a name
                    yield module, f"{target}.{alias.name}"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_import_walk_sees_relative_and_absolute_imports():
    found = set(imports())
    assert ("threadrunner.api.openapi", "threadrunner.api.wire") in found  # from .wire import ErrorBody
    assert ("threadrunner.api.users", "threadrunner.app.users") in found  # from ..app import users
    assert ("threadrunner.adapters.dynamodb.codec", "threadrunner.errors") in found  # from ...errors import ...
    assert ("threadrunner.adapters.dynamodb.codec", "boto3.dynamodb.types") in found  # absolute


def test_nothing_outside_the_api_imports_it():
    offenders = [
        (source, target)
        for source, target in imports()
        if _within(target, "threadrunner.api") and not _within(source, "threadrunner.api")
    ]
    assert offenders == []


def test_the_domain_imports_no_aws_http_or_model_sdk_and_nothing_above_it():
    offenders = [
        (source, target)
        for source, target in imports()
        if _within(source, "threadrunner.domain")
        and (
            target.split(".")[0] in OUTSIDE_WORLD + STANDARD_NETWORK
            or (
                _within(target, "threadrunner")
                and not _within(target, "threadrunner.domain")
                and not _within(target, "threadrunner.errors")
            )
        )
    ]
    assert offenders == []


def test_use_cases_and_ports_reach_adapters_only_through_ports():
    offenders = [
        (source, target)
        for source, target in imports()
        if (_within(source, "threadrunner.app") or source == "threadrunner.ports")
        and (
            _within(target, "threadrunner.adapters")
            or _within(target, "threadrunner.bootstrap")
            or target.split(".")[0] in ("boto3", "botocore", "openai")
        )
    ]
    assert offenders == []
