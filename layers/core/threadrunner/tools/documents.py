"""``search_documents``: an example tool."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ..domain.tools import tool

# A handful of short documents about threadrunner itself: the corpus of the example.
DOCUMENTS = {
    "runs": "A run moves through queued, in_progress, requires_action and ends completed, failed, "
    "cancelled, incomplete or expired. The run loop is a Step Functions state machine.",
    "tools": "Server-side tools run in the ToolFunction Lambda, one invocation per call, in parallel. "
    "Functions the registry does not know are client-side: the run stops in requires_action.",
    "threads": "A thread holds the messages of one conversation. Only one run may be active on a thread.",
    "deploy": "Deploy with sam build and sam deploy --guided. The model provider key lives in Secrets Manager.",
    "limits": "Tool outputs longer than MAX_TOOL_OUTPUT_BYTES are truncated. A run may take at most "
    "MAX_TOOL_ROUNDS rounds of tool calls.",
}


class SearchDocumentsArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="Words to look for")
    limit: int = Field(3, ge=1, le=10, description="The most documents to return")


def _words(text: str) -> set[str]:
    return {word.rstrip("s") for word in re.findall(r"[a-z_]+", text.lower()) if len(word) > 2}


@tool(timeout_seconds=5)
def search_documents(args: SearchDocumentsArgs) -> dict:
    """Search the documentation for passages about a topic.

    What it really does: it ranks five short built-in paragraphs about threadrunner by how
    many words they share with the query. There is no index, no embedding and no file
    store behind it; it shows how a retrieval tool plugs in.
    """
    wanted = _words(args.query)
    scored = sorted(
        ((len(wanted & _words(title + " " + text)), title, text) for title, text in DOCUMENTS.items()),
        key=lambda entry: (-entry[0], entry[1]),
    )
    hits = [{"title": title, "text": text, "score": score} for score, title, text in scored if score > 0]
    return {"query": args.query, "results": hits[: args.limit]}
