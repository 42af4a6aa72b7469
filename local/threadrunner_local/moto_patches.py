"""Every change the local stack makes to moto's internals, in one place: each can be installed and uninstalled.

moto runs the real ASL and the AWS APIs in-process, but not everything the way AWS does, nor as fast. These
patches close the gaps the local stack needs (docs/local-stack.md):

* :data:`ATOMIC_DYNAMODB`: moto checks a condition and then writes without a lock, so concurrent
  conditional writes can both succeed; and it rolls a failed transaction back from a copy of every
  table it touches; and it updates items in place while other requests' answers are being written. Each
  request under one lock, a copy of just the items a transaction names does the same.
* :data:`LAMBDA_IN_PROCESS`: Lambda invocations (from Step Functions or any client) call the real
  handlers through the :class:`~threadrunner_local.dispatch.Dispatcher`.
* :data:`RULES_TO_LAMBDA`: EventBridge rules deliver to Lambda targets too (moto delivers to SQS,
  logs and buses only), asynchronously, as EventBridge does.
* :data:`EXECUTION_STATUS_EVENTS`: Step Functions executions announce their end on the default bus
  (``aws.states``, ``Step Functions Execution Status Change``), so rules on them fire.
* :data:`QUERY_VECTORS`: S3 Vectors answers QueryVectors (moto has the other vector operations): the
  nearest vectors of an index, found exhaustively, with metadata filters.
* :data:`VECTOR_METADATA_LIMITS` (with :data:`INDEX_METADATA_CONFIGURATION`): PutVectors holds S3 Vectors'
  limits on a vector's metadata.
* :data:`SERVICE_LOOKUP`: the service a request is for is found once per host, not by listing moto's
  folders on every request.
* :data:`ITEM_SIZE`, :data:`STATE_SIZE`, :data:`LAMBDA_RESPONSE_SIZE`: DynamoDB's item, Step Functions' state
  and Lambda's response size limits, measured as AWS measures them (:mod:`.limits`).

The Lambda patches judge what they deliver: a task's invocation by the state machine's role, a rule's delivery
by its target's resource policy (:mod:`.enforcement`).

They reach into moto's internals, so they are written for one version of moto:
:func:`install` refuses any other (:data:`MOTO_VERSION`, pinned in pyproject.toml).
"""

from __future__ import annotations

import bisect
import copy
import datetime
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .dispatch import Dispatcher

MOTO_VERSION = "5.2.5"
"""The moto these patches were written against."""


class Patch:
    """One change to moto: installed at most once, uninstalled to give moto its own behaviour back."""

    name: str

    @property
    def installed(self) -> bool:
        raise NotImplementedError

    def install(self, dispatcher: Dispatcher) -> None:
        raise NotImplementedError

    def uninstall(self) -> None:
        raise NotImplementedError


@dataclass
class AttributePatch(Patch):
    """One replaced attribute of a moto class."""

    name: str
    locate: Callable[[], tuple[Any, str]]
    """The class and the attribute's name (found when installed: moto is imported late)."""
    replacement: Callable[[Any, Dispatcher], Any]
    """Builds the new attribute from the original and the dispatcher."""
    _saved: tuple[Any, str, Any] | None = field(default=None, init=False)

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self, dispatcher: Dispatcher) -> None:
        if self._saved is not None:
            return
        owner, attribute = self.locate()
        original = getattr(owner, attribute)
        setattr(owner, attribute, self.replacement(original, dispatcher))
        self._saved = (owner, attribute, original)

    def uninstall(self) -> None:
        if self._saved is None:
            return
        owner, attribute, original = self._saved
        setattr(owner, attribute, original)
        self._saved = None


# atomic DynamoDB -------------------------------------------------------------------------------------------

_DYNAMODB_LOCK = threading.RLock()
_DYNAMODB_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_get_items",
)


