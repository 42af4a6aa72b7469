"""The entry points are all of one shape (functions/<name>/app.py: the decorator stack and one call into what
threadrunner.bootstrap builds), and bootstrap says what each factory builds, so mypy checks the wiring."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from threadrunner import bootstrap

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))

BUILDERS = {"ApiDeps", "BatchProcessor", "_task"}
"""What a handler module may call at its top level besides bootstrap: the API's adapters (bootstrap cannot import
the API), the batch utility of the SQS functions, the run loop's handler per task."""


def _callee(call: ast.Call) -> str:
    return ast.unparse(call.func)


def _is_entry_point(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Call) and _callee(decorator) == "entry_point" for decorator in function.decorator_list
    )


def _body(function: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of a function, without its docstring."""
    body = function.body
    docstring = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    return body[1:] if docstring else body


def test_every_function_has_its_handler_module():
    assert {path.parent.name for path in HANDLERS} == {"api", "events", "index", "queue", "run_loop", "tools", "usage"}


def test_every_entry_point_is_the_decorator_stack_and_one_call():
    offenders = []
    for path in HANDLERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and _is_entry_point(node):
                body = _body(node)
                if len(body) != 1 or not isinstance(body[0], ast.Return) or not isinstance(body[0].value, ast.Call):
                    offenders.append(f"{path.parent.name}.{node.name}")
    assert offenders == []


def test_no_handler_module_wires_anything_but_through_bootstrap():
    offenders = []
    for path in HANDLERS:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef):
                continue
            value = node.value if isinstance(node, ast.Assign | ast.Expr) else None
            if isinstance(value, ast.Constant):
                continue  # a docstring, a constant
            if isinstance(value, ast.Call) and (_callee(value).startswith("bootstrap.") or _callee(value) in BUILDERS):
                continue
            offenders.append(f"{path.parent.name}: {ast.unparse(node)[:80]}")
    assert offenders == []


def test_every_factory_of_bootstrap_says_what_it_builds():
    unwrapped = {name: inspect.unwrap(value) for name, value in vars(bootstrap).items() if callable(value)}
    factories = {
        name: function
        for name, function in unwrapped.items()
        if inspect.isfunction(function) and function.__module__ == bootstrap.__name__ and not name.startswith("_")
    }
    assert {"stores", "run_control", "idempotency_store", "tool_calls"} <= set(factories)  # cached ones too
    untyped = [name for name, function in factories.items() if function.__annotations__.get("return") in (None, "Any")]
    assert untyped == []
