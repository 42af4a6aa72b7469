"""The local stack's IAM evaluator against the examples and rules of the IAM User Guide (policy evaluation logic,
condition operators, multivalued context keys) and the DynamoDB, S3 and Lambda guides' policy examples."""

from __future__ import annotations

from typing import Any

import pytest

from threadrunner_local.policy import PolicyError, compile_policy

TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/GameScores"


def allowed(statements: list[dict[str, Any]], action: str, resource: str, context=None, principal=None) -> bool:
    policy = compile_policy([("example", {"Version": "2012-10-17", "Statement": statements})])
    return policy.decide(action, resource, context or {}, principal).allowed


# DynamoDB guide: "Using IAM policy conditions for fine-grained access control" (policy variable made literal)
LEADING_KEYS = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"],
    "Resource": [TABLE],
    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["user-1"]}},
}


def test_an_item_of_the_users_own_partition_is_allowed():
    assert allowed([LEADING_KEYS], "dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ["user-1"]})


def test_an_item_of_another_partition_is_denied():
    assert not allowed([LEADING_KEYS], "dynamodb:GetItem", TABLE, {"dynamodb:LeadingKeys": ["user-2"]})


def test_a_batch_with_one_key_of_another_partition_is_denied_for_all_values():
    assert not allowed([LEADING_KEYS], "dynamodb:BatchWriteItem", TABLE, {"dynamodb:LeadingKeys": ["user-1", "user-2"]})


def test_for_all_values_holds_when_the_request_carries_no_key():
    # The IAM guide's warning: a Scan has no leading keys, and ForAllValues is true for an empty set.
    assert allowed([LEADING_KEYS], "dynamodb:Scan", TABLE, {})


def test_for_any_value_fails_when_the_request_carries_no_key():
    statement = {
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Environment", "CostCenter"]}},
    }
    assert allowed([statement], "ec2:CreateTags", "*", {"aws:TagKeys": ["Environment", "Team"]})
    assert not allowed([statement], "ec2:CreateTags", "*", {"aws:TagKeys": ["Team"]})
    assert not allowed([statement], "ec2:CreateTags", "*", {})


def test_an_action_the_statement_does_not_name_is_implicitly_denied():
    assert not allowed([LEADING_KEYS], "dynamodb:DeleteItem", TABLE, {"dynamodb:LeadingKeys": ["user-1"]})


def test_another_table_is_not_the_statements_resource():
    other = "arn:aws:dynamodb:us-east-1:111122223333:table/Other"
    assert not allowed([LEADING_KEYS], "dynamodb:GetItem", other, {"dynamodb:LeadingKeys": ["user-1"]})


def test_an_index_is_a_resource_of_its_own():
    assert not allowed([LEADING_KEYS], "dynamodb:Query", TABLE + "/index/ByScore", {"dynamodb:LeadingKeys": ["user-1"]})


def test_string_like_matches_a_prefix_with_its_wildcard():
    statement = {**LEADING_KEYS, "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["P#*"]}}}
    assert allowed([statement], "dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["P#acme#THREAD#1"]})
    assert not allowed([statement], "dynamodb:Query", TABLE, {"dynamodb:LeadingKeys": ["APIKEY#1"]})


# IAM guide: "Policy evaluation logic"


def test_an_explicit_deny_wins_over_an_allow():
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"},
    ]
    assert allowed(statements, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/a")
    assert not allowed(statements, "s3:DeleteObject", "arn:aws:s3:::amzn-s3-demo-bucket/a")


def test_a_request_no_statement_allows_is_denied():
    assert not allowed([], "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/a")


# IAM guide's example "Amazon S3: Allows read and write access to objects in an S3 bucket"
S3_OBJECTS = [
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"]},
    {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/*"],
    },
]


def test_object_actions_apply_to_the_objects_of_the_bucket_at_any_depth():
    assert allowed(S3_OBJECTS, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket/project/a/b.txt")
    assert not allowed(S3_OBJECTS, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket")
    assert not allowed(S3_OBJECTS, "s3:GetObject", "arn:aws:s3:::other-bucket/a")


def test_the_bucket_and_its_objects_are_different_resources():
    assert allowed(S3_OBJECTS, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket")
    assert not allowed(S3_OBJECTS, "s3:ListBucket", "arn:aws:s3:::amzn-s3-demo-bucket/a")


def test_actions_match_without_regard_to_case_and_with_wildcards():
    statement = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}
    assert allowed([statement], "S3:getobject", "arn:aws:s3:::b/k")
    assert not allowed([statement], "s3:PutObject", "arn:aws:s3:::b/k")


def test_not_action_allows_every_action_but_those_it_names():
    # IAM guide's NotAction example: everything but IAM.
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert allowed([statement], "s3:GetObject", "arn:aws:s3:::b/k")
    assert not allowed([statement], "iam:CreateUser", "arn:aws:iam::111122223333:user/bob")


def test_not_resource_covers_every_resource_but_those_it_names():
    statement = {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::kept/*"]}
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    assert allowed([allow, statement], "s3:GetObject", "arn:aws:s3:::kept/a")
    assert not allowed([allow, statement], "s3:GetObject", "arn:aws:s3:::other/a")


def test_a_lambda_policy_template_covers_the_function_and_its_aliases():
    # SAM's LambdaInvokePolicy: function:${FunctionName}*
    statement = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:111122223333:function:stack-Tool*",
    }
    base = "arn:aws:lambda:us-east-1:111122223333:function:stack-Tool"
    assert allowed([statement], "lambda:InvokeFunction", base)
    assert allowed([statement], "lambda:InvokeFunction", base + ":live")
    assert not allowed([statement], "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:stack-Api")
    assert not allowed([statement], "lambda:InvokeFunction", base.replace("111122223333", "444455556666"))


# IAM guide: "Condition operators" and "Conditions with multiple context keys or values"


def test_a_missing_key_fails_a_positive_operator_and_passes_a_negated_one():
    positive = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:x": "a"}}}
    negated = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:x": "a"}}}
    assert not allowed([positive], "s3:GetObject", "*")
    assert allowed([negated], "s3:GetObject", "*")


def test_the_values_of_one_key_are_ored_and_a_negated_operators_nored():
    values = {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": values}
    assert allowed([statement], "s3:GetObject", "*", {"aws:RequestedRegion": "us-east-1"})
    assert not allowed([statement], "s3:GetObject", "*", {"aws:RequestedRegion": "ap-south-1"})
    negated = {**statement, "Condition": {"StringNotEquals": values["StringEquals"]}}
    assert not allowed([negated], "s3:GetObject", "*", {"aws:RequestedRegion": "us-east-1"})
    assert allowed([negated], "s3:GetObject", "*", {"aws:RequestedRegion": "ap-south-1"})


def test_operators_and_keys_are_anded():
    condition = {"StringEquals": {"aws:a": "1", "aws:b": "2"}, "Bool": {"aws:SecureTransport": "true"}}
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    everything = {"aws:a": "1", "aws:b": "2", "aws:SecureTransport": "true"}
    assert allowed([statement], "s3:GetObject", "*", everything)
    assert not allowed([statement], "s3:GetObject", "*", {**everything, "aws:b": "3"})
    assert not allowed([statement], "s3:GetObject", "*", {**everything, "aws:SecureTransport": "false"})


def test_if_exists_passes_when_the_key_is_missing_and_checks_it_when_present():
    condition = {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}}
    statement = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": condition}
    assert allowed([statement], "ec2:RunInstances", "*", {})
    assert allowed([statement], "ec2:RunInstances", "*", {"ec2:InstanceType": "t3.micro"})
    assert not allowed([statement], "ec2:RunInstances", "*", {"ec2:InstanceType": "m5.large"})


def test_null_tests_whether_the_key_is_present():
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Null": {"aws:TokenIssueTime": "true"}},
    }
    assert allowed([statement], "s3:GetObject", "*", {})
    assert not allowed([statement], "s3:GetObject", "*", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"})


def test_condition_keys_match_without_regard_to_case():
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"AWS:SourceAccount": "1"}},
    }
    assert allowed([statement], "s3:GetObject", "*", {"aws:sourceaccount": "1"})


def test_numeric_operators_compare_numbers():
    condition = {"NumericLessThanEquals": {"s3:max-keys": "10"}}
    statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition}
    assert allowed([statement], "s3:ListBucket", "*", {"s3:max-keys": "9"})
    assert not allowed([statement], "s3:ListBucket", "*", {"s3:max-keys": "11"})


def test_an_operator_the_evaluator_does_not_know_is_refused_when_the_policy_is_compiled():
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "x"}},
    }
    with pytest.raises(PolicyError):
        compile_policy([("example", {"Statement": [statement]})])


# Resource-based policies: the Lambda guide's permission for EventBridge, S3's "TLS only" bucket policy


def test_a_lambda_permission_lets_only_its_rule_invoke_the_function():
    permission = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:111122223333:function:my-function",
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/my-rule"}},
    }
    function = "arn:aws:lambda:us-east-1:111122223333:function:my-function"
    rule = {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/my-rule"}
    other_rule = {"aws:SourceArn": "arn:aws:events:us-east-1:111122223333:rule/other"}
    events = ("Service", "events.amazonaws.com")
    assert allowed([permission], "lambda:InvokeFunction", function, rule, events)
    assert not allowed([permission], "lambda:InvokeFunction", function, other_rule, events)
    assert not allowed([permission], "lambda:InvokeFunction", function, rule, ("Service", "sns.amazonaws.com"))
    assert not allowed([permission], "lambda:InvokeFunction", function + ":live", rule, events)


def test_a_tls_only_bucket_policy_denies_every_principal_over_plain_http():
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    role = ("AWS", "arn:aws:iam::111122223333:role/r")
    allow = {"Effect": "Allow", "Principal": {"AWS": role[1]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    assert not allowed([allow, deny], "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"}, role)
    assert allowed([allow, deny], "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "true"}, role)


def test_the_decision_names_the_statement_that_decided():
    policy = compile_policy(
        [("ApiRole", {"Statement": [{"Sid": "Reads", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})]
    )
    assert policy.decide("s3:GetObject", "arn:aws:s3:::b/k").statement.source == "ApiRole#Reads"
    assert policy.decide("s3:PutObject", "arn:aws:s3:::b/k").statement is None
