"""The offline model's memory: it reads the whole conversation it is sent, so a question about what the user said
earlier is answered from that earlier message. Deterministic, as the rest of its policy (``model_policy``).

A question (it holds a ``?``) that points back ("earlier", "before", "remember", "did I say", ...) is answered
with the user's earlier message that shares the most words with it, the first one when several share as many.
"""

from __future__ import annotations

import re

_CUES = ("earlier", "before", "remember", "recall", "did i say", "did i tell", "i told you", "what was my")
_IGNORED = {
    "what",
    "which",
    "who",
    "did",
    "say",
    "said",
    "tell",
    "told",
    "you",
    "your",
    "the",
    "and",
    "was",
    "were",
    "are",
    "that",
    "this",
    "earlier",
    "before",
    "remember",
    "recall",
    "again",
}


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if len(word) > 2} - _IGNORED


def recall(user_texts: list[str]) -> str | None:
    """The reply to the last of the user's messages when it asks about an earlier one; ``None`` otherwise."""
    if len(user_texts) < 2:
        return None
    question = user_texts[-1]
    if "?" not in question or not any(cue in question.lower() for cue in _CUES):
        return None
    asked = _words(question)
    earlier = user_texts[:-1]
    best = max(range(len(earlier)), key=lambda index: (len(_words(earlier[index]) & asked), -index))
    return f'Earlier you said: "{earlier[best].strip()}" (This reply comes from the offline test model.)'