class _NoTableCopy:
    """What moto's DynamoDB module sees as ``copy`` during a transaction: its snapshot of whole tables is no copy."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value


class _AtomicDynamoDB(Patch):
    """Every DynamoDB request under one lock, and transactions rolled back from copies of their own items."""

    name = "atomic DynamoDB"

    def __init__(self) -> None:
        self._saved: tuple[Any, dict[str, Any], Any] | None = None

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self, dispatcher: Dispatcher) -> None:
        if self._saved is not None:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.responses import DynamoHandler

        originals = {name: getattr(DynamoDBBackend, name) for name in _DYNAMODB_OPERATIONS}

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
            saved = []
            for entry in transact_items:
                operation = next(iter(entry.values()))
                table = self.tables.get(operation.get("TableName"))
                if table is None:
                    continue
                key = operation.get("Key") or operation.get("Item", {})
                if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
                    continue  # moto refuses it; there is nothing to restore
                partition = DynamoType(key[table.hash_key_attr])
                sort = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                current = table.items.get(partition, {}).get(sort) if sort is not None else table.items.get(partition)
                saved.append((table, partition, sort, copy.deepcopy(current)))
            models.copy = _NoTableCopy  # type: ignore[assignment]
            try:
                return originals["transact_write_items"](self, transact_items)
            except Exception:
                for table, partition, sort, item in reversed(saved):
                    place = table.items[partition] if sort is not None else table.items
                    slot = sort if sort is not None else partition
                    if item is None:
                        place.pop(slot, None)
                    else:
                        place[slot] = item
                raise
            finally:
                models.copy = copy

        def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            # moto copies the item before updating it for the table's stream only: without one, no copy is made.
            table = self.tables.get(table_name)
            if table is None or table.stream_shard is not None:
                return originals["update_item"](self, table_name, *args, **kwargs)
            before = models.copy
            models.copy = _NoTableCopy  # type: ignore[assignment]
            try:
                return originals["update_item"](self, table_name, *args, **kwargs)
            finally:
                models.copy = before

        def locked(operation: Any) -> Any:
            @functools.wraps(operation)
            def under_lock(*args: Any, **kwargs: Any) -> Any:
                with _DYNAMODB_LOCK:
                    return operation(*args, **kwargs)

            return under_lock

        replaced = originals | {"transact_write_items": transact_write_items, "update_item": update_item}
        for name, operation in replaced.items():
            setattr(DynamoDBBackend, name, locked(operation))
        # moto updates items in place and writes an answer after its backend's call: the whole request under the
        # lock, or a read answered while an update changes the item fails ("dictionary changed size").
        answer = DynamoHandler.call_action
        DynamoHandler.call_action = locked(answer)  # type: ignore[method-assign]
        self._saved = (DynamoDBBackend, originals, answer)

    def uninstall(self) -> None:
        if self._saved is None:
            return
        from moto.dynamodb.responses import DynamoHandler

        owner, originals, answer = self._saved
        for name, original in originals.items():
            setattr(owner, name, original)
        DynamoHandler.call_action = answer  # type: ignore[method-assign]
        self._saved = None


ATOMIC_DYNAMODB = _AtomicDynamoDB()


# Lambda in-process -----------------------------------------------------------------------------------------


def _lambda_backend() -> tuple[Any, str]:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    return LambdaSimpleBackend, "invoke"


def _invoke_in_process(original: Any, dispatcher: Dispatcher) -> Any:
    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        asynchronous = (headers or {}).get("X-Amz-Invocation-Type") == "Event"
        payload, failed = dispatcher.invoke_payload(function_name, body or b"", asynchronous)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    return invoke


LAMBDA_IN_PROCESS = AttributePatch("Lambda in-process", _lambda_backend, _invoke_in_process)


# EventBridge rules to Lambda -------------------------------------------------------------------------------


def _rules() -> tuple[Any, str]:
    from moto.events.models import Rule

    return Rule, "send_to_targets"


def _send_to_lambda_too(original: Any, dispatcher: Dispatcher) -> Any:
    @functools.wraps(original)
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        allowed = [target for target in self.targets if _may_deliver(dispatcher, self.arn, target["Arn"])]
        functions = [target for target in allowed if ":lambda:" in target["Arn"]]
        others = copy.copy(self)  # moto refuses the targets it does not know, so it gets the others only
        others.targets = [target for target in allowed if target not in functions]
        original(others, original_event, transform_input)
        if functions and self.event_pattern.matches_event(original_event):
            event = {**original_event, "time": _iso_time(original_event.get("time"))}
            for target in functions:
                dispatcher.invoke_async(target["Arn"], event)

    return send_to_targets


def _may_deliver(dispatcher: Dispatcher, rule_arn: str, target: str) -> bool:
    """Whether the target's resource policy lets EventBridge deliver this rule's events (a Lambda permission, a
    queue policy with ``aws:SourceArn``); a refused delivery is logged and dropped."""
    from .access import Access, function_arn

    if dispatcher.enforcer is None or not (":lambda:" in target or ":sqs:" in target):
        return True
    access = (
        Access("lambda:InvokeFunction", function_arn(target))
        if ":lambda:" in target
        else Access("sqs:SendMessage", target)
    )
    return dispatcher.enforcer.judge_delivery("events.amazonaws.com", rule_arn, access) is None


def _iso_time(value: Any) -> Any:
    """moto stamps events with Unix seconds; EventBridge uses ISO 8601."""
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


RULES_TO_LAMBDA = AttributePatch("EventBridge rules to Lambda", _rules, _send_to_lambda_too)


# Step Functions execution status changes -------------------------------------------------------------------


def _executions() -> tuple[Any, str]:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    return BaseExecutionWorkerCommunication, "terminated"


def _announce_the_end(original: Any, dispatcher: Dispatcher) -> Any:
    @functools.wraps(original)
    def terminated(self: Any) -> None:
        from moto.events.models import events_backends

        original(self)
        execution = self.execution
        detail = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": execution.exec_status.value,
            "startDate": int(execution.start_date.timestamp() * 1000),
            "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
            "input": json.dumps(execution.input_data),
            "error": getattr(execution, "error", None),
            "cause": getattr(execution, "cause", None),
        }
        events_backends[execution.account_id][execution.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Detail": json.dumps(detail),
                    "Resources": [execution.exec_arn],
                    "EventBusName": "default",
                }
            ]
        )

    return terminated


EXECUTION_STATUS_EVENTS = AttributePatch("Step Functions execution status events", _executions, _announce_the_end)


def _matches(metadata: dict[str, Any], condition: Any) -> bool:
    """S3 Vectors' metadata filter, in the part threadrunner uses: equality, ``$eq``, ``$in``, ``$and``."""
    if not isinstance(condition, dict):
        return True
    for name, wanted in condition.items():
        if name == "$and":
            if not all(_matches(metadata, part) for part in wanted):
                return False
        elif isinstance(wanted, dict) and "$in" in wanted:
            if metadata.get(name) not in wanted["$in"]:
                return False
        elif metadata.get(name) != (wanted.get("$eq") if isinstance(wanted, dict) else wanted):
            return False
    return True


