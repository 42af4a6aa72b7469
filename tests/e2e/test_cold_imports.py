"""What a handler loads when a container starts: functions that never call the model do not import openai (about half
a second; the streaming and index functions do, they call the model), none loads the X-Ray SDK unless calls are
traced (TRACING_DETAIL=calls), and the run loop loads no request model of the API."""

from __future__ import annotations

from pathlib import Path

from threadrunner_harness.cold_start import cold_import, handler_sources
from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[2]


def test_no_handler_module_imports_openai_or_the_xray_sdk_when_it_loads(tmp_path):
    sources = handler_sources(load(ROOT))
    assert {source.parent.name for source in sources} == {
        "api",
        "run_loop",
        "tools",
        "events",
        "queue",
        "index",
        "usage",
    }
    for source in sources:
        loaded = cold_import(source).loaded
        if source.name == "serve.py" or source.parent.name == "index":
            # The streaming function's streams follow the model; the IndexFunction embeds every chunk.
            assert "openai" in loaded
            continue
        assert "openai" not in loaded, source
        assert "aws_xray_sdk" not in loaded, source
        if source.parent.name == "run_loop":
            assert "threadrunner.app.requests" not in loaded and "threadrunner.api" not in loaded, source
    # The probe notices a module that does: the loop's model client is the one path that imports openai.
    control = tmp_path / "control.py"
    control.write_text("from threadrunner import bootstrap\nbootstrap.model_client()\n")
    assert "openai" in cold_import(control).loaded


def test_traced_calls_load_the_xray_sdk(tmp_path):
    tools = next(source for source in handler_sources(load(ROOT)) if source.parent.name == "tools")
    lambda_like = {"LAMBDA_TASK_ROOT": str(tools.parent), "AWS_LAMBDA_FUNCTION_NAME": "ToolFunction"}
    assert "aws_xray_sdk" in cold_import(tools, lambda_like | {"TRACING_DETAIL": "calls"}).loaded
    assert "aws_xray_sdk" not in cold_import(tools, lambda_like | {"TRACING_DETAIL": "invocations"}).loaded
