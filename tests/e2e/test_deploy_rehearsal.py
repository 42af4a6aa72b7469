"""The deploy, rehearsed: each function's AWS calls judged by its role's policy as SAM deploys it, requests routed
as API Gateway routes them, and the services' size limits as AWS has them (docs/local-stack.md)."""

from __future__ import annotations

import json
import re
import secrets
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from threadrunner_local import limits, routes
from threadrunner_local.access import Access
from threadrunner_local.enforcement import Enforcer, acting_as
from threadrunner_local.http_adapter import HttpAdapter
from threadrunner_local.stack import LocalStack

from .helpers import wait_for

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/threadrunner-Table"
ROOT = Path(__file__).resolve().parents[2]


def _statement(stack: LocalStack, principal: str, action: str, resource: str = "") -> str:
    """The source (``<policy>#<index>``) of the role's statement that grants ``action`` (on ``resource``)."""
    assert stack.enforcer is not None
    role = stack.enforcer.stack.roles[principal]
    return next(
        s.source
        for s in role.policy.statements
        if action in s.actions and (not resource or any(resource in r for r in s.resources))
    )


def _denials(stack: LocalStack, principal: str, action: str) -> list[Any]:
    assert stack.enforcer is not None
    return [d for d in stack.enforcer.denials if d.principal == principal and d.access.action == action]


# IAM -------------------------------------------------------------------------------------------------------


def test_a_function_whose_policy_lost_a_statement_is_refused_the_call_it_needs(stack, client):
    assert stack.enforcer is not None
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    source = _statement(stack, "ApiFunction", "states:StartExecution")
    before = len(_denials(stack, "ApiFunction", "states:StartExecution"))

    with stack.enforcer.without_statement("ApiFunction", source), pytest.raises(openai.InternalServerError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    denial = _denials(stack, "ApiFunction", "states:StartExecution")[before]
    machine = stack.template.arn("RunLoopStateMachine")
    assert denial.access.resource == machine
    assert denial.missing_statement() == {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}
    assert "is not authorized to perform: states:StartExecution" in denial.message
    # With the statement back, the same request works.
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=60)
    assert run.status == "completed"


def test_a_key_outside_the_functions_leading_keys_is_refused_with_dynamodbs_access_denied(stack):
    with acting_as("ApiFunction"), pytest.raises(ClientError) as refused:
        stack.client("dynamodb").get_item(TableName=stack.table_name, Key={"PK": {"S": "circuit#x"}, "SK": {"S": "x"}})

    error = refused.value.response
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        "assumed-role/threadrunner-ApiFunctionRole/ApiFunction is not authorized to perform: dynamodb:GetItem"
        in (error["Error"]["Message"])
    )
    assert _denials(stack, "ApiFunction", "dynamodb:GetItem")[-1].access.context["dynamodb:LeadingKeys"] == (
        "circuit#x",
    )


def test_a_key_inside_them_is_allowed(stack):
    with acting_as("ApiFunction"):
        answer = stack.client("dynamodb").get_item(
            TableName=stack.table_name, Key={"PK": {"S": "P#none"}, "SK": {"S": "x"}}
        )
    assert "Item" not in answer


def test_an_index_the_policy_does_not_name_is_refused(stack):
    query = {
        "TableName": stack.table_name,
        "IndexName": "ThreadsByProject",
        "KeyConditionExpression": "threads_of = :p",
        "ExpressionAttributeValues": {":p": {"S": "P#default#THREADS"}},
    }
    with acting_as("ApiFunction"):  # its policy names the index
        stack.client("dynamodb").query(**query)
    with acting_as("StartTurnFunction"), pytest.raises(ClientError) as refused:
        stack.client("dynamodb").query(**query)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert (
        _denials(stack, "StartTurnFunction", "dynamodb:Query")[-1].access.resource == TABLE + "/index/ThreadsByProject"
    )


def test_a_secret_the_policy_template_does_not_cover_is_refused(stack):
    name = "other-secret-" + secrets.token_hex(4)
    stack.client("secretsmanager").create_secret(Name=name, SecretString="x")  # the operator's
    with acting_as("ApiFunction"), pytest.raises(ClientError) as refused:
        stack.client("secretsmanager").get_secret_value(SecretId=name)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    with acting_as("ApiFunction"):  # the model key, `<name>-??????` in its policy
        stack.client("secretsmanager").get_secret_value(SecretId=stack.template.parameters["ModelApiKeySecretName"])


