"""The file store's contract (files' records and uploads that take parts), on DynamoDB and on the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from threadrunner.domain.common import now
from threadrunner.domain.files import FileObject, Upload, UploadPart
from threadrunner.domain.ids import new_id
from threadrunner.domain.pagination import PageRequest
from threadrunner.errors import InvalidRequest, NotFound

from .builders import pages_like_a_list


def _file(purpose: Any = "assistants", **fields: Any) -> FileObject:
    fields.setdefault("filename", "notes.txt")
    return FileObject(id=new_id("file", "-"), bytes=12, created_at=now(), purpose=purpose, **fields)


def _upload(store: Any) -> Upload:
    upload = Upload(
        id=new_id("upload"),
        bytes=10,
        created_at=now(),
        filename="big.txt",
        purpose="assistants",
        expires_at=now() + 3600,
    )
    store.files.put_upload(upload)
    return upload


def _part(upload: Upload) -> UploadPart:
    return UploadPart(id=new_id("part"), created_at=now(), upload_id=upload.id)


def test_a_file_reads_back_with_where_its_bytes_are(store):
    file = _file(purpose="vision", expires_at=now() + 60)

    store.files.put_file(file, "files/p/file-1")

    assert store.files.get_file(file.id) == file
    assert store.files.content_key(file.id) == "files/p/file-1"


def test_a_deleted_file_is_gone_from_reads_and_both_lists(store):
    kept, deleted = _file(), _file()
    for file in (kept, deleted):
        store.files.put_file(file, f"key/{file.id}")

    store.files.delete_file(deleted.id)

    for call in (
        lambda: store.files.get_file(deleted.id),
        lambda: store.files.content_key(deleted.id),
        lambda: store.files.delete_file(deleted.id),
        lambda: store.files.get_file("file-../x"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.files.list_files(PageRequest()).data == [kept]
    assert store.files.list_files(PageRequest(), purpose="assistants").data == [kept]


def test_files_are_listed_in_pages_by_creation_all_of_them_or_those_of_one_purpose(store):
    made = [_file(purpose="assistants" if n % 2 else "vision") for n in range(9)]
    for file in made:
        store.files.put_file(file, f"key/{file.id}")

    pages_like_a_list(store.files.list_files, [f.id for f in made])
    pages_like_a_list(
        lambda page: store.files.list_files(page, "vision"), [f.id for f in made if f.purpose == "vision"]
    )
    assert store.files.list_files(PageRequest(), purpose="batch").data == []


def test_an_upload_takes_parts_while_it_is_pending(store):
    upload = _upload(store)
    first, second = _part(upload), _part(upload)

    store.files.add_part(upload.id, first, "parts/1", 6)
    store.files.add_part(upload.id, second, "parts/2", 4)

    assert store.files.get_upload(upload.id) == upload
    assert store.files.parts(upload.id) == {first.id: ("parts/1", 6), second.id: ("parts/2", 4)}
    assert store.files.parts(new_id("upload")) == {}


def test_a_completed_upload_makes_its_file_once(store):
    upload = _upload(store)
    file = _file(filename="big.txt")

    completed = store.files.complete_upload(upload.id, file, "files/p/big")

    assert (
        completed
        == store.files.get_upload(upload.id)
        == upload.model_copy(update={"status": "completed", "file": file})
    )
    assert (store.files.get_file(file.id), store.files.content_key(file.id)) == (file, "files/p/big")
    again = _file()
    with pytest.raises(InvalidRequest, match="The upload is completed; only a pending upload can be completed"):
        store.files.complete_upload(upload.id, again, "files/p/again")
    with pytest.raises(NotFound):
        store.files.get_file(again.id)
    with pytest.raises(InvalidRequest, match="The upload is completed: it takes no more parts") as refused:
        store.files.add_part(upload.id, _part(upload), "parts/late", 1)
    assert refused.value.param == "upload_id"
    assert store.files.parts(upload.id) == {}


def test_an_upload_ends_cancelled_or_expired_once_and_then_takes_nothing(store):
    cancelled, expired = _upload(store), _upload(store)

    assert store.files.end_upload(cancelled.id, "cancelled") == cancelled.model_copy(update={"status": "cancelled"})
    assert store.files.end_upload(expired.id, "expired").status == "expired"

    with pytest.raises(InvalidRequest, match="The upload is cancelled; only a pending upload can be expired"):
        store.files.end_upload(cancelled.id, "expired")
    with pytest.raises(InvalidRequest, match="The upload is expired; only a pending upload can be completed"):
        store.files.complete_upload(expired.id, _file(), "files/p/x")
    with pytest.raises(InvalidRequest, match="The upload is cancelled: it takes no more parts"):
        store.files.add_part(cancelled.id, _part(cancelled), "parts/x", 1)
    assert store.files.get_upload(cancelled.id).status == "cancelled"
    assert store.files.list_files(PageRequest()).data == []


def test_an_upload_the_project_does_not_have_is_not_found(store):
    missing = Upload(
        id=new_id("upload"), bytes=1, created_at=now(), filename="x", purpose="assistants", expires_at=now()
    )

    for call in (
        lambda: store.files.get_upload(missing.id),
        lambda: store.files.add_part(missing.id, _part(missing), "parts/x", 1),
        lambda: store.files.end_upload(missing.id, "cancelled"),
        lambda: store.files.complete_upload(missing.id, _file(), "files/x"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.files.list_files(PageRequest()).data == []
