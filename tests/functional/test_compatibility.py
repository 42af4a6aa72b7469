"""The Assistants API v2 contract through the unmodified openai SDK, in-process: the errors' shapes. Moved from
tests/e2e/test_compatibility.py, which keeps every row that needs runs, the table's listings, or the model."""

from __future__ import annotations

import openai
import pytest


def test_errors_carry_the_apis_message_type_param_and_code(client):
    thread = client.beta.threads.create()
    cases = [
        (
            lambda: client.beta.threads.create(metadata={f"k{i}": "v" for i in range(17)}),
            "metadata",
            "invalid_value",
            "at most 16 pairs",
        ),
        (
            lambda: client.beta.threads.messages.create(thread.id, role="user", content="x", metadata={"k" * 65: "v"}),
            "metadata",
            "invalid_value",
            "longer than 64 characters",
        ),
        (lambda: client.beta.assistants.list(limit=500), "limit", "invalid_value", "less than or equal to 100"),
        (
            lambda: client.beta.threads.messages.create(thread.id, role="robot", content="x"),
            "role",
            "invalid_value",
            "Invalid value for 'role'",
        ),
    ]
    for call, param, code, message in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        error = caught.value
        assert (error.status_code, error.type, error.param, error.code) == (400, "invalid_request_error", param, code)
        assert message in error.message
