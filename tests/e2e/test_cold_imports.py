"""Functions that never call the model must not import openai: it costs about half a second of cold start."""

from __future__ import annotations

from pathlib import Path

from threadrunner_harness.cold_import import cold_import, handler_sources
from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[2]


def test_no_handler_module_imports_openai_when_it_loads(tmp_path):
    sources = handler_sources(load(ROOT))
    assert {source.parent.name for source in sources} == {"api", "run_loop", "tools", "triggers"}
    for source in sources:
        assert not cold_import(source, ROOT).openai_loaded, source
    # The probe notices a module that does: the loop's model client is the one path that imports it.
    control = tmp_path / "control.py"
    control.write_text("from threadrunner import bootstrap\nbootstrap.model_client()\n")
    assert cold_import(control, ROOT).openai_loaded
