"""The local stack's patches of moto (threadrunner_local.moto_patches): each does what it says on the running stack,
installs once, uninstalls to what was there, and refuses a moto it was not written for."""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from threadrunner_local import moto_patches
from threadrunner_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


def test_every_patch_is_installed_on_the_running_stack(stack: LocalStack):
    assert [patch.name for patch in moto_patches.ALL if not patch.installed] == []


def test_an_attribute_patch_installs_once_and_uninstalls_to_the_original():
    class Target:
        def greet(self) -> str:
            return "original"

    original = Target.greet
    patch = moto_patches.AttributePatch(
        "greeting", lambda: (Target, "greet"), lambda before, _: lambda self: "patched " + before(self)
    )
    patch.install(None)  # type: ignore[arg-type]
    patch.install(None)  # type: ignore[arg-type]  # a second install does not wrap twice
    assert Target().greet() == "patched original"
    patch.uninstall()
    assert Target.greet is original and not patch.installed


def test_the_atomic_patch_uninstalls_to_what_was_there(stack: LocalStack):
    from moto.dynamodb.models import DynamoDBBackend

    before = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "transact_write_items")}
    extra = type(moto_patches.ATOMIC_DYNAMODB)()
    extra.install(None)  # type: ignore[arg-type]
    assert DynamoDBBackend.put_item is not before["put_item"]
    extra.uninstall()
    assert {name: getattr(DynamoDBBackend, name) for name in before} == before


def test_a_moto_the_patches_were_not_written_for_is_refused():
    moto_patches.check_version()  # the pinned one passes
    with pytest.raises(RuntimeError, match=r"moto 9\.9\.9 is installed"):
        moto_patches.check_version("9.9.9")


def test_concurrent_conditional_writes_have_one_winner(stack: LocalStack, monkeypatch):
    from moto.dynamodb.models import table as moto_table

    real_condition = moto_table.get_filter_expression

    def slow_condition(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)  # between moto's read of the item and its write: every writer would get through unlocked
        return real_condition(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", slow_condition)
    dynamodb, table = stack.client("dynamodb"), stack.table_name
    key = "P#patches#" + secrets.token_hex(4)
    winners: list[int] = []
    start = threading.Barrier(12)

    def write(writer: int) -> None:
        start.wait()
        try:
            dynamodb.put_item(
                TableName=table,
                Item={"PK": {"S": key}, "SK": {"S": "ONE"}, "writer": {"N": str(writer)}},
                ConditionExpression="attribute_not_exists(PK)",
            )
            winners.append(writer)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": key}, "SK": {"S": "ONE"}})["Item"]
    assert item["writer"]["N"] == str(winners[0])


def test_reads_of_an_item_being_updated_answer_whole_items(stack: LocalStack):
    """moto updates an item in place and writes its answers after the backend's call: a read must not be written
    while an update changes the item's attributes (else: 500, "dictionary changed size during iteration")."""
    dynamodb, table = stack.client("dynamodb"), stack.table_name
    key = {"PK": {"S": "P#patches#" + secrets.token_hex(4)}, "SK": {"S": "ITEM"}}
    dynamodb.put_item(TableName=table, Item=key | {"n": {"N": "0"}})
    wide = {f"a{index}": {"M": {f"k{k}": {"S": "v" * 20} for k in range(20)}} for index in range(20)}
    failures: list[Exception] = []
    done = threading.Event()

    def update() -> None:
        while not done.is_set():  # the item grows by 20 attributes and shrinks again, over and over
            names = {f"#a{index}": f"a{index}" for index in range(20)}
            values = {f":a{index}": value for index, value in enumerate(wide.values())}
            setting = ", ".join(f"#a{index} = :a{index}" for index in range(20))
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=f"SET {setting}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="REMOVE " + ", ".join(names),
                ExpressionAttributeNames=names,
            )

    def read() -> None:
        while not done.is_set():
            try:
                item = dynamodb.get_item(TableName=table, Key=key)["Item"]
                assert len(item) in (3, 23), len(item)
                dynamodb.query(
                    TableName=table, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": key["PK"]}
                )
            except Exception as error:
                failures.append(error)
                done.set()

    threads = [threading.Thread(target=update) for _ in range(2)] + [threading.Thread(target=read) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, as on a busy machine
    try:
        for thread in threads:
            thread.start()
        done.wait(3)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)
    assert failures == []


