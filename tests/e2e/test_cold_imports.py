"""Functions that never call the model must not import openai: it costs about half a second of cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
before = "openai" in sys.modules
from threadrunner import bootstrap
bootstrap.model_client()  # the one path that needs the model
print(json.dumps({"at_import": before, "after_model_client": "openai" in sys.modules}))
"""


def _imports(source: Path) -> dict[str, bool]:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, str(source)], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_only_the_run_loop_functions_can_import_openai():
    template = load(ROOT)
    sources = {spec.code_dir / (spec.handler.split(".")[0] + ".py") for spec in template.functions.values()}
    assert {source.parent.name for source in sources} == {"api", "run_loop", "tools"}
    for source in sources:
        imported = _imports(source)
        # No handler module imports openai when it loads; the probe proves it would notice one that did.
        assert imported == {"at_import": False, "after_model_client": True}, source
