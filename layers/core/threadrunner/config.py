"""Configuration: the Lambda environment, parsed once. Nothing else reads ``os.environ``."""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .domain.budget import OUTPUT_RESERVE_TOKENS, Budget, ProjectLimits
from .domain.code_sandbox import SandboxLimits
from .domain.deployment import RunDefaults


class Settings(BaseModel):
    """Every setting threadrunner reads, with the environment variable that carries it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    table_name: str = Field("threadrunner", alias="TABLE_NAME")
    """The DynamoDB table."""
    state_machine_arn: str = Field("", alias="STATE_MACHINE_ARN")
    files_bucket: str = Field("", alias="FILES_BUCKET")
    """The S3 bucket of files' bytes."""
    keyword_index: str = Field("", alias="KEYWORD_INDEX")
    """The ARN of the S3 Vectors index of every chunk's hashed keywords."""
    embedding_index: str = Field("", alias="EMBEDDING_INDEX")
    """The ARN of the S3 Vectors index of every chunk's embedding (with an embedding model)."""
    embedding_model: str = Field("text-embedding-3-small", alias="EMBEDDING_MODEL")
    """The provider's embedding model; empty: chunks are found by their keywords alone."""
    embedding_dimensions: int = Field(1536, alias="EMBEDDING_DIMENSIONS", ge=1, le=4096)
    """The size of the embeddings (asked of the provider, and the embeddings index's dimension)."""
    index_queue_url: str = Field("", alias="INDEX_QUEUE_URL")
    """The queue of the IndexFunction's jobs."""
    index_dead_letter_queue_arn: str = Field("", alias="INDEX_DEAD_LETTER_QUEUE_ARN")
    """The dead-letter queue of the IndexFunction's jobs: a job from it is given up, its file ended ``failed``."""
    """The run loop; ApiFunction starts one execution per run."""
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME")
    """The EventBridge bus run events go to."""
    tool_function_name: str = Field("", alias="TOOL_FUNCTION_NAME")
    """The ToolFunction, asked for its catalogue of server-side tools."""
    function_version: str | None = Field(None, alias="AWS_LAMBDA_FUNCTION_VERSION")
    """The version of the function this process runs, as Lambda sets it (registry tools' runs record it)."""
    tool_modules: str = Field("threadrunner.tools", alias="TOOL_MODULES")
    """Comma-separated modules the ToolFunction imports to register its tools."""
    server_tools: str = Field("[]", alias="SERVER_TOOLS")
    """The deployment's Lambda tools: a JSON array of tools as ``POST /v1/server_tools`` takes them."""
    functions_arn: str = Field("", alias="FUNCTIONS_ARN")
    """The ARN of every Lambda function of the deployment's partition, region and account
    (``arn:aws:lambda:us-east-1:123456789012:function:*``): a Lambda tool must be one of them."""
    circuit_failure_threshold: int = Field(5, alias="CIRCUIT_FAILURE_THRESHOLD", ge=1, le=100)
    """Failures in a row of a server tool or the model provider that open its circuit."""
    circuit_recovery_seconds: int = Field(30, alias="CIRCUIT_RECOVERY_SECONDS", ge=1, le=3600)
    """How long an open circuit answers at once before a probe call may go through."""
    circuit_success_threshold: int = Field(2, alias="CIRCUIT_SUCCESS_THRESHOLD", ge=1, le=100)
    """Probe calls in a row that must succeed for a half-open circuit to close."""
    model_base_url: str = Field("https://api.openai.com/v1", alias="MODEL_BASE_URL")
    """Base URL of the Responses API."""
    model_api_key_secret: str = Field("", alias="MODEL_API_KEY_SECRET")
    """Name of the Secrets Manager secret that holds the provider's API key."""
    tracing_detail: Literal["invocations", "calls"] = Field("invocations", alias="TRACING_DETAIL")
    """``calls`` adds a trace subsegment per AWS call (Powertools Tracer, the X-Ray SDK on every cold start)."""
    snapstart: bool = Field(False, alias="SNAPSTART")
    """Whether containers start from a SnapStart snapshot: the entry points then prepare it (bootstrap.snapshot)."""
    model_override: str = Field("", alias="MODEL_OVERRIDE")
    """When set, every model call uses this model instead of the assistant's or run's."""
    model_context_tokens: int = Field(128_000, alias="MODEL_CONTEXT_TOKENS", ge=1024)
    """The context window of the models in use: ``auto`` truncation sends the newest messages that fit it."""
    model_streaming: bool = Field(True, alias="MODEL_STREAMING")
    """Responses are created streaming, so runs' streams relay their text as the model writes it; ``false``
    for a provider that cannot stream background responses (streams then get each text in one delta)."""
    model_max_retries: int = Field(3, alias="MODEL_MAX_RETRIES")
    """Retries of the SDK for 429, 5xx and timeouts, with its exponential backoff."""
    model_timeout_seconds: float = Field(30.0, alias="MODEL_TIMEOUT_SECONDS")
    """Timeout of one HTTP request to the provider."""
    model_webhooks: bool = Field(False, alias="MODEL_WEBHOOKS")
    """The provider sends signed webhooks when background responses end: each new run's turns wait for their
    response's webhook on a task token instead of polling (docs/run-loop.md, "Webhooks")."""
    model_webhook_secret: str = Field("", alias="MODEL_WEBHOOK_SECRET")
    """The ARN of the secret that holds the provider's webhook signing secret (``whsec_...``); empty: the API has no
    webhook endpoint (``POST /v1/webhooks`` answers 404)."""
    model_webhook_wait_seconds: int = Field(30, alias="MODEL_WEBHOOK_WAIT_SECONDS", ge=1, le=3600)
    """How long a turn waits for its response's webhook before it polls the response: the most a lost webhook
    costs a turn."""
    check_turn_function: str = Field("", alias="CHECK_TURN_FUNCTION")
    """The CheckTurn function, which ApiFunction asks to check a turn whose response's webhook came."""
    tool_outputs_timeout_seconds: int = Field(600, alias="TOOL_OUTPUTS_TIMEOUT_SECONDS", ge=1)
    """How long a run waits in ``requires_action`` for the client's tool outputs before it expires."""
    max_tool_rounds: int = Field(10, alias="MAX_TOOL_ROUNDS", ge=1, le=30)
    """Model turns with function calls one run may take before it fails as runaway."""
    max_tool_calls_per_turn: int = Field(64, alias="MAX_TOOL_CALLS_PER_TURN", ge=1, le=96)
    """Function calls one model turn may make; more fail the run. A turn's step and calls are one DynamoDB
    transaction (at most 100 items), and a Map of thousands of calls would exhaust the execution's history."""
    poll_window_seconds: float = Field(4.0, alias="POLL_WINDOW_SECONDS")
    """How long one CheckTurn invocation polls the provider before handing back to a Wait state."""
    max_poll_delay_seconds: int = Field(10, alias="MAX_POLL_DELAY_SECONDS")
    """The longest Wait between two CheckTurn invocations."""
    files_wait_seconds: int = Field(300, alias="FILES_WAIT_SECONDS", ge=0, le=3600)
    """How long a run waits, ``queued``, for its vector stores' files being indexed; then it starts without the
    files still unfinished."""
    poll_after_ms: int = Field(500, alias="POLL_AFTER_MS")
    """The ``openai-poll-after-ms`` header on an unfinished run: how soon a client should ask again."""
    max_tool_output_bytes: int = Field(65536, alias="MAX_TOOL_OUTPUT_BYTES", ge=1024, le=262144)
    """Longer tool outputs are cut to this many UTF-8 bytes (a DynamoDB item holds 400 KB)."""
    secret_max_age_seconds: int = Field(300, alias="SECRET_MAX_AGE_SECONDS")
    """How long the provider key is cached before Secrets Manager is asked again."""
    key_cache_seconds: float = Field(60.0, alias="KEY_CACHE_SECONDS", ge=0)
    """How long ApiFunction trusts its lookup of an API key: a revoked key works at most this long."""
    unknown_key_cache_seconds: float = Field(10.0, alias="UNKNOWN_KEY_CACHE_SECONDS", ge=0)
    """How long ApiFunction remembers that a key does not exist (a key created meanwhile waits this long)."""
    key_cache_entries: int = Field(2000, alias="KEY_CACHE_ENTRIES", ge=1)
    """The most key lookups one container remembers (about 200 bytes each)."""
    output_reserve_tokens: int = Field(OUTPUT_RESERVE_TOKENS, alias="OUTPUT_RESERVE_TOKENS", ge=1, le=1_000_000)
    """What a model response without ``max_output_tokens`` (a run's turn, a forwarded call) reserves against the
    budgets for its answer until the provider counts it: the most the models in use write in one response."""
    daily_token_budget: int = Field(0, alias="DAILY_TOKEN_BUDGET", ge=0)
    """Tokens a project may use per UTC day before new runs answer 429; 0 is no limit."""
    daily_token_budget_per_user: int = Field(0, alias="DAILY_TOKEN_BUDGET_PER_USER", ge=0)
    """Tokens each user may use per UTC day; 0 is no limit. A project's own budget (scripts/keys.py) wins."""
    project_max_active_runs: int = Field(100, alias="PROJECT_MAX_ACTIVE_RUNS", ge=0)
    """Unfinished runs a project may have at once (more answer 429); 0 is no limit. A project's own wins."""
    project_requests_per_minute: int = Field(1200, alias="PROJECT_REQUESTS_PER_MINUTE", ge=0)
    """API requests a project may make per minute (more answer 429); 0 is no limit. A project's own wins."""
    project_max_open_streams: int = Field(50, alias="PROJECT_MAX_OPEN_STREAMS", ge=0)
    """Streamed answers a project may have open at once (more answer 429); 0 is no limit. A project's own wins."""
    stream_keep_alive_seconds: float = Field(5.0, alias="STREAM_KEEP_ALIVE_SECONDS", gt=0, le=60)
    """A streamed run sends an SSE comment after this long without an event, so a client that left is found."""
    retention_days: int = Field(90, alias="RETENTION_DAYS", ge=0)
    """Days a thread and everything in it live after its last activity (TTL); 0 keeps them."""
    max_request_bytes: int = Field(2 * 1024 * 1024, alias="MAX_REQUEST_BYTES", ge=1024, le=3 * 1024 * 1024)
    """Larger request bodies answer 413 (API Gateway takes 10 MB, a Lambda event 6 MB). At most 3 MiB: a turn's
    tool outputs are stored in one DynamoDB transaction, which holds 4 MB."""
    event_source_projects: str = Field("", alias="EVENT_SOURCE_PROJECTS")
    """``source=project,...``: the project each EventBridge source posts users' messages for; others are refused."""
    queue_projects: str = Field("", alias="QUEUE_PROJECTS")
    """``queue-arn=project,...``: the project each SQS queue posts users' messages for."""
    idempotency_hours: int = Field(24, alias="IDEMPOTENCY_HOURS", ge=1)
    """How long the answer to a POST with an ``Idempotency-Key`` is kept for retries."""
    code_interpreter_passthrough: bool = Field(False, alias="CODE_INTERPRETER_PASSTHROUGH")
    """``code_interpreter`` is the provider's hosted tool, passed through, instead of threadrunner's own sandbox."""
    code_interpreter_sandbox: str = Field("agentcore", alias="CODE_INTERPRETER_SANDBOX")
    """Where the code runs: ``agentcore`` (Amazon Bedrock AgentCore Code Interpreter, ``CODE_INTERPRETER_ID``), or
    ``module:function`` of another sandbox made from the limits (the local stack's
    ``threadrunner_local.sandbox:code_sandbox``)."""
    code_interpreter_id: str = Field("", alias="CODE_INTERPRETER_ID")
    """The AgentCore code interpreter the template creates."""
    code_interpreter_idle_seconds: int = Field(1200, alias="CODE_INTERPRETER_IDLE_SECONDS", ge=60, le=28800)
    """A thread's code session ends after this long unused, with its variables and files."""
    code_interpreter_execution_seconds: float = Field(60.0, alias="CODE_INTERPRETER_EXECUTION_SECONDS", gt=0, le=240)
    """Wall-clock time one execution may take before it is stopped (within the ToolFunction's 300 s)."""
    code_interpreter_memory_mb: int = Field(1024, alias="CODE_INTERPRETER_MEMORY_MB", ge=64)
    """Address space of each process of a local sandbox's session (AgentCore's microVM has its own)."""
    code_interpreter_max_output_bytes: int = Field(16384, alias="CODE_INTERPRETER_MAX_OUTPUT_BYTES", ge=256, le=65536)
    """The most of an execution's output and error the model reads; the rest is cut."""
    code_interpreter_max_file_bytes: int = Field(
        64 * 1024 * 1024, alias="CODE_INTERPRETER_MAX_FILE_BYTES", ge=1024, le=100 * 1024 * 1024
    )
    """The largest file staged into a session, written by the code, or given back (AgentCore takes 100 MB inline)."""
    code_interpreter_max_files: int = Field(20, alias="CODE_INTERPRETER_MAX_FILES", ge=1, le=100)
    """Files staged into a session at once, and files or images given back by one execution."""
    daily_code_interpreter_seconds: int = Field(0, alias="DAILY_CODE_INTERPRETER_SECONDS", ge=0)
    """Execution seconds of ``code_interpreter`` a project may use per UTC day; 0 is no limit. A project's own budget
    (scripts/keys.py) wins."""

    @property
    def code_interpreter_limits(self) -> SandboxLimits:
        """What one code session and one execution may take."""
        return SandboxLimits(
            idle_seconds=self.code_interpreter_idle_seconds,
            execution_seconds=self.code_interpreter_execution_seconds,
            memory_mb=self.code_interpreter_memory_mb,
            max_output_bytes=self.code_interpreter_max_output_bytes,
            max_file_bytes=self.code_interpreter_max_file_bytes,
            max_files=self.code_interpreter_max_files,
        )

    @property
    def run_defaults(self) -> RunDefaults:
        """What this deployment decides for every new run."""
        limit = self.daily_token_budget or None
        per_user = self.daily_token_budget_per_user or None
        limits = ProjectLimits(
            active_runs=self.project_max_active_runs or None,
            requests_per_minute=self.project_requests_per_minute or None,
            open_streams=self.project_max_open_streams or None,
        )
        budget = Budget(
            daily_tokens=limit,
            daily_tokens_per_user=per_user,
            daily_code_interpreter_seconds=self.daily_code_interpreter_seconds or None,
        )
        return RunDefaults(
            self.model_override, budget, limits, self.output_reserve_tokens, context_tokens=self.model_context_tokens
        )


@functools.cache
def settings() -> Settings:
    """The settings of this process."""
    return Settings.model_validate(dict(os.environ))
