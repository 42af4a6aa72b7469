"""The local stack: start everything, build every resource from template.yaml, serve the API."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import moto_patches, roles, routes
from .access import Lookups
from .dispatch import Dispatcher
from .durable import DataFolder
from .enforcement import THREADS_INHERIT, Enforcer
from .event_sources import Schedule, SqsPoller
from .http_adapter import HttpAdapter
from .in_process import InProcessAws
from .meter import Meter
from .model_server import OfflineModelServer
from .model_webhooks import WebhookSender, new_secret
from .recovery import Recovered, recover
from .template import ACCOUNT, REGION, FunctionSpec, Template, load

ROOT = Path(__file__).resolve().parents[2]


def _placeholder_code() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("README", "The local stack runs this function's handler in-process.")
    return archive.getvalue()


_IN_PROCESS = _placeholder_code()
"""The code moto keeps for every function: the handlers run in this process instead."""
OFFLINE_MODEL_KEY = "sk-offline-model"
PROJECT = "default"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StackConfig:
    """How to run the local stack. ``from_environment`` reads the variables the README documents."""

    api_port: int = 3000
    aws_port: int = 0
    """moto's port; 0 picks a free one. ``make run`` uses 4566, which events/env.json names."""
    model_port: int = 0
    """The offline model's port; 0 picks a free one. ``make run`` uses 4010."""
    api_key: str = "sk-local-dev"
    """The bearer key the local API accepts (``THREADRUNNER_API_KEY``)."""
    model_latency: float = 1.0
    """Seconds the offline model takes per response."""
    model_store: bool = True
    """Whether the offline model keeps responses (``OFFLINE_MODEL_STORE=off``: it forgets them, as vLLM does by
    default; runs then fail, conversations and forwarded calls work)."""
    openai_api_key: str | None = None
    """With a key, the stack calls the real Responses API instead of the offline model."""
    openai_base_url: str = "https://api.openai.com/v1"
    environment: dict[str, str] = field(default_factory=dict)
    """Settings for the functions, over the template's (``MAX_TOOL_ROUNDS``, ``TOOL_MODULES``, ...)."""
    parameters: dict[str, str] = field(default_factory=dict)
    """Template parameters, over the local stack's own (which enable the completion events queue)."""
    event_sources: dict[str, str] = field(default_factory=lambda: {"my.app": PROJECT})
    """EventBridge sources and the project each posts for (the template's ``EventSourceProjects``)."""
    queue_projects: dict[str, str] = field(default_factory=dict)
    """Queue ARNs and the project their messages post for, besides the template's own queue (``QUEUE_PROJECTS``)."""
    on_start: list[Callable[[LocalStack], None]] = field(default_factory=list)
    """Called once every resource exists, before the API serves (the harness seeds its sample world here)."""
    data_dir: Path | None = None
    """Where the stack keeps its data across restarts (``THREADRUNNER_DATA``, ``.threadrunner/`` for ``make run``);
    ``None``: in memory only, gone with the process (the tests)."""
    fixture_projects: set[str] = field(default_factory=set)
    """Projects whose runs are fixtures, never taken up again at a restart (the sample world's)."""
    enforce_iam: bool = True
    """Each function's AWS calls judged by its role's policy as deployed (``THREADRUNNER_IAM=off``: all allowed,
    denials only logged)."""
    webhooks: bool = False
    """The template's ``ModelWebhooks=enabled``: runs wait for their responses' webhooks, which the offline model
    sends (``THREADRUNNER_WEBHOOKS=on``)."""

    @classmethod
    def from_environment(cls) -> StackConfig:
        return cls(
            api_port=int(os.environ.get("THREADRUNNER_PORT", "3000")),
            aws_port=int(os.environ.get("THREADRUNNER_AWS_PORT", "4566")),
            model_port=int(os.environ.get("OFFLINE_MODEL_PORT", "4010")),
            api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
            model_latency=float(os.environ.get("OFFLINE_MODEL_LATENCY", "1.0")),
            model_store=os.environ.get("OFFLINE_MODEL_STORE", "on").lower() not in ("off", "false", "0"),
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
            data_dir=Path(os.environ.get("THREADRUNNER_DATA") or ROOT / ".threadrunner"),
            enforce_iam=os.environ.get("THREADRUNNER_IAM", "on").lower() not in ("off", "0", "false"),
            webhooks=os.environ.get("THREADRUNNER_WEBHOOKS", "off").lower() in ("on", "1", "true"),
        )


