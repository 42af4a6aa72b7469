"""Cold starts: a handler imported in a fresh interpreter, then invoked once on its sample event.

:func:`deployed` is the interpreter a new Lambda container runs: the runtime's Python, the built
function and layer (``sam build``'s output) and boto3 the way the runtime provides it, nothing of
the development environment, and no bytecode written (Lambda's file system is read-only: what the
build does not ship compiled is compiled at every cold start). The environment is the function's,
with Lambda's own variables and a sampled trace, as deployed (``Tracing: Active``). AWS calls go to
the local stack that is running, with the sample world of ``events/`` seeded; nothing leaves the
machine.

The baseline is what a function would import if it took everything (openai, boto3, Powertools'
event handler, pydantic), measured the same way in the same rounds: :func:`measure` gives both, and
``make bench`` prints them and their ratio. The cold-import test uses :func:`cold_import` (the
development interpreter) to prove which handlers load what.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadrunner_local.template import FunctionSpec, Template

_PROBE = r"""
import importlib.util, json, os, sys, time
source, attribute, event_file, paths = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
started = time.perf_counter()
sys.path[0:0] = [os.path.dirname(source), *paths]  # Lambda's task root, then the layer and the runtime
spec = importlib.util.spec_from_file_location("handler_module", source)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
def packages():  # the top-level packages, and threadrunner's own modules
    return sorted(name for name in sys.modules if "." not in name or name.startswith("threadrunner."))
loaded_at_import = packages()
error = None
aws = [0, 0.0]  # calls to AWS (the local stack here) and the seconds spent waiting on them
if "botocore.httpsession" in sys.modules:
    session = sys.modules["botocore.httpsession"].URLLib3Session
    send = session.send
    def timed(self, request):
        began = time.perf_counter()
        try:
            return send(self, request)
        finally:
            aws[0] += 1
            aws[1] += time.perf_counter() - began
    session.send = timed
if event_file:
    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        memory_limit_in_mb = 512
        aws_request_id = "cold-start-probe"
        def get_remaining_time_in_millis(self):
            return 30000
    with open(event_file) as file:
        event = json.load(file)
    try:
        getattr(module, attribute)(event, Context())
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
invoked = time.perf_counter()
print(json.dumps({
    "import": imported - started, "invocation": invoked - imported if event_file else None,
    "loaded_at_import": loaded_at_import, "loaded": packages(),
    "aws_calls": aws[0], "aws_seconds": aws[1], "error": error,
}))
"""

ROOT = Path(__file__).resolve().parents[2]

BASELINE = "import openai, boto3, pydantic\nfrom aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
"""What a function would import if it took everything: the figure cold starts are compared with."""


@dataclass(frozen=True)
class Interpreter:
    """How a new container's Python starts."""

    executable: str = sys.executable
    flags: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    """Put on ``sys.path`` after the task root (the function's folder)."""


def deployed(python: str, build_dir: Path, runtime_dir: Path) -> Interpreter:
    """Lambda's interpreter on the build: no site-packages, no ``PYTHON*`` variables, no bytecode written.

    ``runtime_dir`` holds boto3 as the runtime provides it (compiled); the layer brings the rest.
    """
    return Interpreter(
        python, ("-B", "-S", "-E"), (build_dir.resolve() / "CoreLayer" / "python", runtime_dir.resolve())
    )


@dataclass(frozen=True)
class ColdStart:
    import_seconds: float
    invocation_seconds: float | None
    """The first invocation on the sample event; ``None`` for an import alone."""
    loaded_at_import: frozenset[str]
    """The top-level packages in ``sys.modules`` once the handler was imported, and threadrunner's modules."""
    loaded: frozenset[str]
    """... and once the probe was done (after the invocation, if any)."""
    error: str | None
    """What the first invocation raised, if it did: a figure of a failing invocation is not the figure."""
    aws_calls: int = 0
    """AWS calls the first invocation made (to the local stack's moto, slower than AWS in its region)."""
    aws_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.import_seconds + (self.invocation_seconds or 0.0)


def handler_sources(template: Template) -> dict[Path, list[str]]:
    """Each handler file of the template, with the functions that use it."""
    sources: dict[Path, list[str]] = {}
    for spec in template.functions.values():
        sources.setdefault(spec.entry, []).append(spec.logical_id)
    return sources


