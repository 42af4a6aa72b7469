"""What template.yaml grants and sets: least privilege, no contents in traces, throttling, logs kept, no open doors."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from threadrunner_local.template import Template, load

ROOT = Path(__file__).resolve().parents[2]
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/threadrunner-Table"


@pytest.fixture(scope="module")
def template() -> Template:
    return load(ROOT)


def _statements(template: Template, logical_id: str) -> list[dict[str, Any]]:
    """The inline statements of a function's policies (SAM policy templates are named, not expanded)."""
    policies = template.raw["Resources"][logical_id]["Properties"].get("Policies", [])
    return [
        statement
        for policy in policies
        if isinstance(policy, dict) and "Statement" in policy
        for statement in template.resolve(policy["Statement"])
    ]


def _may(template: Template, function: str, action: str, leading_key: str) -> bool:
    """Whether the function's statements allow ``action`` on the table for an item whose partition key is given."""
    for statement in _statements(template, function):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] != "Allow" or action not in actions or statement["Resource"] != TABLE:
            continue
        keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if keys is None or any(fnmatch.fnmatchcase(leading_key, pattern) for pattern in keys):
            return True
    return False


def test_no_function_holds_the_whole_table(template):
    for logical_id in template.functions:
        policies = template.raw["Resources"][logical_id]["Properties"].get("Policies", [])
        assert not any(
            isinstance(p, dict) and ("DynamoDBCrudPolicy" in p or "DynamoDBReadPolicy" in p) for p in policies
        )
        for statement in _statements(template, logical_id):
            if statement.get("Resource") == TABLE:
                assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"], logical_id
                assert "dynamodb:Scan" not in statement["Action"], logical_id


LOOP_AND_TOOLS = (
    "StartTurnFunction",
    "CheckTurnFunction",
    "RequestToolOutputsFunction",
    "SubmitToolOutputsFunction",
    "FinalizeRunFunction",
    "FailRunFunction",
    "AnnounceRunFunction",
    "ReconcilerFunction",
    "ToolFunction",
    "SettleResponsesFunction",
)


@pytest.mark.parametrize("function", LOOP_AND_TOOLS)
def test_the_loop_and_tool_functions_reach_project_data_only(template, function):
    assert _may(template, function, "dynamodb:UpdateItem", "P#acme#THREAD#thread_1")
    for key in ("APIKEY#0123abcd", "APIKEYS", "idempotency#threadrunner-ApiFunction"):
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"):
            assert not _may(template, function, action, key), (function, action, key)