def _distance(metric: str, one: list[float], other: list[float]) -> float:
    if metric == "euclidean":
        return sum((a - b) ** 2 for a, b in zip(one, other, strict=True)) ** 0.5
    dot = sum(a * b for a, b in zip(one, other, strict=True))
    norms = (sum(a * a for a in one) ** 0.5) * (sum(b * b for b in other) ** 0.5)
    return 1.0 - dot / norms if norms else 1.0


def _query_vectors(response: Any) -> Any:
    """S3 Vectors' QueryVectors (moto 5.2.5 has none): the nearest ``topK`` vectors of an index, exhaustively."""
    from moto.core.responses import ActionResult

    index = response.s3vectors_backend.get_index(
        response._get_param("vectorBucketName"), response._get_param("indexName"), response._get_param("indexArn")
    )
    query = response._get_param("queryVector")["float32"]
    condition = response._get_param("filter")
    found = sorted(
        (_distance(index.distance_metric, query, vector.data["float32"]), key, vector)
        for key, vector in index.vectors.items()
        if _matches(vector.metadata or {}, condition)
    )[: int(response._get_param("topK"))]
    with_metadata = response._get_bool_param("returnMetadata", False)
    with_distance = response._get_bool_param("returnDistance", False)
    return ActionResult(
        {
            "vectors": [
                {"key": key}
                | ({"metadata": vector.metadata} if with_metadata else {})
                | ({"distance": distance} if with_distance else {})
                for distance, key, vector in found
            ],
            "distanceMetric": index.distance_metric,
        }
    )


