"""The offline model's rule for ``code_interpreter``: code the user wrote out is run exactly, and answered from.

When the model is offered the ``code_interpreter`` function (threadrunner's own) and the user's last message holds a
fenced Python block (```` ```python ```` or ```` ```py ````), it calls the function once per block, in order, with
the block's code as it is. Given the outputs back, it reports them: the error when the code failed (the exception a
traceback ends with, after what stopped the code when the error says so first), what it printed, the files it wrote
as the ``sandbox:/mnt/data/...`` links threadrunner gave (so the message's ``file_path`` annotations apply), and how
many images it showed.
"""

from __future__ import annotations

import json
import re
from typing import Any

CODE_INTERPRETER = "code_interpreter"
"""The function threadrunner offers for its code tool."""

_FENCED = re.compile(r"```(?:python|py)[ \t]*\r?\n(.*?)```", re.DOTALL)
_SAID_CHARS = 1000
"""The most of a code's output the answer repeats."""


def code_calls(tools: list[dict[str, Any]], user_text: str, tool_choice: Any) -> list[tuple[str, dict[str, Any]]]:
    """One ``code_interpreter`` call per fenced Python block of the user's text, when the model has the function and
    ``tool_choice`` lets it call it."""
    offered = any(tool.get("type") == "function" and tool.get("name") == CODE_INTERPRETER for tool in tools)
    named = tool_choice.get("name") if isinstance(tool_choice, dict) else None
    if not offered or tool_choice == "none" or named not in (None, CODE_INTERPRETER):
        return []
    return [(CODE_INTERPRETER, {"code": block}) for block in _FENCED.findall(user_text) if block.strip()]


def _gist(error: str) -> str:
    """An error in a line: the exception a traceback ends with, after what stopped the code when it says so first."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    first, last = lines[0], lines[-1]
    return last if first == last or first.startswith("Traceback") else f"{first.rstrip('.')}. {last}"


def reported(output: str) -> str:
    """What a ``code_interpreter`` output says, in a sentence or a few."""
    try:
        value = json.loads(output)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return f"The code tool answered: {output[:_SAID_CHARS]}"
    parts = []
    error = str(value.get("error") or "").strip()
    if error:
        parts.append(f"The code failed: {_gist(error)[:_SAID_CHARS]}")
    printed = str(value.get("output") or "").strip()
    if printed:
        parts.append(f"The code printed: {printed[:_SAID_CHARS]}")
    elif not error:
        parts.append("The code ran and printed nothing")
    files = [str(link) for link in value.get("files") or []]
    if files:
        parts.append("It wrote " + ", ".join(files))
    images = value.get("images_shown_to_the_user")
    if images:
        parts.append(f"It showed {images} image{'s' if images != 1 else ''}")
    return " ".join(part.rstrip(".") + "." for part in parts)