class AwsServer:
    """moto's server on loopback, its writes kept in a data folder when there is one."""

    def __init__(self, port: int, data: DataFolder | None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.app = DomainDispatcherApplication(create_backend_app)
        self.served = data.wrap(self.app) if data is not None else self.app
        """What the server serves (and the process's own clients are answered by): moto, with the journal."""
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        class KeptAlive(MotoRequestHandler):
            """Connections kept alive (the SDKs' pools reuse them), answers written without Nagle's delay."""

            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        self._server = make_server("127.0.0.1", self._port, self.served, True, request_handler=KeptAlive)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()


class LocalStack:
    """The whole system in this process. ``start()`` returns when the API answers."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.model_server: OfflineModelServer | None = None
        self.template: Template | None = None
        self.translated: Template | None = None
        """template.yaml after the SAM transform: the roles, permissions, rules and routes of the deployed stack."""
        self.enforcer: Enforcer | None = None
        self.dispatcher: Dispatcher | None = None
        self.http: HttpAdapter | None = None
        self.function_url: HttpAdapter | None = None
        self._moto: Any = None
        self._pollers: list[SqsPoller | Schedule] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()
        self.aws_endpoint = ""
        self.data: DataFolder | None = None
        self.recovered: Recovered | None = None
        self.meter = Meter()
        """What the functions, the API and the table are used for, while it is on (``make bench``)."""
        self.webhook_secret: str | None = None
        """The provider's webhook signing secret the stack put in the deployment's secret (webhook mode)."""

    @property
    def api_url(self) -> str:
        assert self.http is not None
        return self.http.url

    @property
    def table_name(self) -> str:
        assert self.template is not None
        return self.template.physical("Table")

    def api(
        self, method: str, path: str, body: Any = None, key: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One request to the local API with plain HTTP (the extension paths have no SDK methods): status, answer."""
        request = urllib.request.Request(
            self.api_url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {key or self.config.api_key}",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def table_items(self, *prefixes: str) -> list[dict[str, Any]]:
        """The table's items (DynamoDB JSON) whose partition key starts with one of ``prefixes``; all without."""
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name)
        items = [item for page in pages for item in page["Items"]]
        return [item for item in items if item["PK"]["S"].startswith(prefixes)] if prefixes else items

    def stores(self, project: str) -> Any:
        """The stores of one project on the local table (``threadrunner.ports.Stores``)."""
        from threadrunner.adapters import dynamodb

        return dynamodb.stores(self.table_name, project, self.client("dynamodb"))

    def file_contents(self) -> Any:
        """The bytes of files, in the template's bucket (as the functions read them)."""
        from threadrunner.adapters.s3 import S3FileContents

        assert self.template is not None
        return S3FileContents(self.template.physical("FilesBucket"), self.client("s3"))

    def execution_arn(self, run_id: str) -> str:
        """The ARN of a run's loop execution (named after the run)."""
        assert self.template is not None
        machine = self.template.arn("RunLoopStateMachine")
        return machine.replace(":stateMachine:", ":execution:") + f":{run_id}"

    def client(self, service: str) -> Any:
        """A boto3 client of the local AWS, made once per service (boto3 clients are thread-safe)."""
        import boto3

        with self._clients_lock:
            key = (service, self.aws_endpoint)
            if key not in self._clients:
                self._clients[key] = boto3.client(service, endpoint_url=self.aws_endpoint, region_name=REGION)
            return self._clients[key]

    def start(self) -> LocalStack:
        from moto.core.config import default_user_config

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        config = self.config
        if config.openai_api_key:
            model_url, model_key = config.openai_base_url, config.openai_api_key
        else:
            kept_in = config.data_dir / "offline-model.jsonl" if config.data_dir else None
            if kept_in is not None:
                kept_in.parent.mkdir(parents=True, exist_ok=True)
            self.model_server = OfflineModelServer(
                latency=config.model_latency,
                api_key=OFFLINE_MODEL_KEY,
                port=config.model_port,
                kept_in=kept_in,
                store=config.model_store,
            ).start()
            model_url, model_key = self.model_server.url, OFFLINE_MODEL_KEY

        aws_port = config.aws_port or free_port()
        self.aws_endpoint = f"http://127.0.0.1:{aws_port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "MOTO_PORT": str(aws_port),  # moto's Step Functions interpreter calls Lambda through this port
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",  # EMF has no CloudWatch to go to here
                "POWERTOOLS_DEV": "false",
                # code_interpreter runs in the local sandbox: a process per session (docs/code-interpreter.md).
                "CODE_INTERPRETER_SANDBOX": "threadrunner_local.sandbox:code_sandbox",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}

        parameters = {
            "ModelBaseUrl": model_url,
            "AwsEndpointUrl": self.aws_endpoint,
            "CompletionEventsQueue": "enabled",
            # The HTTP adapter serves ApiFunction's streaming entry point, as the StreamingApiFunction does.
            "StreamingApi": "disabled",
            "EventSourceProjects": ",".join(f"{source}={project}" for source, project in config.event_sources.items()),
            "ModelWebhooks": "enabled" if config.webhooks else "disabled",
        }
        self.template = load(ROOT, parameters | config.parameters)
        self.translated, policies = roles.load(ROOT, self.template.parameters)
        self.enforcer = Enforcer(policies, self._lookups(), enabled=config.enforce_iam)
        self.dispatcher = Dispatcher(self.template.functions, self.enforcer)
        self.dispatcher.meter = self.meter
        moto_patches.install(self.dispatcher)
        THREADS_INHERIT.install()
        self.data = DataFolder(config.data_dir) if config.data_dir else None
        self._moto = AwsServer(aws_port, self.data)
        self._moto.start()
        self._in_process = InProcessAws(
            self.aws_endpoint,
            self._moto.served,
            gate=self.enforcer.gate,
            answered=self.enforcer.answered,
            meter=self.meter,
        )
        self._in_process.install()
        self.enforcer.install()

        environment = Dispatcher.environment(self.template.functions, config.environment)
        environment["QUEUE_PROJECTS"] = ",".join(
            [environment["QUEUE_PROJECTS"], *(f"{arn}={project}" for arn, project in config.queue_projects.items())]
        )
        os.environ.update(environment)
        self._create_resources(model_key)
        if self.data is not None:
            self.data.restore(self._moto.app)  # what an earlier start kept, into the resources just made
        self.seed_api_key(config.api_key)
        for hook in config.on_start:
            hook(self)
        if self.data is not None:
            self.recovered = self._recover()
        self.http = HttpAdapter(self.dispatcher, config.api_port, routes.read(self.translated)).start()
        self.function_url = HttpAdapter(self.dispatcher, 0).start()
        if self.model_server is not None and self.webhook_secret is not None:
            sender = WebhookSender(self.http.url + "/webhooks", self.webhook_secret)
            sender.enabled = os.environ.get("MODEL_WEBHOOKS") == "true"
            self.model_server.model.webhooks = sender
        return self

    def switch_webhooks(self, on: bool) -> None:
        """Start the runs from now on waiting for their responses' webhooks (``on``) or polling, and have the offline
        model send webhooks or not: as a deploy of ``ModelWebhooks`` would, less the webhook endpoint and the
        permissions, which a stack started with ``webhooks`` has either way. The functions read ``MODEL_WEBHOOKS``
        when they start a run; a run keeps the way it started with."""
        from threadrunner.config import settings

        assert self.model_server is not None and self.model_server.model.webhooks is not None, "a stack with webhooks"
        os.environ["MODEL_WEBHOOKS"] = "true" if on else "false"
        settings.cache_clear()
        self.model_server.model.webhooks.enabled = on

    def _lookups(self) -> Lookups:
        """What the ARNs of requests' resources need, answered from the template and from moto."""
        assert self.template is not None
        template = self.template
        tables: dict[str, tuple[str, dict[str, str]]] = {}
        for logical_id, resource in template.resources("AWS::DynamoDB::Table").items():
            properties = resource["Properties"]

            def hash_key(schema: list[dict[str, str]]) -> str:
                return next(key["AttributeName"] for key in schema if key["KeyType"] == "HASH")

            indexes = {
                index["IndexName"]: hash_key(index["KeySchema"])
                for index in properties.get("GlobalSecondaryIndexes", [])
            }
            tables[template.physical(logical_id)] = (hash_key(properties["KeySchema"]), indexes)
        machines = [template.arn(logical_id) for logical_id in template.resources("AWS::Serverless::StateMachine")]

        def secret_arn(secret: str) -> str:
            from moto.secretsmanager.models import secretsmanager_backends

            if secret.startswith("arn:"):
                return secret
            found = secretsmanager_backends[ACCOUNT][REGION].secrets.get(secret)
            return str(found.arn) if found is not None else f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"

        def function_tags(arn: str) -> dict[str, str]:
            from moto.awslambda_simple.models import lambda_simple_backends

            try:
                return dict(lambda_simple_backends[ACCOUNT][REGION].list_tags(arn))
            except Exception:  # no such function: no tags, and IAM judges the call on its ARN alone
                return {}

        def resource_policy(arn: str) -> str | None:
            """A queue's ``Policy`` attribute, or the permissions added to a function (``AddPermission``)."""
            from moto.awslambda_simple.models import lambda_simple_backends
            from moto.sqs.models import sqs_backends

            if ":sqs:" in arn:
                queue = sqs_backends[ACCOUNT][REGION].queues.get(arn.rsplit(":", 1)[-1])
                return getattr(queue, "policy", None) if queue is not None else None
            if ":lambda:" in arn:
                try:
                    function = lambda_simple_backends[ACCOUNT][REGION].get_function(arn.split(":")[6])
                except Exception:  # no such function
                    return None
                statements = function.policy.statements if function.policy else []
                return json.dumps({"Statement": statements}) if statements else None
            return None

        def task_token_machine(token: str) -> str:
            return machines[0]  # the template's one state machine issues every token

        return Lookups(
            lambda table: tables.get(table, ("PK", {})), secret_arn, function_tags, task_token_machine, resource_policy
        )

    def _recover(self) -> Recovered:
        """Take up the runs and the indexing that were in flight when the stack stopped."""
        from threadrunner import bootstrap

        return recover(
            self.client("dynamodb"),
            self.table_name,
            self.stores,
            bootstrap.run_control(),
            bootstrap.index_jobs(),
            frozenset(self.config.fixture_projects),
        )

    def _create_resources(self, model_key: str) -> None:
        assert self.template is not None
        template = self.template
        assert self.enforcer is not None
        iam = self.client("iam")
        iam.create_role(RoleName="threadrunner-local", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
        for principal in self.enforcer.stack.roles.values():  # each function's role, as SAM makes it
            iam.create_role(
                RoleName=principal.arn.rsplit("/", 1)[-1],
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}),
            )
        role_of = {name: principal.arn for name, principal in self.enforcer.stack.roles.items()}
        dynamodb = self.client("dynamodb")
        for logical_id, resource in template.resources("AWS::DynamoDB::Table").items():
            properties = template.resolve(resource["Properties"])
            name = template.physical(logical_id)
            dynamodb.create_table(
                TableName=name,
                BillingMode=properties["BillingMode"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                KeySchema=properties["KeySchema"],
                **(
                    {"GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"]}
                    if "GlobalSecondaryIndexes" in properties
                    else {}
                ),
            )
            ttl = properties.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        for logical_id in template.resources("AWS::S3::Bucket"):
            self.client("s3").create_bucket(Bucket=template.physical(logical_id))
        vectors = self.client("s3vectors")
        for logical_id in template.resources("AWS::S3Vectors::VectorBucket"):
            vectors.create_vector_bucket(vectorBucketName=template.physical(logical_id))
        for logical_id, resource in template.resources("AWS::S3Vectors::Index").items():
            properties = template.resolve(resource["Properties"])
            vectors.create_index(
                vectorBucketArn=properties["VectorBucketArn"],
                indexName=template.physical(logical_id),
                dataType=properties["DataType"],
                dimension=int(properties["Dimension"]),
                distanceMetric=properties["DistanceMetric"],
                metadataConfiguration={
                    "nonFilterableMetadataKeys": properties["MetadataConfiguration"]["NonFilterableMetadataKeys"]
                },
            )
        secrets = self.client("secretsmanager")
        secrets.create_secret(Name=template.parameters["ModelApiKeySecretName"], SecretString=model_key)
        for logical_id in template.resources("AWS::SecretsManager::Secret"):
            # The webhook signing secret: the provider's, as the operator puts it after the deploy.
            self.webhook_secret = new_secret()
            secrets.create_secret(Name=template.physical(logical_id), SecretString=self.webhook_secret)
        lambda_client = self.client("lambda")
        for spec in template.functions.values():
            lambda_client.create_function(
                FunctionName=spec.name,
                Runtime="python3.12",
                Role=role_of[spec.logical_id],
                Handler=spec.handler,
                Code={"ZipFile": _IN_PROCESS},
                Timeout=spec.timeout,
                MemorySize=spec.memory,
            )
        self._create_messaging()
        sfn = self.client("stepfunctions")
        for logical_id, resource in template.resources("AWS::Serverless::StateMachine").items():
            properties = resource["Properties"]
            definition = (template.root / properties["DefinitionUri"]).read_text()
            for name, value in template.resolve(properties.get("DefinitionSubstitutions", {})).items():
                definition = definition.replace("${" + name + "}", value)
            sfn.create_state_machine(
                name=template.physical(logical_id),
                definition=definition,
                roleArn=role_of[logical_id],  # its tasks' invocations are judged by this role
                type=properties.get("Type", "STANDARD"),
            )

    def queue_url(self, logical_id: str) -> str:
        """The URL of one of the template's queues."""
        assert self.template is not None
        return str(self.client("sqs").get_queue_url(QueueName=self.template.physical(logical_id))["QueueUrl"])

    @property
    def event_bus_name(self) -> str:
        """The bus the functions put run events on."""
        assert self.template is not None
        return self.template.functions["ApiFunction"].environment["EVENT_BUS_NAME"]

    def _create_messaging(self) -> None:
        """Queues, buses and rules of the template, and its functions' EventBridge, SQS and schedule event sources."""
        assert self.template is not None and self.dispatcher is not None
        template = self.template
        sqs, events = self.client("sqs"), self.client("events")
        queues = template.resources("AWS::SQS::Queue")
        for logical_id, resource in queues.items():
            properties = template.resolve(resource.get("Properties", {}))
            attributes = {
                key: str(properties[key])
                for key in ("VisibilityTimeout", "MessageRetentionPeriod")
                if key in properties
            }
            sqs.create_queue(QueueName=template.physical(logical_id), Attributes=attributes)
        for logical_id, resource in queues.items():  # after all queues exist: redrive names a dead-letter queue
            redrive = template.resolve(resource.get("Properties", {})).get("RedrivePolicy")
            if redrive:
                sqs.set_queue_attributes(
                    QueueUrl=self.queue_url(logical_id), Attributes={"RedrivePolicy": json.dumps(redrive)}
                )
        for logical_id in template.resources("AWS::Events::EventBus"):
            events.create_event_bus(Name=template.physical(logical_id))
        assert self.translated is not None  # the rules as deployed: the template's and those SAM makes of events
        for logical_id, resource in self.translated.resources("AWS::Events::Rule").items():
            properties = self.translated.resolve(resource["Properties"])
            if "ScheduleExpression" in properties:
                continue  # a function's Schedule: run by its Schedule source below
            self.add_rule(
                self.translated.physical(logical_id),
                properties.get("EventBusName", "default"),
                properties["EventPattern"],
                [{"Id": target["Id"], "Arn": target["Arn"]} for target in properties["Targets"]],
                grant=False,  # the template's permissions and queue policies are its own
            )
        for spec in template.functions.values():
            for name, source in spec.events.items():
                properties = source.get("Properties", {})
                if source["Type"] == "SQS":
                    queue_name = properties["Queue"].rsplit(":", 1)[-1]
                    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
                    poller = SqsPoller(
                        self.client("sqs"),
                        url,
                        properties["Queue"],
                        self.dispatcher,
                        spec.logical_id,
                        int(properties.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                    )
                    self._pollers.append(poller.start())
                elif source["Type"] == "Schedule":
                    schedule = Schedule(self.dispatcher, spec.logical_id, f"{spec.name}-{name}", properties["Schedule"])
                    self._pollers.append(schedule.start())

    def add_rule(
        self, name: str, bus: str, pattern: dict[str, Any], targets: list[dict[str, str]], grant: bool = True
    ) -> str:
        """An EventBridge rule on ``bus`` with its targets; returns its ARN. With ``grant``, each target's resource
        policy lets the rule deliver to it, as a deployment would grant it (a queue's policy, a function's
        permission), else EventBridge's deliveries are refused."""
        events = self.client("events")
        rule = str(
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")["RuleArn"]
        )
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        for target in targets if grant else []:
            if ":sqs:" in target["Arn"]:
                statement = {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": target["Arn"],
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
                }
                url = self.client("sqs").get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[-1])["QueueUrl"]
                policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
                self.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
            elif ":lambda:" in target["Arn"]:
                self.client("lambda").add_permission(
                    FunctionName=target["Arn"],
                    StatementId=f"{name}-{target['Id']}",
                    Action="lambda:InvokeFunction",
                    Principal="events.amazonaws.com",
                    SourceArn=rule,
                )
        return rule

    def add_function(
        self,
        name: str,
        handler: str | Callable[[Any, Any], Any],
        code_dir: Path | None = None,
        tags: dict[str, str] | None = None,
        timeout: int = 30,
    ) -> str:
        """A Lambda function of the account besides the template's (a tool, say): created with its tags, and run
        in this process like the others. ``handler`` is ``module.function`` in ``code_dir``, or the callable
        itself. Returns its ARN."""
        assert self.dispatcher is not None
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        module = handler if isinstance(handler, str) else "app.handler"
        spec = FunctionSpec(name, name, arn, code_dir or ROOT, module, {}, timeout, 128)
        self.dispatcher.add(spec, None if isinstance(handler, str) else handler)
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=f"arn:aws:iam::{ACCOUNT}:role/threadrunner-local",
            Handler=module,
            Code={"ZipFile": _IN_PROCESS},
            Timeout=timeout,
            Tags=tags or {},
        )
        return arn

    def seed_api_key(self, api_key: str, project: str = PROJECT, name: str | None = None) -> None:
        """Store an API key (as its hash) that the local API accepts for ``project``; named after the project
        (and the key, when an earlier start kept another key of that name)."""
        from threadrunner.adapters.dynamodb import DynamoDBApiKeys
        from threadrunner.domain.api_keys import key_hash, redact
        from threadrunner.domain.common import now

        keys, digest = DynamoDBApiKeys(self.table_name, self.client("dynamodb")), key_hash(api_key)
        if keys.project_for(digest) == project:
            return  # kept from an earlier start
        try:
            keys.put_key(digest, project, name or project, now(), hint=redact(api_key))
        except ValueError:
            keys.put_key(digest, project, f"{name or project}-{digest[:8]}", now(), hint=redact(api_key))

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        if self.http:
            self.http.stop()
        if self.function_url:
            self.function_url.stop()
        if self.enforcer is not None:
            self.enforcer.uninstall()
        if self.model_server:
            self.model_server.stop()
        if self._moto:
            self._in_process.uninstall()
            self._moto.stop()
        if self.data is not None:
            self.data.close()
