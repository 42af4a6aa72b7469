"""With SnapStart, the entry points prepare the snapshot (bootstrap.prepare_snapshot): clients built and openai
imported before it is taken, random seeded again after each restore; without it, nothing happens at init."""

from __future__ import annotations

import sys
import types

import pytest

from threadrunner import bootstrap
from threadrunner.config import Settings


@pytest.fixture
def runtime(monkeypatch):
    """The Lambda runtime's snapshot_restore_py, recording what is registered."""
    hooks: dict[str, list] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = hooks["before"].append  # type: ignore[attr-defined]
    module.register_after_restore = hooks["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    made: list[str] = []
    monkeypatch.setattr(bootstrap, "_made", made.append)
    model: list[bool] = []
    monkeypatch.setattr(bootstrap, "model_client", lambda: model.append(True))
    return hooks, made, model


def test_with_snapstart_the_snapshot_holds_the_clients_and_the_model_sdk(runtime, monkeypatch):
    hooks, made, model = runtime
    monkeypatch.setattr(bootstrap, "settings", lambda: Settings(SNAPSTART="true"))
    bootstrap.prepare_snapshot(("dynamodb", "events"), model=True)
    assert made == [] and model == []  # registered, not run: the runtime runs it before the snapshot
    (before,) = hooks["before"]
    before()
    assert made == ["dynamodb", "events"] and model == [True]
    (after,) = hooks["after"]
    import random

    random.seed(1)
    first = random.random()
    random.seed(1)
    after()
    assert random.random() != first  # each restored container draws its own jitter


def test_a_function_that_never_calls_the_model_does_not_import_it_into_its_snapshot(runtime, monkeypatch):
    hooks, made, model = runtime
    monkeypatch.setattr(bootstrap, "settings", lambda: Settings(SNAPSTART="true"))
    bootstrap.prepare_snapshot(("dynamodb",))
    hooks["before"][0]()
    assert made == ["dynamodb"] and model == []


def test_without_snapstart_nothing_is_registered(runtime, monkeypatch):
    hooks, _, _ = runtime
    monkeypatch.setattr(bootstrap, "settings", lambda: Settings(SNAPSTART="false"))
    bootstrap.prepare_snapshot(("dynamodb",), model=True)
    assert hooks == {"before": [], "after": []}