def test_only_the_api_lists_threads_and_only_from_projects_partitions_of_the_threads_index(template):
    index = TABLE + "/index/ThreadsByProject"
    for function in template.functions:
        grants = [s for s in _statements(template, function) if str(s["Resource"]).startswith(TABLE + "/index/")]
        if function in ("ApiFunction", "StreamingApiFunction"):
            (grant,) = grants
            assert (grant["Action"], grant["Resource"]) == ("dynamodb:Query", index), function
            assert grant["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["P#*"], function
        else:
            assert grants == [], function


def test_the_console_is_routed_to_the_api_for_reading_only(template):
    events = template.raw["Resources"]["ApiFunction"]["Properties"]["Events"]
    routes = {(e["Properties"].get("Method"), e["Properties"].get("Path")) for e in events.values()}
    # (None, None): the $default route, what no other route takes (answered in OpenAI's shape)
    assert routes == {("ANY", "/v1/{proxy+}"), ("GET", "/console"), ("GET", "/console/{proxy+}"), (None, None)}
    assert all(e["Properties"]["ApiId"] == {"Ref": "HttpApi"} for e in events.values())


def test_only_the_api_reads_api_keys_and_nobody_writes_them(template):
    assert _may(template, "ApiFunction", "dynamodb:GetItem", "APIKEY#0123abcd")
    for function in template.functions:
        for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
            assert not _may(template, function, action, "APIKEY#0123abcd"), function
            assert not _may(template, function, action, "APIKEYS"), function
    for function in ("EventsFunction", "QueueFunction"):
        assert not _may(template, function, "dynamodb:GetItem", "APIKEY#0123abcd")
        assert _may(template, function, "dynamodb:PutItem", "idempotency#threadrunner-EventsFunction")


def test_only_functions_of_the_account_tagged_as_tools_are_invoked_and_circuits_are_kept_by_their_users(template):
    functions = "arn:aws:lambda:us-east-1:123456789012:function:*"
    for function in template.functions:
        statements = _statements(template, function)
        invokes = [s for s in statements if "lambda:InvokeFunction" in str(s["Action"])]
        if function == "ToolFunction":
            (invoke,) = invokes
            assert invoke["Resource"] == [functions]
            assert invoke["Condition"] == {"StringLike": {"aws:ResourceTag/threadrunner-tool": "?*"}}
        else:  # no inline grant: only the ToolFunction, by name (LambdaInvokePolicy)
            assert not invokes, function
        reads_tags = any(s["Action"] == "lambda:ListTags" and s["Resource"] == functions for s in statements)
        assert reads_tags == (function in ("ApiFunction", "StreamingApiFunction", "ToolFunction")), function
        # Those that register tools compare a tool's ARN with the functions the grants name (its account, region
        # and partition), in the code: a tool elsewhere is refused when it is registered.
        assert (template.functions[function].environment.get("FUNCTIONS_ARN") == functions) == reads_tags, function
        guards = function in ("StartTurnFunction", "SubmitToolOutputsFunction", "ToolFunction")
        assert _may(template, function, "dynamodb:UpdateItem", "circuit#breakers") == guards, function


def test_only_the_api_lists_unsettled_responses_and_only_the_sweep_reads_the_list_more_seldom_than_it_runs(template):
    for function in template.functions:
        lists, sweeps = function in ("ApiFunction", "StreamingApiFunction"), function == "SettleResponsesFunction"
        assert _may(template, function, "dynamodb:PutItem", "unsettled#responses") == lists, function
        assert _may(template, function, "dynamodb:Query", "unsettled#responses") == sweeps, function
        assert _may(template, function, "dynamodb:DeleteItem", "unsettled#responses") == (lists or sweeps), function
    sweep = template.raw["Resources"]["SettleResponsesFunction"]["Properties"]
    assert sweep["Events"]["Sweep"]["Properties"]["Schedule"] == "rate(5 minutes)"
    assert sweep["Timeout"] < 5 * 60  # a sweep ends before the next one starts


def test_traces_never_capture_what_handlers_return_or_raise(template):
    variables = template.raw["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    for spec in template.functions.values():  # no function turns it back on
        assert spec.environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_the_api_is_throttled_and_logs_requests_without_secrets_or_user_ids(template):
    api = template.raw["Resources"]["HttpApi"]["Properties"]
    assert set(api["DefaultRouteSettings"]) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    log_format = api["AccessLogSettings"]["Format"]
    assert "$context.requestId" in log_format and "$context.status" in log_format
    assert "authorization" not in log_format.lower() and "$context.path" not in log_format
    assert template.raw["Resources"]["ApiFunction"]["Properties"]["Events"]["Api"]["Properties"]["ApiId"] == {
        "Ref": "HttpApi"
    }


def test_reserved_concurrency_and_the_tool_fan_out_are_bounded_by_settings(template):
    functions = {
        "ApiFunction": "ApiReservedConcurrency",
        "ToolFunction": "ToolReservedConcurrency",
        "StreamingApiFunction": "StreamingApiReservedConcurrency",
    }
    for function, parameter in functions.items():
        reserved = template.raw["Resources"][function]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved["Fn::If"][1] == {"Ref": parameter}
    assert '"MaxConcurrency": 10' in (ROOT / "statemachine" / "run_loop.asl.json").read_text()


def test_the_streaming_function_url_which_no_gateway_throttles_is_bounded_by_default(template):
    streaming = template.raw["Resources"]["StreamingApiFunction"]["Properties"]
    assert streaming["FunctionUrlConfig"]["AuthType"] == "NONE"  # anyone reaches it: its concurrency is its bound
    default = template.raw["Parameters"]["StreamingApiReservedConcurrency"]["Default"]
    # Reserved by default, and a tenth of an account's default quota (1,000) at most: the run loop keeps the rest.
    assert 0 < default <= 100
    assert template.raw["Parameters"]["StreamingApi"]["Default"] == "enabled"


def test_every_log_is_kept_for_a_bounded_time(template):
    groups = template.resources("AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    assert template.raw["Globals"]["Function"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogs"}
    logging = template.raw["Resources"]["RunLoopStateMachine"]["Properties"]["Logging"]
    assert logging["IncludeExecutionData"] is False


def test_the_events_dead_letter_queue_takes_only_the_stacks_rules_and_secrets_are_matched_exactly(template):
    (statement,) = template.raw["Resources"]["EventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["EventsFunctionMessageRequested", "Arn"]},
        {"Fn::GetAtt": ["ReconcilerFunctionExecutionEnded", "Arn"]},
    ]
    text = (ROOT / "template.yaml").read_text()
    assert "${ModelApiKeySecretName}-*" not in text and text.count("${ModelApiKeySecretName}-??????") >= 1


def test_the_layer_keeps_botocore_data_of_every_service_the_functions_call():
    from threadrunner import bootstrap

    makefile = (ROOT / "layers" / "core" / "Makefile").read_text()
    kept = next(line for line in makefile.splitlines() if line.startswith("SERVICES =")).split("=", 1)[1].split()
    assert set(bootstrap.SERVICES) <= set(kept)
    with pytest.raises(AssertionError):
        bootstrap._Client("ec2")  # a service the layer does not keep is refused where the code names it


def test_everything_invokes_the_published_alias_so_snapstart_can_apply(template):
    function = template.raw["Globals"]["Function"]
    assert function["AutoPublishAlias"] == "live"
    assert function["SnapStart"] == {"ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}}
    assert function["Environment"]["Variables"]["SNAPSTART"] == {"Fn::If": ["UseSnapStart", "true", "false"]}
    machine = template.raw["Resources"]["RunLoopStateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    assert all(value == {"Ref": name.removesuffix("Arn") + ".Alias"} for name, value in substitutions.items())
    for logical_id in ("ApiFunction", "StartTurnFunction"):
        variables = template.raw["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["TOOL_FUNCTION_NAME"] == {"Ref": "ToolFunction.Alias"}


def test_index_jobs_are_taken_one_an_invocation_and_the_dead_letter_queue_ends_their_files(template):
    index = template.raw["Resources"]["IndexFunction"]["Properties"]
    events = {name: event["Properties"] for name, event in index["Events"].items()}
    assert {name: (e["Queue"], e["BatchSize"]) for name, e in events.items()} == {
        "Jobs": ({"Fn::GetAtt": ["IndexQueue", "Arn"]}, 1),
        "DeadJobs": ({"Fn::GetAtt": ["IndexDeadLetterQueue", "Arn"]}, 1),
    }
    assert all(e["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for e in events.values())
    assert index["Environment"]["Variables"]["INDEX_DEAD_LETTER_QUEUE_ARN"] == {
        "Fn::GetAtt": ["IndexDeadLetterQueue", "Arn"]
    }
    # Lambda reads a queue only if it hides a message at least as long as the function may run.
    for queue in ("IndexQueue", "IndexDeadLetterQueue"):
        assert template.raw["Resources"][queue]["Properties"]["VisibilityTimeout"] >= index["Timeout"]
    writes = [s for s in _statements(template, "IndexFunction") if "s3:PutObject" in s["Action"]]
    assert [s["Resource"] for s in writes] == ["arn:aws:s3:::threadrunner-filesbucket/*.chunks"]


def test_the_files_bucket_deletes_upload_parts_by_the_tag_they_are_written_with(template):
    from threadrunner.adapters.s3 import UPLOAD_PART_TAG

    rules = template.raw["Resources"]["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [rule for rule in rules if rule["Id"] == "upload-parts"]
    key, value = UPLOAD_PART_TAG

    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 1 and "Prefix" not in rule
    assert rule["TagFilters"] == [{"Key": key, "Value": value}]  # files' bytes are never tagged: they stay
    (writes,) = [s for s in _statements(template, "ApiFunction") if "s3:PutObject" in s["Action"]]
    assert "s3:PutObjectTagging" in writes["Action"]


def test_the_code_interpreter_reaches_no_network_no_name_and_no_credentials(template):
    resources = template.raw["Resources"]
    interpreter = resources["CodeInterpreter"]["Properties"]
    assert interpreter["NetworkConfiguration"]["NetworkMode"] == "VPC"  # not SANDBOX: it resolves names
    assert "ExecutionRoleArn" not in interpreter  # no role: no credentials inside the sandbox
    vpc = resources["CodeInterpreterVpc"]["Properties"]
    assert vpc["EnableDnsSupport"] is False
    kinds = {resource["Type"] for resource in resources.values()}
    routes_out = {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::VPCEndpoint", "AWS::EC2::Route"}
    assert not kinds & routes_out
    group = resources["CodeInterpreterSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [(rule["IpProtocol"], rule["CidrIp"]) for rule in group["SecurityGroupEgress"]] == [("-1", "127.0.0.1/32")]
    subnets = interpreter["NetworkConfiguration"]["VpcConfig"]["Subnets"]
    assert all(resources[subnet["Ref"]]["Properties"]["VpcId"] == {"Ref": "CodeInterpreterVpc"} for subnet in subnets)


def test_the_tool_function_alone_runs_sessions_of_this_stacks_code_interpreter_only(template):
    actions = {
        "bedrock-agentcore:StartCodeInterpreterSession",
        "bedrock-agentcore:GetCodeInterpreterSession",
        "bedrock-agentcore:InvokeCodeInterpreter",
        "bedrock-agentcore:StopCodeInterpreterSession",
    }
    prefix = "arn:aws:bedrock-agentcore:us-east-1:123456789012:"
    granted = {}
    for function in template.functions:
        for statement in _statements(template, function):
            named = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("bedrock-agentcore:") for action in named):
                granted[function] = (set(named), statement["Resource"])
    assert granted == {
        "ToolFunction": (
            actions,
            [
                prefix + "code-interpreter/threadrunner_code_interpreter-*",
                prefix + "code-interpreter-custom/threadrunner_code_interpreter-*",
            ],
        )
    }
    environment = template.functions["ToolFunction"].environment
    assert environment["CODE_INTERPRETER_ID"] == "threadrunner_code_interpreter-local00000"


def test_passing_code_interpreter_through_creates_no_sandbox():
    passthrough = load(ROOT, {"CodeInterpreterPassthrough": "enabled"})

    assert not passthrough.condition("WithCodeInterpreterSandbox")
    sandbox = [key for key, value in passthrough.raw["Resources"].items() if key.startswith("CodeInterpreter")]
    assert all(passthrough.raw["Resources"][key]["Condition"] == "WithCodeInterpreterSandbox" for key in sandbox)
    environment = passthrough.functions["ToolFunction"].environment
    assert (environment["CODE_INTERPRETER_PASSTHROUGH"], environment["CODE_INTERPRETER_ID"]) == ("true", "")