class _QueryVectors(Patch):
    """S3 Vectors' QueryVectors: the operation and its route (moto 5.2.5 has neither)."""

    name = "S3 Vectors QueryVectors"
    _route = "{0}/QueryVectors$"

    @property
    def installed(self) -> bool:
        from moto.s3vectors import urls
        from moto.s3vectors.responses import S3VectorsResponse

        return self._route in urls.url_paths and hasattr(S3VectorsResponse, "query_vectors")

    def install(self, dispatcher: Dispatcher) -> None:
        from moto.s3vectors import urls
        from moto.s3vectors.responses import S3VectorsResponse

        urls.url_paths[self._route] = S3VectorsResponse.dispatch
        S3VectorsResponse.query_vectors = _query_vectors  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        from moto.s3vectors import urls
        from moto.s3vectors.responses import S3VectorsResponse

        urls.url_paths.pop(self._route, None)
        if hasattr(S3VectorsResponse, "query_vectors"):
            del S3VectorsResponse.query_vectors


QUERY_VECTORS = _QueryVectors()

MAX_VECTOR_METADATA_BYTES = 40 * 1024
"""S3 Vectors' limit on a vector's metadata, filterable and non-filterable together (40 KB)."""
MAX_FILTERABLE_METADATA_BYTES = 2 * 1024
"""S3 Vectors' limit on a vector's filterable metadata (2 KB)."""
MAX_METADATA_KEYS = 50
"""S3 Vectors' limit on the metadata keys of a vector."""


def _create_index() -> tuple[Any, str]:
    from moto.s3vectors.responses import S3VectorsResponse

    return S3VectorsResponse, "create_index"


def _keeping_non_filterable_keys(original: Any, dispatcher: Dispatcher) -> Any:
    @functools.wraps(original)
    def create_index(response: Any) -> Any:
        result = original(response)
        name, bucket_arn = response._get_param("indexName"), response._get_param("vectorBucketArn")
        index = response.s3vectors_backend.get_index(
            response._get_param("vectorBucketName"), name, f"{bucket_arn}/index/{name}" if bucket_arn else None
        )
        configuration = response._get_param("metadataConfiguration") or {}
        index.non_filterable_keys = frozenset(configuration.get("nonFilterableMetadataKeys") or ())
        return result

    return create_index


INDEX_METADATA_CONFIGURATION = AttributePatch(
    "S3 Vectors indexes keep their non-filterable metadata keys", _create_index, _keeping_non_filterable_keys
)
"""moto 5.2.5 drops an index's ``metadataConfiguration``; :data:`VECTOR_METADATA_LIMITS` needs its keys."""


def _metadata_bytes(metadata: dict[str, Any]) -> int:
    """The UTF-8 bytes of the keys and values (a value not a string as its JSON)."""
    return sum(
        len(key.encode()) + len((value if isinstance(value, str) else json.dumps(value)).encode())
        for key, value in metadata.items()
    )


def _put_vectors() -> tuple[Any, str]:
    from moto.s3vectors.responses import S3VectorsResponse

    return S3VectorsResponse, "put_vectors"


def _within_metadata_limits(original: Any, dispatcher: Dispatcher) -> Any:
    @functools.wraps(original)
    def put_vectors(response: Any) -> Any:
        from moto.s3vectors.exceptions import ValidationError

        index = response.s3vectors_backend.get_index(
            response._get_param("vectorBucketName"), response._get_param("indexName"), response._get_param("indexArn")
        )
        non_filterable: frozenset[str] = getattr(index, "non_filterable_keys", frozenset())
        for vector in response._get_param("vectors") or []:
            metadata = vector.get("metadata") or {}
            filterable = {key: value for key, value in metadata.items() if key not in non_filterable}
            if len(metadata) > MAX_METADATA_KEYS:
                raise ValidationError(f"Invalid record for key '{vector['key']}': more than 50 metadata keys")
            if _metadata_bytes(metadata) > MAX_VECTOR_METADATA_BYTES:
                raise ValidationError(f"Invalid record for key '{vector['key']}': metadata is larger than 40 KB")
            if _metadata_bytes(filterable) > MAX_FILTERABLE_METADATA_BYTES:
                raise ValidationError(
                    f"Invalid record for key '{vector['key']}': filterable metadata is larger than 2 KB"
                )
        return original(response)

    return put_vectors


