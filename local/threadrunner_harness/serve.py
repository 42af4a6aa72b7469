"""``python -m threadrunner_harness.serve``: what ``make run`` starts, the local stack with the sample world."""

from __future__ import annotations

import signal
import sys
import threading

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

Ctrl-C stops the stack; everything is in memory and goes with it.
"""


def main() -> int:
    config = samples.configure(StackConfig.from_environment())
    stack = LocalStack(config).start()
    model = stack.model_server.url + " (offline test model)" if stack.model_server else config.openai_base_url
    print(EXAMPLE.format(url=stack.api_url, aws=stack.aws_endpoint, model=model, key=config.api_key), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the stack is meant to stop
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