def test_a_bus_the_policy_does_not_name_is_refused(stack):
    entry = {"Source": "threadrunner", "DetailType": "probe", "Detail": "{}"}
    with acting_as("AnnounceRunFunction"), pytest.raises(ClientError) as refused:
        stack.client("events").put_events(Entries=[{**entry, "EventBusName": "default"}])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    with acting_as("AnnounceRunFunction"):
        stack.client("events").put_events(Entries=[{**entry, "EventBusName": stack.event_bus_name}])


def test_a_function_an_invoke_policy_does_not_name_is_refused(stack):
    with acting_as("ApiFunction"), pytest.raises(ClientError) as refused:
        stack.client("lambda").invoke(FunctionName=stack.dispatcher.spec("QueueFunction").arn, Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_missing_object_is_access_denied_to_a_function_that_may_not_list_the_bucket(stack):
    bucket = stack.template.physical("FilesBucket")
    with pytest.raises(ClientError) as operator:  # the operator may list: S3 says the key is not there
        stack.client("s3").get_object(Bucket=bucket, Key="P#default/missing")
    with acting_as("ApiFunction"), pytest.raises(ClientError) as function:
        stack.client("s3").get_object(Bucket=bucket, Key="P#default/missing")
    assert operator.value.response["Error"]["Code"] == "NoSuchKey"
    assert function.value.response["Error"]["Code"] == "AccessDenied"
    assert function.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_the_state_machines_role_without_a_functions_invoke_statement_fails_the_run(stack, client):
    assert stack.enforcer is not None
    source = _statement(stack, "RunLoopStateMachine", "lambda:InvokeFunction", "CheckTurnFunction")
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])

    with stack.enforcer.without_statement("RunLoopStateMachine", source):
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=60)

    assert run.status == "failed"
    denial = _denials(stack, "RunLoopStateMachine", "lambda:InvokeFunction")[-1]
    assert denial.access.resource == stack.dispatcher.spec("CheckTurnFunction").arn + ":live"


def test_a_rule_its_target_does_not_permit_delivers_nothing(stack):
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="unpermitted-" + secrets.token_hex(4))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = "rehearsal." + secrets.token_hex(4)
    rule = stack.add_rule(
        "unpermitted-" + secrets.token_hex(4), "default", {"source": [source]}, [{"Id": "q", "Arn": arn}], grant=False
    )

    stack.client("events").put_events(Entries=[{"Source": source, "DetailType": "probe", "Detail": "{}"}])

    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    denial = next(d for d in _denials(stack, "events.amazonaws.com", "sqs:SendMessage") if d.access.resource == arn)
    assert denial.missing_statement()["Resource"] == arn and rule.startswith("arn:aws:events:")


def test_threads_a_handler_starts_make_their_calls_as_the_handler(stack):
    dynamodb = stack.client("dynamodb")

    def outside_its_keys() -> str:
        try:
            dynamodb.get_item(TableName=stack.table_name, Key={"PK": {"S": "circuit#y"}, "SK": {"S": "y"}})
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "allowed"

    found: list[str] = []
    with acting_as("ApiFunction"):
        thread = threading.Thread(target=lambda: found.append(outside_its_keys()))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(max_workers=1) as pool:
            found.append(pool.submit(outside_its_keys).result())
    with ThreadPoolExecutor(max_workers=1) as pool:  # the operator's, in a worker the function's task made
        found.append(pool.submit(outside_its_keys).result())

    assert found == ["AccessDeniedException", "AccessDeniedException", "allowed"]