def lambda_environment(spec: FunctionSpec, base: dict[str, str]) -> dict[str, str]:
    """The environment of a new container of ``spec``: ``base`` (the local stack's), Lambda's variables, a trace."""
    environment = dict(base)  # the local stack put every function's variables there
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)  # as deployed
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_X_AMZN_TRACE_ID": "Root=1-67000000-000000000000000000000001;Parent=0000000000000001;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # segments go to loopback, where no daemon listens
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
    )
    return environment


def probe(
    source: Path,
    environment: dict[str, str],
    attribute: str = "",
    event_file: Path | None = None,
    interpreter: Interpreter | None = None,
    cwd: Path | None = None,
) -> ColdStart:
    """Import ``source`` in a new interpreter and, with an event, call ``attribute`` on it once."""
    python = interpreter or Interpreter()
    paths = json.dumps([str(path) for path in python.paths])
    answer = subprocess.run(
        [
            python.executable,
            *python.flags,
            "-c",
            _PROBE,
            str(source.resolve()),
            attribute,
            str(event_file or ""),
            paths,
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd or source.parent,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"the probe of {source} failed:\n{answer.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return ColdStart(
        import_seconds=result["import"],
        invocation_seconds=result["invocation"],
        loaded_at_import=frozenset(result["loaded_at_import"]),
        loaded=frozenset(result["loaded"]),
        error=result["error"],
        aws_calls=result["aws_calls"],
        aws_seconds=result["aws_seconds"],
    )


def cold_import(source: Path, environment: dict[str, str] | None = None) -> ColdStart:
    """``source`` imported by the development interpreter, with AWS settings that reach nothing."""
    base = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    return probe(source, base | (environment or {}), cwd=ROOT)  # where the tests' own tool modules import from


def runtime_dir(scratch: Path, python: str) -> Path:
    """boto3 as the Lambda runtime provides it, compiled for ``python``: copied from this environment (the pin)."""
    import boto3
    import s3transfer

    target = scratch / "runtime"
    if not (target / "boto3").is_dir():
        for package in (boto3, s3transfer):
            shutil.copytree(Path(package.__file__).parent, target / package.__name__, dirs_exist_ok=True)
        subprocess.run([python, "-m", "compileall", "-q", str(target)], check=True)
    return target


def without_bytecode(build_dir: Path, scratch: Path) -> Path:
    """A copy of the build without its compiled bytecode: what a build that ships none gives Lambda."""
    target = scratch / "build-without-bytecode"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@dataclass
class Case:
    """One thing measured each round: a function on an event, or the baseline (``spec`` ``None``)."""

    label: str
    spec: FunctionSpec | None
    event_file: Path | None = None
    build_dir: Path | None = None
    """The build this case runs on, when not the one :func:`measure` is given."""
    environment: dict[str, str] = field(default_factory=dict)
    """Variables over the function's."""
    runs: list[ColdStart] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    """Each round's total over that round's baseline (of the same build)."""

    def median(self, figure: Callable[[ColdStart], float]) -> float:
        return statistics.median(figure(run) for run in self.runs)


def measure(
    cases: list[Case],
    python: str,
    build_dir: Path,
    scratch: Path,
    base_environment: dict[str, str],
    rounds: int,
    reset: Callable[[], None],
) -> None:
    """Run every case once per round, in order, each in a new interpreter; each round's baselines come first.

    Fills each case's ``runs`` and ``ratios``. Each function's case needs the sample world as it was seeded:
    ``reset`` restores it after each.
    """
    runtime = runtime_dir(scratch, python)
    scratch.mkdir(parents=True, exist_ok=True)
    baseline_source = scratch / "baseline_imports.py"
    baseline_source.write_text(BASELINE)
    any_spec = next(case.spec for case in cases if case.spec is not None)
    for _ in range(rounds):
        baselines: dict[Path, float] = {}
        for case in cases:
            build = case.build_dir or build_dir
            interpreter = deployed(python, build, runtime)
            if case.spec is None:
                environment = lambda_environment(any_spec, base_environment) | case.environment
                run = probe(baseline_source, environment, interpreter=interpreter)
                baselines[build] = run.seconds
            else:
                module, attribute = case.spec.handler.rsplit(".", 1)
                source = build / case.spec.logical_id / (module.replace(".", "/") + ".py")
                environment = lambda_environment(case.spec, base_environment) | case.environment
                run = probe(source, environment, attribute, case.event_file, interpreter)
                reset()
            case.runs.append(run)
            if build in baselines:
                case.ratios.append(run.seconds / baselines[build])
