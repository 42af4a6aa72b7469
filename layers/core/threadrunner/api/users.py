"""``/v1/users``: one thread per end user, a threadrunner extension (docs/users-and-events.md)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BeforeValidator

from ..app import users
from ..app.requests.users import UserMessageCreate
from ..domain.message import Message
from ..domain.run import Run
from ..domain.user import QueuedUserMessage, User, UserId, user_ref
from .dependencies import RunControlDep, SettingsDep, StoresDep
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()

_USER_IN_PATH = re.compile(r"(/users/)([^/]+)")


def without_user_ids(path: str) -> str:
    """A request path as logs show it: ``/v1/users/alice@x.com/messages`` becomes ``/v1/users/user_.../messages``."""
    return _USER_IN_PATH.sub(lambda match: match.group(1) + user_ref(unquote(match.group(2))), path)


UserIdPath = Annotated[
    UserId,
    BeforeValidator(unquote),  # API Gateway hands the path over percent-encoded: alice%40x.com is alice@x.com
    Path(description="Your id of the user: 1 to 128 letters, digits and . _ : @ + = -"),
]


@router.post("/v1/users/<user_id>/messages", summary="Send a user's message (extension)")
def post_user_message(
    user_id: UserIdPath,
    body: Annotated[UserMessageCreate, Body()],
    stores: StoresDep,
    control: RunControlDep,
    settings: SettingsDep,
) -> Response[Run | QueuedUserMessage]:
    answer = users.post_user_message(stores, control, user_id, body, settings.run_defaults)
    headers = {"openai-poll-after-ms": str(settings.poll_after_ms)}
    return Response(status_code=202, content_type="application/json", body=answer, headers=headers)


@router.get("/v1/users/<user_id>", summary="Retrieve a user (extension)")
def retrieve_user(user_id: UserIdPath, stores: StoresDep) -> User:
    return users.get_user(stores, user_id)


@router.get("/v1/users/<user_id>/messages", summary="List a user's messages (extension)")
def list_user_messages(
    user_id: UserIdPath,
    stores: StoresDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[Message]:
    return ListObject.of(users.list_user_messages(stores, user_id, page(limit, order, after, before)))


@router.delete("/v1/users/<user_id>", summary="Delete a user and the user's thread (extension)")
def delete_user(user_id: UserIdPath, stores: StoresDep, control: RunControlDep) -> Deleted:
    users.delete_user(stores, control, user_id)
    return Deleted(id=user_id, object="user.deleted")
