"""What one AWS call asks IAM for: its actions, the resources' ARNs and the condition keys, as each service's
"Actions, resources, and condition keys" page in the Service Authorization Reference lists them.

Most operations are one action of the same name on one resource. The exceptions threadrunner meets are written
out: a DynamoDB transaction is authorized item by item as the single-item actions it holds (with
``dynamodb:EnclosingOperation``), a batch write once per table with every partition key in
``dynamodb:LeadingKeys``, a query with the partition key of its key condition, on the index when it names one;
S3's multipart and batch operations are ``s3:PutObject`` and ``s3:DeleteObject`` per object; ``lambda:Invoke`` is
``lambda:InvokeFunction`` on the (qualified) function, with its tags as ``aws:ResourceTag/...``; S3 Vectors'
QueryVectors needs ``s3vectors:GetVectors`` too when it filters or returns metadata; a task token's callback is
authorized on its state machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import ACCOUNT, REGION


@dataclass(frozen=True)
class Access:
    """One action on one resource, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def key(self) -> tuple[str, str, tuple[tuple[str, str | tuple[str, ...]], ...]]:
        return self.action, self.resource, tuple(sorted(self.context.items()))


@dataclass
class Lookups:
    """What the ARN of a request's resource needs from the account (the local stack answers from moto)."""

    table_keys: Callable[[str], tuple[str, dict[str, str]]]
    """A table's partition key attribute, and each index's: (``PK``, {``ThreadsByProject``: ``threads_of``})."""
    secret_arn: Callable[[str], str]
    """A secret's ARN from its name or ARN."""
    function_tags: Callable[[str], dict[str, str]]
    """A function's tags, from its unqualified ARN."""
    task_token_machine: Callable[[str], str]
    """The ARN of the state machine whose execution issued a task token."""
    resource_policy: Callable[[str], str | None] = lambda arn: None
    """The policy (JSON) of a resource made at run time, not by the template (a test's queue)."""


_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListMultipartUploads": "ListBucketMultipartUploads",
}
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def accesses(prefix: str, operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access]:
    """The accesses of one call: ``prefix`` is the service's IAM prefix (botocore's signing name)."""
    answer = _BY_SERVICE.get(prefix)
    found = answer(operation, params, lookups) if answer is not None else None
    return found if found is not None else [Access(f"{prefix}:{operation}", "*")]


# DynamoDB --------------------------------------------------------------------------------------------------