VECTOR_METADATA_LIMITS = AttributePatch("S3 Vectors' metadata limits per vector", _put_vectors, _within_metadata_limits)
"""PutVectors refuses a vector whose metadata is over S3 Vectors' limits (40 KB in all, 2 KB filterable, 50 keys),
as AWS does and moto 5.2.5 does not: a chunk too large for AWS fails here too."""

# Service lookup once per host ------------------------------------------------------------------------------


def _service_lookup() -> tuple[Any, str]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    return DomainDispatcherApplication, "get_backend_for_host"


def _once_per_host(original: Any, dispatcher: Dispatcher) -> Any:
    found: dict[str | None, Any] = {}

    @functools.wraps(original)
    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:
            found[host] = original(self, host)
        return found[host]

    return get_backend_for_host


SERVICE_LOOKUP = AttributePatch("service lookup once per host", _service_lookup, _once_per_host)
"""moto finds the service of every request by listing its own package's folders and matching hundreds of URL
patterns, under one lock: the answer for a host never changes, so it is found once."""


# Queries read their partition ------------------------------------------------------------------------------


def _table_query() -> tuple[Any, str]:
    from moto.dynamodb.models.table import Table

    return Table, "query"


class _Partition:
    """A table as a query of its base key sees it: the items of one partition only, and of those, where the sort
    key is a string, only the ones the query can reach (its key condition, its start key, its limit and one more),
    found by bisection as DynamoDB finds them; moto goes through what is left as it would through the table."""

    def __init__(self, table: Any, hash_key: Any, query: tuple[Any, list[Any], Any, dict[str, Any], bool]) -> None:
        self._table, self._hash_key, self._query = table, hash_key, query

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> Any:
        found = self._table.items.get(self._hash_key)
        if found is None:
            return iter(())
        if not isinstance(found, dict):
            return iter((found,))
        comparison, values, limit, start, forward = self._query
        if self._table.range_key_type != "S" or any(value.type != "S" for value in values):
            return iter(found.values())
        keyed = sorted(found.items(), key=lambda pair: pair[0].value)
        keys = [key.value for key, _ in keyed]
        bounds = _bounds(keys, comparison, [value.value for value in values])
        if bounds is None:
            return iter(found.values())
        low, high = bounds
        after = (start or {}).get(self._table.range_key_attr, {}).get("S")
        if after is not None:
            low, high = (
                (max(low, bisect.bisect_right(keys, after)), high)
                if forward
                else (low, min(high, bisect.bisect_left(keys, after)))
            )
        if limit:  # the page, and the item after it: moto learns from it that there is more to read
            low, high = (low, min(len(keys), low + limit + 1)) if forward else (max(0, high - limit - 1), high)
        return iter([item for _, item in keyed[low:high]])


def _bounds(keys: list[str], comparison: str | None, values: list[str]) -> tuple[int, int] | None:
    """The slice of the sorted ``keys`` a key condition holds (``None``: a condition it does not know)."""
    left, right = bisect.bisect_left, bisect.bisect_right
    match _OPERATORS.get(comparison or "", comparison), values:
        case None, []:
            return 0, len(keys)
        case "EQ", [value]:
            return left(keys, value), right(keys, value)
        case "LT", [value]:
            return 0, left(keys, value)
        case "LE", [value]:
            return 0, right(keys, value)
        case "GT", [value]:
            return right(keys, value), len(keys)
        case "GE", [value]:
            return left(keys, value), len(keys)
        case "BEGINS_WITH", [prefix]:
            return left(keys, prefix), left(keys, prefix + "\U0010ffff")
        case "BETWEEN", [low, high]:
            return left(keys, low), right(keys, high)
    return None


_OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
"""moto names a key condition's comparison by its operator or by its name."""


def _partition_only(original: Any, dispatcher: Dispatcher) -> Any:
    @functools.wraps(original)
    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: list[Any],
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        arguments = (range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward, *args)
        if kwargs.get("index_name", args[1] if len(args) > 1 else None):
            return original(self, hash_key, *arguments, **kwargs)
        seen = (range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward is not False)
        return original(_Partition(self, hash_key, seen), hash_key, *arguments, **kwargs)

    return query


QUERY_PARTITION = AttributePatch("queries read their partition", _table_query, _partition_only)
"""moto answers a query of the base table by sorting and going through every item of the table: a page of a
thread's messages then costs as much as the table holds. A query names its partition, and a page of it is a
slice of its sort keys: that slice is what it reads."""


# Step Functions' Lambda tasks in-process --------------------------------------------------------------------


def _lambda_tasks() -> tuple[Any, str]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    return lambda_eval_utils, "_invoke_lambda_function"


def _tasks_in_process(original: Any, dispatcher: Dispatcher) -> Any:
    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        target = str(parameters["FunctionName"])
        _judge_task(dispatcher, state_credentials.role_arn, target)
        name = target.split(":")[6] if target.startswith("arn:") else target.split(":")[0]  # no alias
        asynchronous = parameters.get("InvocationType") == "Event"
        payload, failed = dispatcher.invoke_payload(name, parameters.get("Payload") or b"", asynchronous)
        try:
            body: Any = json.loads(payload) if payload else None
        except ValueError:
            body = payload.decode("utf-8", "replace")
        answer = {"StatusCode": 202 if asynchronous else 200, "Payload": body, "ExecutedVersion": "$LATEST"}
        return answer | ({"FunctionError": "Unhandled"} if failed else {})

    return invoke


def _judge_task(dispatcher: Dispatcher, role_arn: str, target: str) -> None:
    """The state machine's role must allow the invocation: a refusal fails the task as Step Functions fails it
    (``Lambda.AccessDeniedException``, the Lambda API's error as its cause)."""
    from botocore.exceptions import ClientError

    from .access import accesses

    enforcer = dispatcher.enforcer
    if enforcer is None:
        return
    principal = enforcer.stack.principal_of(role_arn)
    denial = enforcer.judge(principal, accesses("lambda", "Invoke", {"FunctionName": target}, enforcer.lookups))
    if denial is not None:
        error = {"Code": "AccessDeniedException", "Message": denial.message}
        metadata = {"HTTPStatusCode": 403, "RequestId": "local"}
        raise ClientError({"Error": error, "ResponseMetadata": metadata}, "Invoke")


LAMBDA_TASKS_IN_PROCESS = AttributePatch("Lambda tasks in-process", _lambda_tasks, _tasks_in_process)
"""The loop's Task states call their handlers directly, as :data:`LAMBDA_IN_PROCESS` does for HTTP invocations:
moto would build a boto3 client for each task and call itself over HTTP."""


# Definitions and paths parsed once --------------------------------------------------------------------------


def _asl_parser() -> tuple[Any, str]:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return AmazonStateLanguageParser, "parse"


def _tree_parsed_once(original: Any, dispatcher: Dispatcher) -> Any:
    programs: dict[str, tuple[Any, Any]] = {}
    lock = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        with lock:
            if definition not in programs:
                program, tree = original(definition)
                _give_heap_keys(program, set())
                programs[definition] = program, tree
            return programs[definition]

    return staticmethod(parse)


