"""The provider's HTTP API for forwarded calls, through the ``openai`` SDK's client (its base URL, key, timeout and
connection pool), without its retries: a client that retries would multiply them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..domain.forwarding import ProviderAnswer
from ..errors import ProviderTimedOut, ProviderUnreachable
from ..observability import logger


class OpenAIProvider:
    """:class:`threadrunner.ports.Provider` on the ``openai`` client."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def forward(
        self, method: str, path: str, body: dict[str, Any] | None, query: Mapping[str, str], stream: bool
    ) -> ProviderAnswer:
        import httpx
        import openai

        client = self._client().with_options(max_retries=0)
        options: dict[str, Any] = {"params": dict(query)} if query else {}
        try:
            if method == "GET":
                answer = client.get(path, cast_to=httpx.Response, options=options)
            elif method == "DELETE":
                answer = client.delete(path, cast_to=httpx.Response, options=options)
            else:
                answer = client.post(path, cast_to=httpx.Response, body=body, options=options, stream=stream)
        except openai.APIStatusError as refused:  # the provider's own answer: its status and body go back
            answer = refused.response
        except openai.APITimeoutError as exc:
            raise ProviderTimedOut("The model provider did not answer in time.") from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnreachable("The model provider could not be reached.") from exc
        content_type = answer.headers.get("content-type", "application/json")
        if stream and answer.status_code == 200 and content_type.startswith("text/event-stream"):
            return ProviderAnswer(answer.status_code, content_type, chunks=_text(answer))
        return ProviderAnswer(answer.status_code, content_type, body=answer.read())


def _text(answer: Any) -> Iterator[str]:
    """The stream's text; a stream that breaks ends there (its answer has begun: no status can say it)."""
    import httpx

    try:
        yield from answer.iter_text()
    except (httpx.HTTPError, OSError) as exc:
        logger.warning("a forwarded stream broke", extra={"error": type(exc).__name__})
    finally:
        answer.close()
