"""``/v1/files`` and ``/v1/uploads``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import files
from ..app.requests.files import UploadComplete, UploadCreate
from ..domain.files import FileObject, Upload, UploadPart, content_disposition
from . import context, multipart
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


@router.post("/v1/files", summary="Upload a file (multipart: file, purpose)")
def create_file() -> FileObject:
    fields = multipart.form(router.current_event)
    upload = multipart.required(fields, "file")
    purpose = multipart.required(fields, "purpose").text
    filename = (upload.filename or "file")[:512]
    return files.create_file(context.stores(router), context.contents(router), filename, purpose, upload.value)


@router.get("/v1/files", summary="List files")
def list_files(
    purpose: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[FileObject]:
    stores = context.stores(router)
    kind = files.check_purpose(purpose) if purpose else None
    return ListObject.of(stores.files.list_files(page(limit, order, after, before), kind))


@router.get("/v1/files/<file_id>", summary="Retrieve a file")
def retrieve_file(file_id: str) -> FileObject:
    return context.stores(router).files.get_file(file_id)


@router.get(
    "/v1/files/<file_id>/content",
    summary="Retrieve a file's content",
    responses={200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}}},
)
def file_content(file_id: str):  # not annotated: the resolver would read the bytes as JSON
    file, data = files.content(context.stores(router), context.contents(router), file_id)
    if isinstance(data, str):  # larger than an answer carries: where to read it, for a few minutes
        return Response(status_code=307, headers={"Location": data}, body="")
    return Response(
        status_code=200,
        content_type="application/octet-stream",
        body=data,
        headers={"Content-Disposition": content_disposition(file.filename)},
    )


@router.delete("/v1/files/<file_id>", summary="Delete a file")
def delete_file(file_id: str) -> Deleted:
    files.delete_file(context.stores(router), context.contents(router), context.jobs(router), file_id)
    return Deleted(id=file_id, object="file")


@router.post("/v1/uploads", summary="Create an upload")
def create_upload(body: Annotated[UploadCreate, Body()]) -> Upload:
    return files.create_upload(context.stores(router), body)


@router.post("/v1/uploads/<upload_id>/parts", summary="Add a part to an upload (multipart: data)")
def add_upload_part(upload_id: str) -> UploadPart:
    data = multipart.required(multipart.form(router.current_event), "data").value
    return files.add_part(context.stores(router), context.contents(router), upload_id, data)


@router.post("/v1/uploads/<upload_id>/complete", summary="Complete an upload")
def complete_upload(upload_id: str, body: Annotated[UploadComplete, Body()]) -> Upload:
    return files.complete_upload(context.stores(router), context.contents(router), upload_id, body)


@router.post("/v1/uploads/<upload_id>/cancel", summary="Cancel an upload")
def cancel_upload(upload_id: str) -> Upload:
    return files.cancel_upload(context.stores(router), context.contents(router), upload_id)
