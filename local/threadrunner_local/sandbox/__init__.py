"""The local stack's code sandbox (``host.py``), the process that builds a session (``jail.py``) and the
interpreter inside it (``repl.py``)."""

from threadrunner.domain.code_sandbox import SandboxLimits
from threadrunner.ports import CodeSandbox

from .host import LocalSandbox


def code_sandbox(limits: SandboxLimits) -> CodeSandbox:
    """The local stack's sandbox, as its ToolFunction makes it (``CODE_SANDBOX``)."""
    return LocalSandbox(limits)


__all__ = ["LocalSandbox", "code_sandbox"]
