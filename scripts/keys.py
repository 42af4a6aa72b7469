"""Create, list and revoke threadrunner API keys (``make key NAME=...``), and set projects' budgets.

Keys are stored only as SHA-256 hashes, each bound to a project; a new key is printed once.
Without ``--table`` the command works on the local stack of ``make run`` (moto on port 4566);
with ``--table`` it works on a deployed table with your AWS credentials (stack output TableName).

    python scripts/keys.py create --name alice --project acme
    python scripts/keys.py list
    python scripts/keys.py revoke --name alice
    python scripts/keys.py budget --project acme --daily-tokens 2000000 --daily-tokens-per-user 50000
    python scripts/keys.py budget --project acme --daily-code-interpreter-seconds 3600
    python scripts/keys.py models --project acme --allow gpt-4.1-mini,gpt-4.1   # --any lifts the limit
    python scripts/keys.py hosted-tools --project acme --allow web_search       # --none takes them back
    python scripts/keys.py limits --project acme --active-runs 20 --requests-per-minute 600 --open-streams 10
    python scripts/keys.py policy --project acme                               # what is set
    python scripts/keys.py create --name ci --table threadrunner-Table-ABC123   # a deployed stack
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import boto3

from threadrunner.adapters import dynamodb
from threadrunner.domain.api_keys import key_hash, new_api_key, redact
from threadrunner.domain.budget import Budget, ProjectLimits
from threadrunner.domain.common import now
from threadrunner.domain.forwarding import HOSTED_TOOLS

LOCAL_ENDPOINT = f"http://127.0.0.1:{os.environ.get('THREADRUNNER_AWS_PORT', '4566')}"
"""make run's moto, on the port make run uses."""
LOCAL_TABLE = "threadrunner-Table"


def _table(args: argparse.Namespace) -> str:
    return str(args.table or LOCAL_TABLE)


def _client(args: argparse.Namespace) -> Any:
    if args.table:
        return boto3.client("dynamodb", endpoint_url=args.endpoint_url)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return boto3.client("dynamodb", endpoint_url=args.endpoint_url or LOCAL_ENDPOINT, region_name="us-east-1")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", help="a deployed table; without it, the local stack's")
    parser.add_argument("--endpoint-url", help="a DynamoDB endpoint other than AWS's")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="a unique name for the key")
    create.add_argument("--project", default="default", help="the project the key opens (default: default)")
    commands.add_parser("list", help="list keys (names, projects, hints; never the keys)")
    revoke = commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("--name", required=True)
    budget = commands.add_parser("budget", help="set a project's daily budgets (omit a limit for none)")
    budget.add_argument("--project", required=True)
    budget.add_argument("--daily-tokens", type=int, help="tokens the project may use per UTC day")
    budget.add_argument("--daily-tokens-per-user", type=int, help="tokens each user may use per UTC day")
    budget.add_argument(
        "--daily-code-interpreter-seconds", type=int, help="seconds of code_interpreter execution per UTC day"
    )
    models = commands.add_parser("models", help="limit the models a project's assistants and runs may name")
    models.add_argument("--project", required=True)
    choice = models.add_mutually_exclusive_group(required=True)
    choice.add_argument("--allow", help="comma-separated model ids")
    choice.add_argument("--any", action="store_true", help="lift the limit")
    hosted = commands.add_parser(
        "hosted-tools", help="let a project's forwarded requests use the provider's hosted tools (priced per call)"
    )
    hosted.add_argument("--project", required=True)
    granted = hosted.add_mutually_exclusive_group(required=True)
    granted.add_argument("--allow", help=f"comma-separated, of: {', '.join(sorted(HOSTED_TOOLS))}")
    granted.add_argument("--none", action="store_true", help="allow none (the default)")
    limits = commands.add_parser("limits", help="set what a project may do at once (omit a limit for the default)")
    limits.add_argument("--project", required=True)
    limits.add_argument("--active-runs", type=int, help="unfinished runs at once")
    limits.add_argument("--requests-per-minute", type=int, help="API requests per minute")
    limits.add_argument("--open-streams", type=int, help="streamed answers open at once")
    policy = commands.add_parser("policy", help="print what is set for a project")
    policy.add_argument("--project", required=True)
    args = parser.parse_args(argv)

    if args.command in ("budget", "models", "hosted-tools", "limits", "policy"):
        projects = dynamodb.stores(_table(args), args.project, _client(args)).projects
        current = projects.get_policy()
        if args.command == "budget":
            budget = Budget(
                daily_tokens=args.daily_tokens,
                daily_tokens_per_user=args.daily_tokens_per_user,
                daily_code_interpreter_seconds=args.daily_code_interpreter_seconds,
            )
            current = current.model_copy(update={"budget": budget})
        elif args.command == "models":
            allowed = None if args.any else sorted(filter(None, (m.strip() for m in args.allow.split(","))))
            current = current.model_copy(update={"models": allowed})
        elif args.command == "hosted-tools":
            tools = [] if args.none else sorted({t.strip() for t in args.allow.split(",") if t.strip()})
            unknown = sorted(set(tools) - HOSTED_TOOLS)
            if unknown:
                print(
                    f"not hosted tools: {', '.join(unknown)}; choose from {', '.join(sorted(HOSTED_TOOLS))}",
                    file=sys.stderr,
                )
                return 1
            current = current.model_copy(update={"hosted_tools": tools})
        elif args.command == "limits":
            chosen = ProjectLimits(
                active_runs=args.active_runs,
                requests_per_minute=args.requests_per_minute,
                open_streams=args.open_streams,
            )
            current = current.model_copy(update={"limits": chosen})
        if args.command != "policy":
            projects.set_policy(current)
        print(json.dumps({"project": args.project, **current.model_dump()}))
        return 0

    keys = dynamodb.DynamoDBApiKeys(_table(args), _client(args))
    if args.command == "create":
        api_key = new_api_key()
        try:
            keys.put_key(key_hash(api_key), args.project, args.name, now(), hint=redact(api_key))
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(api_key)
    elif args.command == "list":
        for entry in keys.list_keys():
            print(json.dumps(entry, sort_keys=True))
    else:
        try:
            keys.revoke(args.name)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 1
        print(f"revoked {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
