"""The OpenAPI description of the API, served at ``GET /v1/openapi.json`` without a key."""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from .wire import ErrorBody


@functools.cache
def document(app: APIGatewayHttpResolver) -> str:
    """The OpenAPI description of the API, from the routes' models, with the errors it really answers."""
    document = json.loads(app.get_openapi_json_schema(title="threadrunner", version="1", openapi_version="3.1.0"))
    error = {
        "description": "An error, in OpenAI's shape",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    document["components"]["schemas"].update(error_schema.pop("$defs", {}), ErrorBody=error_schema)
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    document["security"] = [{"bearer": []}]
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            responses.pop("422", None)  # validation problems answer 400 in the OpenAI shape
            for status in ("400", "401", "404", "409", "413", "415", "429"):
                responses[status] = error
    for schema in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(schema, None)
    return json.dumps(document)


def answer(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The document, as the handler answers API Gateway."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": document(app),
        "isBase64Encoded": False,
    }
