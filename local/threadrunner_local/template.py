"""template.yaml, read as the local stack needs it: resources with their intrinsics resolved.

The local stack creates its table, functions and state machine from this, so the template,
the ASL and the code are proven to fit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"
VECTOR_TYPES = ("AWS::S3Vectors::VectorBucket", "AWS::S3Vectors::Index")
NO_VALUE = object()
"""What ``!Ref AWS::NoValue`` resolves to: the property is left out."""
REGION = "us-east-1"


class _Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) read as their long forms."""


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_Loader.add_multi_constructor("!", _construct)


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    events: dict[str, Any] = field(default_factory=dict)
    """The function's event sources (``Events``), intrinsics resolved."""

    @property
    def web_adapter(self) -> bool:
        """Started by the Lambda Web Adapter (its handler a start command): it takes HTTP requests, not events."""
        return self.environment.get("AWS_LAMBDA_EXEC_WRAPPER") == "/opt/bootstrap"

    @property
    def entry(self) -> Path:
        """The Python file a container loads first: the handler's module, or the web adapter's server."""
        if self.web_adapter:
            return self.code_dir / "serve.py"
        return self.code_dir / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")


@dataclass
class Template:
    root: Path
    raw: dict[str, Any]
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """The resources of one type whose ``Condition``, if any, holds."""
        return {
            key: value
            for key, value in self.raw["Resources"].items()
            if value["Type"] == kind and ("Condition" not in value or self.condition(value["Condition"]))
        }

    def physical(self, logical_id: str) -> str:
        """The resource's name: the one the template sets, else one the local stack makes up."""
        properties = self.raw["Resources"][logical_id].get("Properties", {})
        for key in ("Name", "FunctionName", "TableName", "StateMachineName"):
            if key in properties:
                return str(self.resolve(properties[key]))
        if self.raw["Resources"][logical_id]["Type"] in ("AWS::S3::Bucket", *VECTOR_TYPES):
            return f"threadrunner-{logical_id}".lower()  # bucket and index names are lower case
        return f"threadrunner-{logical_id}"

    def arn(self, logical_id: str) -> str:
        resource = self.raw["Resources"][logical_id]
        kind = resource["Type"]
        name = self.physical(logical_id)
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        if kind == "AWS::Lambda::Alias":  # SAM's alias of AutoPublishAlias
            properties = resource["Properties"]
            return f"{self.arn(properties['FunctionName']['Ref'])}:{self.resolve(properties['Name'])}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{name}"
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::Events::EventBus":
            return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
        if kind == "AWS::Events::Rule":  # a rule of another bus than the default has the bus in its ARN
            bus = self.resolve(resource.get("Properties", {}).get("EventBusName", "default"))
            return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{'' if bus == 'default' else bus + '/'}{name}"
        if kind == "AWS::SecretsManager::Secret":  # without the random suffix of AWS's: moto takes the partial ARN
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::S3Vectors::VectorBucket":
            return f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/{name}"
        if kind == "AWS::S3Vectors::Index":
            bucket = self.resolve(self.raw["Resources"][logical_id]["Properties"]["VectorBucketArn"])
            return f"{bucket}/index/{name}"
        raise KeyError(f"no ARN for {kind}")

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "threadrunner-local",
        }
        if name in pseudo:
            return pseudo[name]
        if name.endswith(".Alias"):  # the alias SAM makes for AutoPublishAlias: the alias's ARN
            alias = self.raw["Globals"]["Function"]["AutoPublishAlias"]
            return f"{self.arn(name.removesuffix('.Alias'))}:{alias}"
        kind = self.raw["Resources"][name]["Type"]
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine", "AWS::Lambda::Alias"):
            return self.arn(name)  # Ref of a state machine or an alias is its ARN
        if kind == "AWS::SecretsManager::Secret":
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.physical(name)}"  # Ref of a queue: its URL
        if kind in VECTOR_TYPES:
            return self.arn(name)  # Ref of a vector bucket or index: its ARN
        return self.physical(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName"):
            return self.physical(logical_id)
        if attribute == "CodeInterpreterId":  # AgentCore's (its name and a suffix): the stack runs code on its own
            return f"{self.physical(logical_id)}-local00000"
        raise KeyError(f"unsupported attribute {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsics the template uses: Ref, Fn::GetAtt, Fn::Sub, Fn::If; NO_VALUE for AWS::NoValue."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(condition) else when_false)
        if set(value) == {"Fn::Equals"}:
            left, right = self.resolve(value["Fn::Equals"])
            return left == right
        if set(value) == {"Fn::Not"}:
            return not self.resolve(value["Fn::Not"][0])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.get_att(logical_id, attribute)
        if set(value) == {"Fn::Sub"}:
            text, variables = value["Fn::Sub"], {}
            if isinstance(text, list):  # the long form: [text, {name: value}]
                text, variables = text[0], {key: self.resolve(item) for key, item in text[1].items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), variables), text)
        return {key: self.resolve(item) for key, item in value.items()}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.raw.get("Conditions", {})[name]))

    def _sub(self, name: str, variables: dict[str, Any] | None = None) -> str:
        if variables and name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return self.get_att(logical_id, attribute)
        return self.ref(name)


def load(root: Path, parameters: dict[str, str] | None = None) -> Template:
    """Read ``root/template.yaml`` with parameter values (defaults, overridden by ``parameters``)."""
    raw = yaml.load((root / "template.yaml").read_text(), Loader=_Loader)
    values = {name: str(spec.get("Default", "")) for name, spec in raw.get("Parameters", {}).items()}
    values |= parameters or {}
    template = Template(root=root, raw=raw, parameters=values)
    globals_ = raw.get("Globals", {}).get("Function", {})
    for logical_id, resource in template.resources("AWS::Serverless::Function").items():
        properties = {**globals_, **resource["Properties"]}
        events = template.resolve(resource["Properties"].get("Events", {}))
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        template.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=template.physical(logical_id),
            arn=template.arn(logical_id),
            code_dir=root / properties["CodeUri"],
            handler=properties["Handler"],
            environment={
                key: str(resolved)
                for key, item in environment.items()
                if (resolved := template.resolve(item)) is not NO_VALUE
            },
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            events=events,
        )
    return template
