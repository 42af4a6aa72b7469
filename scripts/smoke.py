"""After `sam deploy`: the README's example run against the deployed stack, through each of its URLs.

What the local stack cannot rehearse is proven here, on the first minutes of a real deployment: API Gateway's
routes and headers, the Lambda Web Adapter's streaming function URL, the roles as IAM applies them, Secrets
Manager's key and the provider behind it. It reads the stack's outputs (your AWS credentials and region, as the
AWS CLI finds them), creates a key for a project of its own (``smoke``), runs examples/weather.py unchanged with
``THREADRUNNER_URL`` set to ``ApiUrl`` and then ``StreamingApiUrl``, checks that each run completed with the
server tool's call, and revokes the key.

    .venv/bin/python scripts/smoke.py --stack-name threadrunner
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "weather.py"
KEYS = ROOT / "scripts" / "keys.py"


def outputs(stack_name: str) -> dict[str, str]:
    """The stack's outputs, by key."""
    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _keys(*arguments: str) -> str:
    done = subprocess.run([sys.executable, str(KEYS), *arguments], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run_example(url: str, api_key: str) -> list[str]:
    """Where the example went wrong against ``url``; empty when its run completed with the server tool's call."""
    environment = {**os.environ, "THREADRUNNER_URL": url, "THREADRUNNER_API_KEY": api_key}
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=environment, timeout=300)
    print(done.stdout, done.stderr, sep="", end="")
    problems = []
    if done.returncode != 0:
        problems.append(f"the example exited {done.returncode}")
    if "run: completed" not in done.stdout:
        problems.append("the run did not complete")
    if "tool call: get_weather" not in done.stdout:
        problems.append("the server tool was not called")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True, help="the stack `sam deploy` made")
    args = parser.parse_args(argv)
    found = outputs(args.stack_name)
    urls = {name: found[name] for name in ("ApiUrl", "StreamingApiUrl") if name in found}
    name = "smoke-" + secrets.token_hex(4)
    api_key = _keys("--table", found["TableName"], "create", "--name", name, "--project", "smoke")
    failed = False
    try:
        for output, url in urls.items():
            print(f"== {output}: {url}")
            problems = run_example(url, api_key)
            for problem in problems:
                print(f"FAILED ({output}): {problem}", file=sys.stderr)
            failed = failed or bool(problems)
    finally:
        _keys("--table", found["TableName"], "revoke", "--name", name)
    print("smoke test " + ("failed" if failed else f"passed on {', '.join(urls)}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