def test_a_cancelled_transaction_leaves_its_items_as_they_were(stack: LocalStack):
    dynamodb, table = stack.client("dynamodb"), stack.table_name
    key = "P#patches#" + secrets.token_hex(4)
    dynamodb.put_item(TableName=table, Item={"PK": {"S": key}, "SK": {"S": "A"}, "v": {"N": "1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": key}, "SK": {"S": "A"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": table, "Item": {"PK": {"S": key}, "SK": {"S": "B"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": key}, "SK": {"S": "MISSING"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    items = dynamodb.query(
        TableName=table, KeyConditionExpression="PK = :k", ExpressionAttributeValues={":k": {"S": key}}
    )["Items"]
    assert [(item["SK"]["S"], item["v"]["N"]) for item in items] == [("A", "1")]


def test_a_lambda_invocation_runs_the_real_handler(stack: LocalStack):
    event = (ROOT / "events" / "ToolFunction" / "list-tools.json").read_text()
    answer = stack.client("lambda").invoke(FunctionName="ToolFunction", Payload=event.encode())
    assert "FunctionError" not in answer
    tools = json.loads(answer["Payload"].read())
    assert "get_weather" in [tool["name"] for tool in tools["tools"]]

    refused = stack.client("lambda").invoke(FunctionName="ToolFunction", Payload=b'{"action": "nonsense"}')
    assert refused["FunctionError"] == "Unhandled"
    assert json.loads(refused["Payload"].read())["errorType"]


def _queue(stack: LocalStack) -> tuple[str, str]:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="patches-" + secrets.token_hex(4))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(stack: LocalStack, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = stack.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return json.loads(messages[0]["Body"])  # type: ignore[no-any-return]
    raise AssertionError("nothing arrived")


def test_a_rule_delivers_to_its_lambda_targets_and_its_others(stack: LocalStack, monkeypatch):
    assert stack.dispatcher is not None
    delivered: list[tuple[str, Any]] = []
    real = stack.dispatcher.invoke_async

    def recording(function: str, event: Any) -> None:
        if event.get("source") == source:
            delivered.append((function, event))
        else:
            real(function, event)  # the stack's own deliveries go on

    source = "patches." + secrets.token_hex(4)
    monkeypatch.setattr(stack.dispatcher, "invoke_async", recording)
    url, queue_arn = _queue(stack)
    tool_function = stack.dispatcher.spec("ToolFunction").arn
    stack.add_rule(
        "patches-" + secrets.token_hex(4),
        "default",
        {"source": [source]},
        [{"Id": "fn", "Arn": tool_function}, {"Id": "queue", "Arn": queue_arn}],
    )
    stack.client("events").put_events(
        Entries=[{"Source": source, "DetailType": "probe", "Detail": json.dumps({"action": "list"})}]
    )
    assert _receive(stack, url)["source"] == source
    ours = [event for function, event in delivered if function == tool_function]
    assert len(ours) == 1
    assert ours[0]["source"] == source and ours[0]["detail"] == {"action": "list"}
    assert time.strptime(ours[0]["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601, as EventBridge stamps it


def test_an_execution_announces_its_end_on_the_default_bus(stack: LocalStack):
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="patches-" + secrets.token_hex(4),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/threadrunner-local",
    )["stateMachineArn"]
    url, queue_arn = _queue(stack)
    stack.add_rule(
        "patches-" + secrets.token_hex(4),
        "default",
        {"source": ["aws.states"], "detail": {"stateMachineArn": [machine]}},
        [{"Id": "queue", "Arn": queue_arn}],
    )
    execution = sfn.start_execution(stateMachineArn=machine, input='{"probe": 1}')["executionArn"]
    event = _receive(stack, url)
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["detail"]["executionArn"] == execution
    assert event["detail"]["status"] == "SUCCEEDED"
    assert json.loads(event["detail"]["input"]) == {"probe": 1}


def test_dynamodbs_answers_as_json_are_the_answers_motos_walk_writes(stack: LocalStack):
    from moto.core.responses import ActionResult

    answered: list[tuple[Any, Any]] = []
    caller = threading.get_ident()
    fast = ActionResult.execute_result
    saved = moto_patches.DYNAMODB_ANSWERS_AS_JSON._saved
    assert saved is not None
    walk = saved[2]  # moto's own

    def keep(self: Any, context: Any) -> Any:
        # This test's requests only: runs of earlier tests may still be writing (the calls are in-process).
        if context.service_model.service_name == "dynamodb" and threading.get_ident() == caller:
            answered.append((self, context))
        return fast(self, context)

    client, table = stack.client("dynamodb"), stack.table_name
    key = {"PK": {"S": "P#patches#" + secrets.token_hex(4)}, "SK": {"S": "ITEM"}}
    values = {"n": {"N": "1.5"}, "b": {"B": b"\x00\x01"}, "l": {"L": [{"S": "x"}, {"NULL": True}]}, "ss": {"SS": ["a"]}}
    ActionResult.execute_result = keep  # type: ignore[method-assign]
    try:
        client.put_item(TableName=table, Item=key | values)
        client.get_item(TableName=table, Key=key)
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET m = :m",
            ExpressionAttributeValues={":m": {"BOOL": True}},
            ReturnValues="ALL_NEW",
            ReturnConsumedCapacity="TOTAL",
        )
        client.query(TableName=table, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": key["PK"]})
        client.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    finally:
        ActionResult.execute_result = fast  # type: ignore[method-assign]

    assert len(answered) == 5
    for result, context in answered:
        assert json.loads(fast(result, context)[2]) == json.loads(walk(result, context)[2])


def test_a_query_reads_its_partitions_slice_and_answers_as_moto_does(stack: LocalStack):
    client, table = stack.client("dynamodb"), stack.table_name
    partition = "P#patches#" + secrets.token_hex(4)
    sort_keys = [f"{kind}#{number:03d}" for kind in ("MSG", "RUN", "STEP") for number in range(0, 40, 3)]
    for key in sort_keys:
        client.put_item(TableName=table, Item={"PK": {"S": partition}, "SK": {"S": key}, "n": {"N": "1"}})
    client.put_item(TableName=table, Item={"PK": {"S": partition + "x"}, "SK": {"S": "MSG#001"}})  # another partition
    conditions = [
        ("", {}),
        (" AND SK = :a", {":a": "RUN#012"}),
        (" AND SK < :a", {":a": "RUN#012"}),
        (" AND SK <= :a", {":a": "RUN#012"}),
        (" AND SK > :a", {":a": "RUN#012"}),
        (" AND SK >= :a", {":a": "RUN#013"}),
        (" AND begins_with(SK, :a)", {":a": "MSG#"}),
        (" AND begins_with(SK, :a)", {":a": "NONE#"}),
        (" AND SK BETWEEN :a AND :b", {":a": "MSG#020", ":b": "RUN#003"}),
    ]

    def pages(condition: str, values: dict[str, str], forward: bool, limit: int | None) -> list[Any]:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "PK = :p" + condition,
            "ExpressionAttributeValues": {":p": {"S": partition}} | {k: {"S": v} for k, v in values.items()},
            "ScanIndexForward": forward,
        } | ({"Limit": limit} if limit else {})
        answers = []
        while True:
            answer = client.query(**request)
            answers.append((answer["Items"], answer["Count"], answer.get("LastEvaluatedKey")))
            if "LastEvaluatedKey" not in answer:
                return answers
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    cases = [(c, v, forward, limit) for c, v in conditions for forward in (True, False) for limit in (None, 1, 4)]
    patched = [pages(*case) for case in cases]
    moto_patches.QUERY_PARTITION.uninstall()
    try:
        original = [pages(*case) for case in cases]
    finally:
        moto_patches.QUERY_PARTITION.install(stack.dispatcher)  # type: ignore[arg-type]

    assert patched == original
    everything = [item["SK"]["S"] for page in patched[0] for item in page[0]]
    assert everything == sorted(sort_keys)  # the partition's own items, and all of them


def test_put_vectors_holds_s3_vectors_metadata_limits_per_vector(stack: LocalStack):
    vectors = stack.client("s3vectors")
    index = stack.template.functions["ApiFunction"].environment["KEYWORD_INDEX"]

    def put(key: str, **metadata: Any) -> None:
        vectors.put_vectors(
            indexArn=index, vectors=[{"key": key, "data": {"float32": [1.0] * 1024}, "metadata": metadata}]
        )

    put("limits-fits", store="s", file_id="f", n=0, text="é" * 19_000)  # 38 KB of text, not filterable
    for key, metadata, why in (
        ("limits-total", {"store": "s", "file_id": "f", "n": 0, "text": "é" * 21_000}, "larger than 40 KB"),
        ("limits-filterable", {"store": "s" * 2100, "file_id": "f", "n": 0, "text": "x"}, "filterable metadata"),
    ):
        with pytest.raises(ClientError, match=why) as refused:
            put(key, **metadata)
        assert refused.value.response["Error"]["Code"] == "ValidationException"

    found = vectors.get_vectors(indexArn=index, keys=["limits-fits", "limits-total", "limits-filterable"])["vectors"]
    vectors.delete_vectors(indexArn=index, keys=["limits-fits"])
    assert [vector["key"] for vector in found] == ["limits-fits"]
