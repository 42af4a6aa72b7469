"""``/v1/assistants``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from .. import service
from ..domain.assistant import Assistant
from . import context
from .requests import AssistantCreate

router = APIGatewayHttpRouter()


@router.post("/v1/assistants", summary="Create an assistant")
def create_assistant(body: Annotated[AssistantCreate, Body()]) -> Assistant:
    return service.create_assistant(context.store(router), body)


@router.get("/v1/assistants/<assistant_id>", summary="Retrieve an assistant")
def retrieve_assistant(assistant_id: str) -> Assistant:
    return context.store(router).get_assistant(assistant_id)
