"""template.yaml through the SAM transform, as CloudFormation receives it from ``sam deploy``.

The roles SAM makes for the functions and the state machine (policy templates expanded to their statements, the
managed policies it attaches), the permissions it gives EventBridge and API Gateway on the functions, the rules
and the HTTP API's routes all exist only after the transform. It is done by ``aws-sam-translator``, the library
SAM CLI uses, at the version SAM CLI pins. That version pins a pydantic the project cannot take (pyproject.toml
pins a newer one), so the translator runs in the tools' environment (``.venv-tools``, made by ``make validate``),
this file being its script, and the result is kept in ``.aws-sam/transformed.json`` with the digest of the
template it came from: the local stack reads it, and makes it again when template.yaml changed.

Run as a script (by the tools' Python): ``sam_transform.py TEMPLATE OUTPUT``. Imported (by the local stack):
:func:`transformed`. It imports nothing outside the standard library at module level, for both.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CACHE = Path(".aws-sam") / "transformed.json"
"""Where the transformed template is kept, under the project's root."""
TOOLS_PYTHON = Path(".venv-tools") / "bin" / "python"
REGION = "us-east-1"
_LOCAL_URIS = ("CodeUri", "ContentUri", "DefinitionUri")
"""Local paths SAM would upload: the transform needs them as S3 URIs (``sam validate`` replaces them too)."""


def digest(template: Path) -> str:
    return hashlib.sha256(template.read_bytes()).hexdigest()


def transformed(root: Path) -> dict[str, Any]:
    """The transformed template of ``root/template.yaml``: the kept one if it is of this template, else made now."""
    template, kept = root / "template.yaml", root / CACHE
    wanted = digest(template)
    if kept.exists():
        document = json.loads(kept.read_text())
        if document.get("template_sha256") == wanted:
            return dict(document["template"])
    python = root / TOOLS_PYTHON
    if not python.exists():
        raise RuntimeError(
            "The local stack judges every AWS call by the policies SAM makes from template.yaml, with SAM's own "
            "translator: run `make validate` once (it makes the tools' environment, .venv-tools)."
        )
    environment = {**os.environ, "AWS_DEFAULT_REGION": REGION}  # the translator asks boto3 for a region
    subprocess.run([str(python), __file__, str(template), str(kept)], check=True, cwd=root, env=environment)
    return dict(json.loads(kept.read_text())["template"])


def main(template_path: str, output_path: str) -> None:
    """Transform ``template_path`` with SAM's translator and write it, with its digest, to ``output_path``."""
    from samtranslator import __version__
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = Path(template_path)
    document = yaml_parse(template.read_text())
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in _LOCAL_URIS:
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://local/{properties[key]}"

    class NoManagedPolicyLookup:
        """The managed policies the template names are found in the translator's own list, never asked of IAM."""

        def load(self) -> dict[str, str]:
            return {}

    output = transform(document, {}, NoManagedPolicyLookup())
    kept = {"template_sha256": digest(template), "translator": __version__, "template": output}
    target = Path(output_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(kept, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
