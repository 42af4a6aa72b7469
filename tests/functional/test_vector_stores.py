"""Vector stores through the unmodified openai SDK, in-process: what the API checks before the IndexFunction's work.
Moved from tests/e2e/test_vector_stores.py, which keeps indexing, searching indexed files and the queues."""

from __future__ import annotations

import io

import openai
import pytest


def test_another_projects_stores_and_files_are_not_found(client, project_client):
    other, _ = project_client
    mine = client.vector_stores.create(name="Mine")
    theirs_file = other.files.create(file=("x.txt", io.BytesIO(b"x")), purpose="assistants").id

    with pytest.raises(openai.NotFoundError):
        other.vector_stores.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.search(mine.id, query="x")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.create(vector_store_id=mine.id, file_id=theirs_file)


def test_a_search_takes_a_bounded_list_of_bounded_queries(project_client):
    client, _ = project_client
    store = client.vector_stores.create(name="Queries")

    for query, why in (
        (["lens", "x" * 4097], "at most 4096 characters"),
        (["lens"] * 9, "give 1 to 8 queries"),
        (["漢" * 3000, "漢" * 3000], "at most 8192 are embedded"),  # each under 4,096 characters
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.vector_stores.search(store.id, query=query)
        assert refused.value.param == "query"
        assert why in refused.value.message

    assert client.vector_stores.search(store.id, query=["lens", "x" * 4096]).data == []