def _table_arn(table: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def _partition_value(attributes: Mapping[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    if not isinstance(value, Mapping) or not value:
        return None
    return str(next(iter(value.values())))


_EQUALITY = re.compile(r"([#:\w.]+)\s*=\s*([#:\w.]+)")


def _key_condition_partition(params: Mapping[str, Any], partition_key: str) -> str | None:
    """The partition key value a query's key condition names (``#pk = :pk``)."""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for left, right in _EQUALITY.findall(params.get("KeyConditionExpression") or ""):
        for attribute, placeholder in ((left, right), (right, left)):
            if names.get(attribute, attribute) == partition_key and placeholder in values:
                return _partition_value({partition_key: values[placeholder]}, partition_key)
    legacy = (params.get("KeyConditions") or {}).get(partition_key)
    if legacy and legacy.get("AttributeValueList"):
        return _partition_value({partition_key: legacy["AttributeValueList"][0]}, partition_key)
    return None


def _item_access(action: str, table: str, key: Mapping[str, Any], lookups: Lookups, **context: str) -> Access:
    partition_key, _ = lookups.table_keys(table.rsplit("/", 1)[-1])
    value = _partition_value(key, partition_key)
    keys: dict[str, str | tuple[str, ...]] = {**context}
    if value is not None:
        keys["dynamodb:LeadingKeys"] = (value,)
    return Access(f"dynamodb:{action}", _table_arn(table), keys)


def _dynamodb(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        key = params.get("Key") or params.get("Item") or {}
        return [_item_access(operation, params["TableName"], key, lookups)]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for entry in params.get("TransactItems", []):
            kind, request = next(iter(entry.items()))
            key = request.get("Key") or request.get("Item") or {}
            found.append(
                _item_access(
                    _TRANSACTION_ACTIONS[kind],
                    request["TableName"],
                    key,
                    lookups,
                    **{"dynamodb:EnclosingOperation": operation},
                )
            )
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):
        found = []
        for table, requests in (params.get("RequestItems") or {}).items():
            partition_key, _ = lookups.table_keys(table.rsplit("/", 1)[-1])
            if operation == "BatchGetItem":
                keys = list(requests.get("Keys", []))
            else:
                keys = [
                    (request.get("PutRequest") or {}).get("Item")
                    or (request.get("DeleteRequest") or {}).get("Key")
                    or {}
                    for request in requests
                ]
            values = tuple(v for key in keys if (v := _partition_value(key, partition_key)) is not None)
            found.append(Access(f"dynamodb:{operation}", _table_arn(table), {"dynamodb:LeadingKeys": values}))
        return found
    if operation in ("Query", "Scan") and "TableName" in params:
        table = params["TableName"]
        partition_key, indexes = lookups.table_keys(table.rsplit("/", 1)[-1])
        index = params.get("IndexName")
        resource = _table_arn(table) + (f"/index/{index}" if index else "")
        context: dict[str, str | tuple[str, ...]] = {}
        if operation == "Query":
            value = _key_condition_partition(params, indexes.get(index, partition_key) if index else partition_key)
            if value is not None:
                context["dynamodb:LeadingKeys"] = (value,)
        return [Access(f"dynamodb:{operation}", resource, context)]
    if "TableName" in params:
        return [Access(f"dynamodb:{operation}", _table_arn(params["TableName"]))]
    return None


# S3 and S3 Vectors -----------------------------------------------------------------------------------------


def _s3(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    bucket = params.get("Bucket")
    if bucket is None:
        return None
    action = "s3:" + _S3_ACTIONS.get(operation, operation)
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects", [])
        return [Access("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{entry['Key']}") for entry in objects]
    if operation == "CopyObject":
        source = params["CopySource"]
        source_arn = (
            f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"
            if isinstance(source, Mapping)
            else f"arn:aws:s3:::{str(source).lstrip('/').split('?', 1)[0]}"
        )
        return [Access("s3:GetObject", source_arn), Access("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}")]
    resource = f"arn:aws:s3:::{bucket}" + (f"/{params['Key']}" if "Key" in params else "")
    if params.get("Tagging") and action == "s3:PutObject":  # an object written with tags needs both actions
        return [Access(action, resource), Access("s3:PutObjectTagging", resource)]
    return [Access(action, resource)]


def _s3vectors(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    index = params.get("indexArn")
    if index is None and "vectorBucketName" in params:
        bucket = f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/{params['vectorBucketName']}"
        index = f"{bucket}/index/{params['indexName']}" if "indexName" in params else bucket
    resource = index or params.get("vectorBucketArn") or "*"
    found = [Access(f"s3vectors:{operation}", resource)]
    if operation == "QueryVectors" and (
        params.get("filter") or params.get("returnMetadata") or params.get("queryTexts")
    ):
        found.append(Access("s3vectors:GetVectors", resource))
    return found


# SQS, Step Functions, Lambda, EventBridge, Secrets Manager ---------------------------------------------------


def _sqs(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    name = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1] if "QueueUrl" in params else params.get("QueueName")
    if name is None:
        return None
    return [Access("sqs:" + _SQS_ACTIONS.get(operation, operation), f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]


def _states(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    if "taskToken" in params:
        return [Access(f"states:{operation}", lookups.task_token_machine(params["taskToken"]))]
    resource = params.get("executionArn") or params.get("stateMachineArn")
    return [Access(f"states:{operation}", resource)] if resource else None


def function_arn(name: str, qualifier: str | None = None) -> str:
    """A function's ARN from its name, partial or full ARN (with ``name:qualifier`` or ``Qualifier``)."""
    parts = name.split(":")
    if name.startswith("arn:"):
        base, rest = ":".join(parts[:7]), parts[7:]
    elif len(parts) >= 3:  # account:function:name[:qualifier]
        base, rest = f"arn:aws:lambda:{REGION}:{parts[0]}:function:{parts[2]}", parts[3:]
    else:
        base, rest = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{parts[0]}", parts[1:]
    qualifier = qualifier or (rest[0] if rest else None)
    return f"{base}:{qualifier}" if qualifier else base


def _lambda(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    if operation == "ListTags":
        return [Access("lambda:ListTags", function_arn(params["Resource"]))]
    if "FunctionName" not in params:
        return None
    arn = function_arn(params["FunctionName"], params.get("Qualifier"))
    action = "lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}"
    tags = lookups.function_tags(":".join(arn.split(":")[:7]))
    return [Access(action, arn, {f"aws:ResourceTag/{key}": value for key, value in tags.items()})]


def _events(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    if operation != "PutEvents":
        return None
    buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries", [])}
    return [
        Access(
            "events:PutEvents", bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
        )
        for bus in sorted(buses)
    ]


def _secretsmanager(operation: str, params: Mapping[str, Any], lookups: Lookups) -> list[Access] | None:
    if "SecretId" not in params:
        return None
    return [Access(f"secretsmanager:{operation}", lookups.secret_arn(params["SecretId"]))]


_BY_SERVICE: dict[str, Callable[[str, Mapping[str, Any], Lookups], list[Access] | None]] = {
    "dynamodb": _dynamodb,
    "s3": _s3,
    "s3vectors": _s3vectors,
    "sqs": _sqs,
    "states": _states,
    "lambda": _lambda,
    "events": _events,
    "secretsmanager": _secretsmanager,
}