def test_with_enforcement_off_a_refused_call_is_allowed_and_still_reported(stack):
    assert stack.enforcer is not None
    lenient = Enforcer(stack.enforcer.stack, stack.enforcer.lookups, enabled=False)
    access = Access("dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ("circuit#z",)})
    assert lenient.judge("ApiFunction", [access]) is None
    assert [d.access for d in lenient.denials] == [access]
    assert stack.enforcer.judge("ApiFunction", [access]) is not None


# Routes ----------------------------------------------------------------------------------------------------


def _get(url: str, method: str = "GET", key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, method=method, headers=headers, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/models"), ("GET", "/healthz"), ("GET", "/v1")])
def test_a_request_no_other_route_takes_reaches_the_function_through_the_default_route(stack, method, path):
    status, body = _get(stack.api_url.removesuffix("/v1") + path, method, stack.config.api_key)
    # The function's own answer in OpenAI's shape, not API Gateway's bare {"message": "Not Found"}.
    assert (status, json.loads(body)["error"]["code"]) == (404, "unknown_url")


def test_a_request_no_route_takes_is_api_gateways_404_when_the_template_has_no_default_route(stack):
    declared = [route for route in routes.read(stack.translated) if route.key != "$default"]
    adapter = HttpAdapter(stack.dispatcher, 0, declared).start()
    try:
        status, body = _get(adapter.url.removesuffix("/v1") + "/v2/models", key=stack.config.api_key)
    finally:
        adapter.stop()
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_every_operation_of_the_openapi_document_is_reachable_through_the_templates_routes(stack):
    status, body = _get(stack.api_url + "/openapi.json")
    document = json.loads(body)
    declared = routes.read(stack.translated)
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert status == 200 and len(operations) > 50
    found = {(m, p): routes.match(declared, m, re.sub(r"\{[^}]+\}", "x", p)) for m, p in operations}
    assert [operation for operation, route in found.items() if route is None] == []
    assert {route[0].function for route in found.values() if route} == {"ApiFunction"}


def test_the_route_the_request_took_is_in_its_event(stack):
    found = routes.match(routes.read(stack.translated), "GET", "/console/app.js")
    assert found is not None
    route, parameters = found
    assert (route.key, parameters) == ("GET /console/{proxy+}", {"proxy": "app.js"})


def test_the_function_url_hands_every_request_to_the_function(stack):
    assert stack.function_url is not None
    status, body = _get(stack.function_url.url + "/models", key=stack.config.api_key)
    assert status == 200 and json.loads(body)["object"] == "list"
    status, body = _get(stack.function_url.url.removesuffix("/v1") + "/v2/models", key=stack.config.api_key)
    assert status == 404 and json.loads(body)["error"]["code"] == "unknown_url"  # the function's own answer


# Limits ----------------------------------------------------------------------------------------------------


def _padded(limit: int, measure: Any) -> int:
    """The padding that makes ``measure(padding)`` exactly ``limit``."""
    return limit - measure(0)


def test_eventbridge_takes_entries_of_1_mb_together_and_refuses_one_byte_more(stack):
    events = stack.client("events")

    def entry(padding: int) -> dict[str, Any]:
        return {"Source": "rehearsal.limits", "DetailType": "probe", "Detail": json.dumps({"p": "a" * padding})}

    padding = _padded(limits.EVENTBRIDGE_ENTRIES_BYTES, lambda n: limits.entry_size(entry(n)))
    assert events.put_events(Entries=[entry(padding)])["FailedEntryCount"] == 0
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry(padding + 1)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_sqs_takes_a_message_of_1_mib_and_refuses_one_byte_more(stack):
    sqs, url = stack.client("sqs"), stack.queue_url("MessagesDeadLetterQueue")
    attributes = {"kind": {"DataType": "String", "StringValue": "probe"}}
    padding = _padded(limits.SQS_MESSAGE_BYTES, lambda n: limits.message_size("a" * n, attributes))
    sqs.send_message(QueueUrl=url, MessageBody="a" * padding, MessageAttributes=attributes)
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=url, MessageBody="a" * (padding + 1), MessageAttributes=attributes)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.purge_queue(QueueUrl=url)


def test_lambda_takes_a_synchronous_request_of_6_mb_and_refuses_one_byte_more(stack):
    echo = stack.add_function("echo-" + secrets.token_hex(4), lambda event, context: {"size": len(event["p"])})
    payload = lambda n: json.dumps({"p": "a" * n}).encode()  # noqa: E731
    padding = _padded(limits.LAMBDA_SYNC_REQUEST_BYTES, lambda n: len(payload(n)))
    answer = stack.client("lambda").invoke(FunctionName=echo, Payload=payload(padding))
    assert json.loads(answer["Payload"].read()) == {"size": padding}
    with pytest.raises(ClientError) as refused:
        stack.client("lambda").invoke(FunctionName=echo, Payload=payload(padding + 1))
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_lambda_returns_a_response_of_6_mb_and_fails_one_byte_more(stack):
    padding = _padded(limits.LAMBDA_SYNC_RESPONSE_BYTES, lambda n: len(json.dumps("a" * n)))
    big = stack.add_function("big-" + secrets.token_hex(4), lambda event, context: "a" * (padding + event["more"]))
    fits = stack.client("lambda").invoke(FunctionName=big, Payload=b'{"more": 0}')
    assert "FunctionError" not in fits and len(fits["Payload"].read()) == limits.LAMBDA_SYNC_RESPONSE_BYTES
    over = stack.client("lambda").invoke(FunctionName=big, Payload=b'{"more": 1}')
    assert over["FunctionError"] == "Unhandled"
    assert json.loads(over["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


def test_dynamodb_takes_an_item_of_400_kb_and_refuses_one_byte_more(stack):
    dynamodb = stack.client("dynamodb")

    def item(padding: int) -> dict[str, Any]:
        return {"PK": {"S": "limits#item"}, "SK": {"S": "x"}, "n": {"N": "12.50"}, "data": {"S": "a" * padding}}

    padding = _padded(limits.DYNAMODB_ITEM_BYTES, lambda n: limits.item_size(item(n)))
    dynamodb.put_item(TableName=stack.table_name, Item=item(padding))
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=stack.table_name, Item=item(padding + 1))
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Item size has exceeded the maximum allowed size",
    }
    with pytest.raises(ClientError):  # an update that grows it past the limit
        dynamodb.update_item(
            TableName=stack.table_name,
            Key={"PK": {"S": "limits#item"}, "SK": {"S": "x"}},
            UpdateExpression="SET more = :m",
            ExpressionAttributeValues={":m": {"S": "b"}},
        )


def _execution(stack: LocalStack, definition: dict[str, Any], given: str = "{}") -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="limits-" + secrets.token_hex(4),
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/threadrunner-local",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=given)["executionArn"]
    return wait_for(  # type: ignore[no-any-return]
        lambda: (found := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and found,
        timeout=30,
    )


def test_a_step_functions_state_of_256_kib_passes_and_one_byte_more_fails_the_execution(stack):
    padding = _padded(limits.STATE_PAYLOAD_BYTES, lambda n: len(json.dumps("a" * n)))

    def returning(n: int) -> dict[str, Any]:
        big = {"Type": "Pass", "Result": "a" * n, "Next": "Done"}
        return {"StartAt": "Big", "States": {"Big": big, "Done": {"Type": "Pass", "End": True}}}

    assert _execution(stack, returning(padding))["status"] == "SUCCEEDED"
    failed = _execution(stack, returning(padding + 1))
    assert failed["status"] == "FAILED" and failed["error"] == "States.DataLimitExceeded"


def test_step_functions_takes_an_execution_input_of_256_kib_and_refuses_one_byte_more(stack):
    given = lambda n: json.dumps({"p": "a" * n})  # noqa: E731
    padding = _padded(limits.STATE_PAYLOAD_BYTES, lambda n: len(given(n)))
    passing = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    assert _execution(stack, passing, given(padding))["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as refused:
        _execution(stack, passing, given(padding + 1))
    assert refused.value.response["Error"]["Code"] == "ValidationException"


# After the deploy ------------------------------------------------------------------------------------------


def test_the_smoke_test_passes_the_readmes_example_through_both_urls(stack):
    """scripts/smoke.py's check, on the local stack's API Gateway routes and its function URL."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("smoke", ROOT / "scripts" / "smoke.py")
    assert spec is not None and spec.loader is not None
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    assert stack.function_url is not None
    assert smoke.run_example(stack.api_url, stack.config.api_key) == []
    assert smoke.run_example(stack.function_url.url, stack.config.api_key) == []
    assert smoke.run_example(stack.api_url, "sk-wrong") == [
        "the example exited 1",
        "the run did not complete",
        "the server tool was not called",
    ]
