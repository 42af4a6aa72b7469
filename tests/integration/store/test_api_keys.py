"""The API keys' contract (a key's hash names its project until it is revoked), on DynamoDB and on the fakes.
The keys are the deployment's, not one project's: each test's names and hashes are its own."""

from __future__ import annotations

import secrets

import pytest

from threadrunner.domain.common import now


def test_a_keys_hash_names_its_project_until_the_key_is_revoked(api_keys):
    name, key_hash, other = "key-" + secrets.token_hex(4), secrets.token_hex(32), secrets.token_hex(32)
    api_keys.put_key(key_hash, "p_one", name, now(), hint="sk-...abcd")

    assert api_keys.project_for(key_hash) == "p_one"
    assert api_keys.project_for(other) is None
    with pytest.raises(ValueError, match="exists already"):
        api_keys.put_key(other, "p_two", name, now())
    assert api_keys.project_for(other) is None

    api_keys.revoke(name)

    assert api_keys.project_for(key_hash) is None
