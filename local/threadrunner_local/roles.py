"""The policies of the deployed stack, read from the transformed template (:mod:`.sam_transform`).

* Each function's and the state machine's role: the inline policies SAM writes (policy templates expanded) and
  the AWS managed policies it attaches, their documents taken from moto's copy of AWS's managed policies.
* Resource policies: the permissions SAM gives EventBridge and API Gateway on the functions
  (``AWS::Lambda::Permission``, on the alias they name), the queues' and the bucket's policies.

Intrinsics are resolved with the local stack's values (:class:`~threadrunner_local.template.Template`), so every
ARN is the one of a resource the local stack made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .policy import Policy, compile_policy
from .template import NO_VALUE, Template


@dataclass(frozen=True)
class Role:
    """One principal of the stack: a function's or the state machine's role."""

    name: str
    """The function's (or state machine's) logical id: what a denial names."""
    arn: str
    policy: Policy
    documents: tuple[tuple[str, Mapping[str, Any]], ...]
    """(policy name, document): what the policy was compiled from."""

    @property
    def session_arn(self) -> str:
        """The ARN AWS names in a denial: the role assumed by the function (``assumed-role/<role>/<session>``)."""
        return f"arn:aws:sts::{self.arn.split(':')[4]}:assumed-role/{self.arn.rsplit('/', 1)[-1]}/{self.name}"


@dataclass
class Stack:
    """Every role of the stack and every resource policy, by the ARN of the resource it is on."""

    roles: dict[str, Role] = field(default_factory=dict)
    """By the function's or state machine's logical id."""
    resource_policies: dict[str, Policy] = field(default_factory=dict)
    """By resource ARN: a function (alias-qualified where the permission names the alias), a queue, a bucket."""

    def principal_of(self, role_arn: str) -> str | None:
        """The principal whose role has this ARN."""
        return next((name for name, role in self.roles.items() if role.arn == role_arn), None)

    def resource_policy(self, arn: str) -> Policy | None:
        """The policy on ``arn`` or on what contains it (a bucket's on its objects)."""
        if arn in self.resource_policies:
            return self.resource_policies[arn]
        if arn.startswith("arn:aws:s3:::"):
            return self.resource_policies.get(arn.split("/", 1)[0])
        return None


@cache
def managed_policy(arn: str) -> Mapping[str, Any]:
    """An AWS managed policy's document (moto keeps AWS's documents of them)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = arn.rsplit("/", 1)[-1]
    documents = json.loads(aws_managed_policies_data)
    if name not in documents:
        raise KeyError(f"{arn}: not an AWS managed policy the local stack knows")
    return dict(documents[name]["Document"])


def _role_documents(template: Template, role_id: str) -> list[tuple[str, Mapping[str, Any]]]:
    properties = template.resolve(template.raw["Resources"][role_id]["Properties"])
    documents: list[tuple[str, Mapping[str, Any]]] = [
        (policy["PolicyName"], _without_no_value(policy["PolicyDocument"]))
        for policy in properties.get("Policies", [])
        if policy is not NO_VALUE
    ]
    documents += [(arn.rsplit("/", 1)[-1], managed_policy(arn)) for arn in properties.get("ManagedPolicyArns", [])]
    return documents


def _without_no_value(value: Any) -> Any:
    """A resolved document less what ``!Ref AWS::NoValue`` took out."""
    if isinstance(value, list):
        return [_without_no_value(item) for item in value if item is not NO_VALUE]
    if isinstance(value, dict):
        return {key: _without_no_value(item) for key, item in value.items() if item is not NO_VALUE}
    return value


def _role_of(template: Template, properties: Mapping[str, Any], key: str) -> str:
    reference = properties[key]
    if not (isinstance(reference, dict) and "Fn::GetAtt" in reference):
        raise ValueError(f"a role given as {reference!r}: the local stack knows roles the template makes")
    return str(reference["Fn::GetAtt"][0])


def _lambda_permission(template: Template, permission: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Lambda permission as the statement of the function's resource policy it becomes."""
    properties = template.resolve(permission["Properties"])
    target = properties["FunctionName"]
    if not target.startswith("arn:"):
        target = template.arn(next(k for k in template.raw["Resources"] if template.physical(k) == target))
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": properties["Principal"]}
        if properties["Principal"].endswith(".amazonaws.com")
        else {"AWS": properties["Principal"]},
        "Action": properties["Action"],
        "Resource": target,
    }
    if "SourceArn" in properties:
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": properties["SourceArn"]}}
    return target, statement


def read(template: Template) -> Stack:
    """The roles and resource policies of the transformed template ``template``."""
    stack = Stack()
    resources = template.raw["Resources"]
    for logical_id in resources:
        resource = resources[logical_id]
        if "Condition" in resource and not template.condition(resource["Condition"]):
            continue
        kind = resource["Type"]
        if kind in ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"):
            role_id = _role_of(
                template, resource["Properties"], "Role" if kind == "AWS::Lambda::Function" else "RoleArn"
            )
            documents = _role_documents(template, role_id)
            stack.roles[logical_id] = Role(
                logical_id, template.arn(role_id), compile_policy(documents), tuple(documents)
            )
    statements: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for logical_id, resource in resources.items():
        if "Condition" in resource and not template.condition(resource["Condition"]):
            continue
        kind = resource["Type"]
        if kind == "AWS::Lambda::Permission":
            target, statement = _lambda_permission(template, resource)
            statements.setdefault(target, []).append((logical_id, {"Statement": [statement]}))
        elif kind == "AWS::SQS::QueuePolicy":
            properties = template.resolve(resource["Properties"])
            for url in properties["Queues"]:
                arn = f"arn:aws:sqs:{url.split('.')[1]}:{url.split('/')[-2]}:{url.split('/')[-1]}"
                statements.setdefault(arn, []).append((logical_id, properties["PolicyDocument"]))
        elif kind == "AWS::S3::BucketPolicy":
            properties = template.resolve(resource["Properties"])
            statements.setdefault(f"arn:aws:s3:::{properties['Bucket']}", []).append(
                (logical_id, properties["PolicyDocument"])
            )
    stack.resource_policies = {arn: compile_policy(documents) for arn, documents in statements.items()}
    return stack


def load(root: Path, parameters: Mapping[str, str]) -> tuple[Template, Stack]:
    """The transformed template of ``root`` with the local stack's ``parameters``, and its policies."""
    from .sam_transform import transformed

    translated = Template(root=root, raw=transformed(root), parameters=dict(parameters))
    return translated, read(translated)
