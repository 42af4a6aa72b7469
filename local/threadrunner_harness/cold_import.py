"""Import a handler module in a fresh interpreter: how long it takes and whether it pulled in openai.

The cold-import test and the benchmark both use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from threadrunner_local.template import Template

_PROBE = """
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"seconds": time.perf_counter() - started, "openai": "openai" in sys.modules}))
"""


@dataclass(frozen=True)
class ColdImport:
    seconds: float
    openai_loaded: bool


def handler_sources(template: Template) -> dict[Path, list[str]]:
    """Each handler file of the template, with the functions that use it."""
    sources: dict[Path, list[str]] = {}
    for spec in template.functions.values():
        sources.setdefault(spec.code_dir / (spec.handler.rsplit(".", 1)[0] + ".py"), []).append(spec.logical_id)
    return sources


def cold_import(source: Path, cwd: Path) -> ColdImport:
    """Import ``source`` in a new interpreter, with AWS settings that reach nothing."""
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    answer = subprocess.run(
        [sys.executable, "-c", _PROBE, str(source)], capture_output=True, text=True, env=env, cwd=cwd, check=True
    )
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    return ColdImport(seconds=result["seconds"], openai_loaded=result["openai"])
