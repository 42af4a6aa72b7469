"""``python -m threadrunner_harness.serve``: what ``make run`` starts, the local stack with the sample world."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from threadrunner_local.stack import LocalStack, StackConfig

from . import samples

EXAMPLE = """\
threadrunner is serving the Assistants API v2 on {url}
  AWS (moto):  {aws}
  model:       {model}
  API key:     {key}   (THREADRUNNER_API_KEY)

Try it in another terminal: the README's example, unmodified Assistants API code,

  .venv/bin/python examples/weather.py

or point any openai client at it:  OpenAI(base_url="{url}", api_key="{key}")

Look at what runs did, turn by turn, in the console:  {console}   (sign in with the API key)

{kept}
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The local stack, serving the API (make run).")
    parser.add_argument("--data", type=Path, help="where the data is kept (THREADRUNNER_DATA; .threadrunner/)")
    parser.add_argument("--ephemeral", action="store_true", help="keep nothing: start empty, forget at the end")
    args = parser.parse_args(argv)
    config = samples.configure(StackConfig.from_environment())
    config.data_dir = None if args.ephemeral else args.data or config.data_dir
    stack = LocalStack(config).start()
    model = stack.model_server.url + " (offline test model)" if stack.model_server else config.openai_base_url
    if config.data_dir is None:
        kept = "Ctrl-C stops the stack; everything is in memory and goes with it (--ephemeral)."
    else:
        recovered = stack.recovered
        again = f" ({recovered.runs} runs and {recovered.files} files taken up again)" if recovered else ""
        kept = f"Ctrl-C stops the stack; its data stays in {config.data_dir}{again}."
    print(
        EXAMPLE.format(
            url=stack.api_url,
            console=stack.api_url.removesuffix("/v1") + "/console",
            aws=stack.aws_endpoint,
            model=model,
            key=config.api_key,
            kept=kept,
        ),
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the stack is meant to stop
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