def _give_heap_keys(value: Any, seen: set[int]) -> None:
    """Give every component of a program its heap key now: it is made on first use otherwise, and two
    executions using the program at once could each make one."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, EvalComponent):
        value.heap_key  # noqa: B018 - made on first read
    if isinstance(value, Component):
        children: Any = vars(value).values()
    elif isinstance(value, list | tuple | set | frozenset):
        children = value
    elif isinstance(value, dict):
        children = value.values()
    else:
        return
    for child in children:
        _give_heap_keys(child, seen)


ASL_PARSED_ONCE = AttributePatch("state machine programs made once", _asl_parser, _tree_parsed_once)
"""moto parses the state machine's definition with ANTLR and makes its program (its states' objects) at every
execution's start. A program is read, never changed, by its executions: what an execution does (its retries'
counts included) is kept in the execution's environment, under the components' heap keys."""


def _json_paths() -> tuple[Any, str]:
    import jsonpath_ng.ext

    return jsonpath_ng.ext, "parse"


def _step_functions_json_paths() -> tuple[Any, str]:
    from moto.stepfunctions.parser.asl.utils import json_path

    return json_path, "parse"


def _parsed_once(original: Any, dispatcher: Dispatcher) -> Any:
    return functools.lru_cache(maxsize=4096)(original)


JSON_PATHS_PARSED_ONCE = AttributePatch("JSON paths parsed once", _json_paths, _parsed_once)
"""jsonpath-ng builds a parser (reading its grammar's tables) for every path it parses: EventBridge does it for
every event and target, the ASL for every path it reads."""
STEP_FUNCTIONS_JSON_PATHS_PARSED_ONCE = AttributePatch(
    "Step Functions' JSON paths parsed once", _step_functions_json_paths, _parsed_once
)


def _update_expressions() -> tuple[Any, str]:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    return UpdateExpressionParser, "make"


def _made_once(original: Any, dispatcher: Dispatcher) -> Any:
    return staticmethod(functools.lru_cache(maxsize=4096)(original))


UPDATE_EXPRESSIONS_PARSED_ONCE = AttributePatch(
    "DynamoDB update expressions parsed once", _update_expressions, _made_once
)
"""moto parses an UpdateItem's expression twice per request (to check its placeholders, then to apply it). The
syntax tree is only read: what applies it works on a copy (moto's validator copies it first)."""


def _method_names() -> tuple[Any, str]:
    from moto.core import responses

    return responses, "method_names_from_class"


METHOD_NAMES_ONCE = AttributePatch("handler methods listed once", _method_names, _parsed_once)
"""moto lists its handler class's methods with ``inspect.getmembers`` on every request."""


# DynamoDB's answers written as JSON ------------------------------------------------------------------------

_DATA_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _action_result() -> tuple[Any, str]:
    from moto.core.responses import ActionResult

    return ActionResult, "execute_result"


def _as_json(original: Any, dispatcher: Dispatcher) -> Any:
    import base64
    import uuid

    members: dict[str, frozenset[str]] = {}

    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        if (
            context.service_model.service_name != "dynamodb"
            or operation.name not in _DATA_OPERATIONS
            or not isinstance(self.result, dict)
        ):
            return original(self, context)
        if operation.name not in members:
            members[operation.name] = frozenset(operation.output_shape.members)
        kept = {key: value for key, value in self.result.items() if key in members[operation.name]}
        body = json.dumps(kept, default=lambda value: base64.b64encode(value).decode())
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-requestid": uuid.uuid4().hex}
        return 200, headers, body

    return execute_result


DYNAMODB_ANSWERS_AS_JSON = AttributePatch("DynamoDB's answers written as JSON", _action_result, _as_json)
"""moto writes every answer by walking the operation's output shape value by value, which costs more than the
operation itself for items of any size. The answers of DynamoDB's data operations are already in their wire
shape (attribute values, counts), but for the keys the shape does not have: those are dropped, the rest written
as JSON, binary values in base64, as the walk writes them."""


# Sizes as AWS measures them ----------------------------------------------------------------------------------


def _item_attributes() -> tuple[Any, str]:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    return LimitedSizeDict, "__setitem__"


def _item_size_exact(original: Any, dispatcher: Dispatcher) -> Any:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType

    from . import limits

    def __setitem__(self: dict[str, Any], key: str, value: Any) -> None:
        if isinstance(value, DynamoType):
            attributes = [(name, v) for name, v in self.items() if name != key and isinstance(v, DynamoType)]
            if limits.item_size([*attributes, (key, value)]) > limits.DYNAMODB_ITEM_BYTES:
                raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    return __setitem__


ITEM_SIZE = AttributePatch("DynamoDB item size", _item_attributes, _item_size_exact)
"""moto refuses an item over 405,000 bytes of its own count (a number counted by its digits, lists and maps
without their overhead); DynamoDB's limit is 409,600 bytes as it counts (:func:`.limits.item_size`)."""


class _StateSize(Patch):
    """Step Functions' payload limit as AWS applies it: moto refuses a state of exactly 256 KiB (AWS takes it) and
    measures a string state without its quotes."""

    name = "Step Functions state size"
    _modules = (
        "moto.stepfunctions.parser.asl.component.state.state",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
    )

    def __init__(self) -> None:
        self._saved: list[tuple[Any, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def install(self, dispatcher: Dispatcher) -> None:
        import importlib

        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        from . import limits

        if self._saved:
            return

        def is_within_size_quota(value: Any) -> bool:
            # A state's data as the JSON it is (moto measured a string state without its quotes).
            return len(to_json_str(value, separators=(",", ":")).encode("utf-8")) <= limits.STATE_PAYLOAD_BYTES

        for name in self._modules:
            module = importlib.import_module(name)
            self._saved.append((module, module.__dict__["is_within_size_quota"]))
            setattr(module, "is_within_size_quota", is_within_size_quota)  # noqa: B010 - mypy sees no such attribute

    def uninstall(self) -> None:
        for module, original in self._saved:
            setattr(module, "is_within_size_quota", original)  # noqa: B010
        self._saved = []


STATE_SIZE = _StateSize()


def _lambda_answers() -> tuple[Any, str]:
    from moto.awslambda import responses

    return responses, "sys"


def _measured_by_the_dispatcher(original: Any, dispatcher: Dispatcher) -> Any:
    import types

    return types.SimpleNamespace(getsizeof=lambda value: 0)


LAMBDA_RESPONSE_SIZE = AttributePatch("Lambda response size", _lambda_answers, _measured_by_the_dispatcher)
"""moto replaces an answer whose ``sys.getsizeof`` passes 6,000,000 with Lambda's ``Function.ResponseSizeTooLarge``;
the dispatcher measures the answer's bytes against Lambda's 6,291,556 instead (:mod:`.limits`), and moto's module
sees a ``sys`` whose ``getsizeof`` finds nothing too large."""


ALL = (
    ITEM_SIZE,
    STATE_SIZE,
    LAMBDA_RESPONSE_SIZE,
    ATOMIC_DYNAMODB,
    LAMBDA_IN_PROCESS,
    RULES_TO_LAMBDA,
    EXECUTION_STATUS_EVENTS,
    QUERY_VECTORS,
    INDEX_METADATA_CONFIGURATION,
    VECTOR_METADATA_LIMITS,
    SERVICE_LOOKUP,
    QUERY_PARTITION,
    LAMBDA_TASKS_IN_PROCESS,
    ASL_PARSED_ONCE,
    JSON_PATHS_PARSED_ONCE,
    STEP_FUNCTIONS_JSON_PATHS_PARSED_ONCE,
    METHOD_NAMES_ONCE,
    DYNAMODB_ANSWERS_AS_JSON,
    UPDATE_EXPRESSIONS_PARSED_ONCE,
)


def check_version(version: str | None = None) -> None:
    """Refuse a moto the patches were not written for: its internals may have moved."""
    import moto

    found = version or moto.__version__
    if found != MOTO_VERSION:
        raise RuntimeError(
            f"The local stack patches moto {MOTO_VERSION}'s internals, and moto {found} is installed: "
            "check local/threadrunner_local/moto_patches.py against it, then update MOTO_VERSION."
        )


def install(dispatcher: Dispatcher) -> None:
    """Install every patch (each once, however often this is called)."""
    check_version()
    for patch in ALL:
        patch.install(dispatcher)


def uninstall() -> None:
    """Give moto back its own behaviour."""
    for patch in reversed(ALL):
        patch.uninstall()
