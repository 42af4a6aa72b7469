"""Every store method has a contract test that runs it on both backends: a method added to a port without one
fails the build here. (Runs last: ``conftest.pytest_collection_modifyitems``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from .recording import CALLED, DESELECTED, every_method


def test_every_store_method_is_called_by_the_contract_on_dynamodb_and_on_the_fakes(request: pytest.FixtureRequest):
    contract = {path for path in Path(__file__).parent.glob("test_*.py") if path != Path(__file__)}
    ran = {item.path for item in request.session.items}
    if not contract <= ran or DESELECTED:
        pytest.skip("only part of the store contract ran; its coverage is judged on a run of the whole of it")

    uncalled = {backend: sorted(every_method() - CALLED.get(backend, set())) for backend in ("dynamodb", "memory")}

    assert uncalled == {"dynamodb": [], "memory": []}, "store methods no contract test calls on both backends: " + (
        ", ".join(sorted(set(uncalled["dynamodb"]) | set(uncalled["memory"])))
    )
