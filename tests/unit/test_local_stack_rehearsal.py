"""What the local stack's rehearsal of the deploy asks IAM for each call, and how it measures the services' sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadrunner_local import least_privilege, limits, roles, routes
from threadrunner_local.access import Access, Lookups, accesses, function_arn
from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[2]
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/threadrunner-Table"
LOOKUPS = Lookups(
    table_keys=lambda table: ("PK", {"ThreadsByProject": "threads_of"}),
    secret_arn=lambda secret: f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret}-AbCdEf",
    function_tags=lambda arn: {"threadrunner-tool": "acme"} if arn.endswith(":tool") else {},
    task_token_machine=lambda token: "arn:aws:states:us-east-1:123456789012:stateMachine:loop",
)


# What a call asks for -------------------------------------------------------------------------------------


def test_a_transaction_asks_for_each_items_own_action_and_partition():
    found = accesses(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "threadrunner-Table", "Item": {"PK": {"S": "P#a#THREAD#1"}, "SK": {"S": "x"}}}},
                {"ConditionCheck": {"TableName": "threadrunner-Table", "Key": {"PK": {"S": "P#a"}, "SK": {"S": "y"}}}},
            ]
        },
        LOOKUPS,
    )
    within = {"dynamodb:EnclosingOperation": "TransactWriteItems"}
    assert found == [
        Access("dynamodb:PutItem", TABLE, {**within, "dynamodb:LeadingKeys": ("P#a#THREAD#1",)}),
        Access("dynamodb:ConditionCheckItem", TABLE, {**within, "dynamodb:LeadingKeys": ("P#a",)}),
    ]


def test_a_batch_write_asks_once_per_table_with_every_partition_key():
    requests = [
        {"DeleteRequest": {"Key": {"PK": {"S": "P#a#THREAD#1"}, "SK": {"S": "m1"}}}},
        {"PutRequest": {"Item": {"PK": {"S": "P#b"}, "SK": {"S": "x"}}}},
    ]
    found = accesses("dynamodb", "BatchWriteItem", {"RequestItems": {"threadrunner-Table": requests}}, LOOKUPS)
    assert found == [Access("dynamodb:BatchWriteItem", TABLE, {"dynamodb:LeadingKeys": ("P#a#THREAD#1", "P#b")})]


def test_a_query_of_an_index_asks_for_the_index_with_its_partition_key():
    query = {
        "TableName": "threadrunner-Table",
        "IndexName": "ThreadsByProject",
        "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
        "ExpressionAttributeNames": {"#pk": "threads_of", "#sk": "id"},
        "ExpressionAttributeValues": {":pk": {"S": "P#a#THREADS"}, ":low": {"S": "a"}, ":high": {"S": "z"}},
    }
    assert accesses("dynamodb", "Query", query, LOOKUPS) == [
        Access("dynamodb:Query", TABLE + "/index/ThreadsByProject", {"dynamodb:LeadingKeys": ("P#a#THREADS",)})
    ]


def test_an_invocation_asks_for_the_qualified_function_with_its_tags():
    found = accesses(
        "lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:tool"}, LOOKUPS
    )
    assert found == [
        Access(
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:123456789012:function:tool",
            {"aws:ResourceTag/threadrunner-tool": "acme"},
        )
    ]
    assert (
        function_arn("threadrunner-Api", "live")
        == "arn:aws:lambda:us-east-1:123456789012:function:threadrunner-Api:live"
    )
    assert function_arn("arn:aws:lambda:us-east-1:1:function:f:live") == "arn:aws:lambda:us-east-1:1:function:f:live"


def test_a_vector_query_that_filters_or_returns_metadata_needs_get_vectors_too():
    index = "arn:aws:s3vectors:us-east-1:123456789012:bucket/b/index/keywords"
    plain = accesses("s3vectors", "QueryVectors", {"indexArn": index, "topK": 3}, LOOKUPS)
    filtered = accesses("s3vectors", "QueryVectors", {"indexArn": index, "filter": {"store": "vs_1"}}, LOOKUPS)
    assert [a.action for a in plain] == ["s3vectors:QueryVectors"]
    assert [a.action for a in filtered] == ["s3vectors:QueryVectors", "s3vectors:GetVectors"]


def test_s3_multipart_and_batch_deletes_ask_for_the_object_actions():
    upload = {"Bucket": "b", "Key": "P#a/f", "UploadId": "1", "PartNumber": 1}
    assert accesses("s3", "UploadPart", upload, LOOKUPS) == [Access("s3:PutObject", "arn:aws:s3:::b/P#a/f")]
    deleted = {"Bucket": "b", "Delete": {"Objects": [{"Key": "k1"}, {"Key": "k2"}]}}
    assert [a.resource for a in accesses("s3", "DeleteObjects", deleted, LOOKUPS)] == [
        "arn:aws:s3:::b/k1",
        "arn:aws:s3:::b/k2",
    ]


def test_an_object_written_with_tags_asks_for_the_tagging_action_too():
    tagged = {"Bucket": "b", "Key": "P#a/part", "Body": b"x", "Tagging": "threadrunner=upload-part"}
    assert [a.action for a in accesses("s3", "PutObject", tagged, LOOKUPS)] == ["s3:PutObject", "s3:PutObjectTagging"]
    plain = {"Bucket": "b", "Key": "P#a/f", "Body": b"x"}
    assert [a.action for a in accesses("s3", "PutObject", plain, LOOKUPS)] == ["s3:PutObject"]


def test_a_callback_asks_for_the_state_machine_whose_execution_issued_the_token():
    found = accesses("states", "SendTaskSuccess", {"taskToken": "t", "output": "{}"}, LOOKUPS)
    assert found == [Access("states:SendTaskSuccess", "arn:aws:states:us-east-1:123456789012:stateMachine:loop")]


def test_a_secret_named_by_its_name_is_judged_on_its_full_arn():
    found = accesses("secretsmanager", "GetSecretValue", {"SecretId": "threadrunner/model-api-key"}, LOOKUPS)
    assert found[0].resource.endswith(":secret:threadrunner/model-api-key-AbCdEf")


# Sizes ------------------------------------------------------------------------------------------------------


def test_an_eventbridge_entry_is_measured_as_the_eventbridge_guide_counts_it():
    entry = {"Time": 1, "Source": "é", "DetailType": "type", "Detail": '{"a":1}', "Resources": ["arn:x", "arn:yy"]}
    assert limits.entry_size(entry) == 14 + 2 + 4 + 7 + 5 + 6


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "héllo"}, 6),
        ({"N": "123.45"}, 4),  # five significant digits: 3 bytes, and 1
        ({"N": "-0.000100"}, 2),  # leading and trailing zeros do not count
        ({"B": b"\x00\x01\x02"}, 3),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["a", "bc"]}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_a_dynamodb_value_is_measured_as_the_dynamodb_guide_counts_it(value, size):
    assert limits.attribute_size(value) == size


def test_an_item_counts_its_attribute_names():
    assert limits.item_size({"PK": {"S": "P#a"}, "count": {"N": "10"}}) == 2 + 3 + 5 + 2


def test_an_sqs_message_counts_its_attributes():
    attributes = {"kind": {"DataType": "String", "StringValue": "job"}}
    assert limits.message_size("body", attributes) == 4 + 4 + 6 + 3


@pytest.mark.parametrize(
    ("prefix", "operation", "params", "limit"),
    [
        ("states", "StartExecution", lambda n: {"input": "a" * n}, limits.STATE_PAYLOAD_BYTES),
        ("states", "SendTaskSuccess", lambda n: {"output": "a" * n}, limits.STATE_PAYLOAD_BYTES),
        ("lambda", "Invoke", lambda n: {"Payload": b"a" * n}, limits.LAMBDA_SYNC_REQUEST_BYTES),
        (
            "lambda",
            "Invoke",
            lambda n: {"Payload": b"a" * n, "InvocationType": "Event"},
            limits.LAMBDA_ASYNC_REQUEST_BYTES,
        ),
        ("sqs", "SendMessage", lambda n: {"MessageBody": "a" * n}, limits.SQS_MESSAGE_BYTES),
    ],
)
def test_a_request_at_a_limit_is_taken_and_one_byte_more_refused(prefix, operation, params, limit):
    assert limits.refusal(prefix, operation, params(limit)) is None
    refused = limits.refusal(prefix, operation, params(limit + 1))
    assert refused is not None and refused.status in (400, 413)


# The template's policies, as SAM deploys them --------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed():
    base = load(ROOT, {"CompletionEventsQueue": "enabled"})
    return roles.load(ROOT, base.parameters)


def test_the_streaming_function_holds_the_same_permissions_as_the_api_function(deployed):
    """The local stack runs the StreamingApiFunction's code as ApiFunction (the web adapter does not run in a
    process): their policies must be the same, or the rehearsal would judge one by the other's."""
    _, stack = deployed

    def statements(principal: str) -> list[str]:
        role = stack.roles[principal]
        return sorted(repr(sorted(s.document.items())) for s in role.policy.statements)

    assert statements("StreamingApiFunction") == statements("ApiFunction")


def test_the_api_routes_v1_the_console_and_what_no_route_takes_to_the_api_function(deployed):
    translated, _ = deployed
    declared = routes.read(translated)
    assert [route.key for route in declared] == [
        "GET /console",
        "GET /console/{proxy+}",
        "ANY /v1/{proxy+}",
        "$default",
    ]
    assert {route.function for route in declared} == {"ApiFunction"}
    assert routes.match(declared, "DELETE", "/v1/threads/thread_1")[0].key == "ANY /v1/{proxy+}"  # type: ignore[index]
    assert routes.match(declared, "GET", "/v1assistants") == (declared[-1], {})


def test_without_a_default_route_a_request_no_route_takes_is_left_to_api_gateways_404(deployed):
    translated, _ = deployed
    declared = [route for route in routes.read(translated) if route.key != "$default"]
    assert routes.match(declared, "GET", "/v1") is None
    assert routes.match(declared, "POST", "/console") is None
    assert routes.match(declared, "GET", "/console/app.js") is not None


def test_every_entry_of_the_least_privilege_allow_list_names_a_grant_of_the_template(deployed):
    _, stack = deployed
    assert least_privilege.stale(stack) == []
