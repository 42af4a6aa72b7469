"""How the offline model answers from ``file_search`` results: the sentences of the passages that answer the
user's question, each cited by its passage's marker. A deterministic rule, not understanding.

The passages are read by the structure the tool's output has, whatever its layout: each source begins at its
marker (``【0:1†handbook.txt】``) and runs to the next marker; what comes before the first marker is the tool's
preamble. Lines that are delimiters rather than text (markup tags, runs of punctuation, a line the preamble quotes
such as the fence that closes each passage, a first or last line every passage has) are no part of a passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER = re.compile(r"【\d+:\d+†[^】]*】")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,200}>")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "any",
        "some",
        "according",
        "file",
        "files",
    ]
)
"""Words that say nothing of what a sentence is about."""
MAX_SENTENCE_CHARS = 300
"""A quoted sentence is cut at this length (a passage without full stops is one long sentence)."""
MIN_QUOTED_CHARS = 12
"""A passage's line the preamble quotes is layout only from this length (a short line may be there by chance)."""
MAX_HEADING_WORDS = 12
"""A line of at most this many words without closing punctuation is a heading (a title), not a sentence."""
_CLOSING = (".", "!", "?", ":", ";", '"', "'", ")", "\u201d")


@dataclass(frozen=True)
class _Sentence:
    text: str
    marker: str
    words: frozenset[str]
    heading: bool
    """A line without closing punctuation on its own (a title): quoted only when no sentence shares a word."""


def _stem(word: str) -> str:
    """A word reduced to a common form: lower case, without a possessive, a plural or a past ("sounded": sound)."""
    word = word.lower().replace("\u2019", "'").removesuffix("'s")
    if len(word) > 3:
        for suffix in ("ies", "ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that say what it is about, stemmed."""
    return frozenset(_stem(word) for word in _WORD.findall(text) if word.lower() not in _STOP)


def _lines(block: str) -> list[str]:
    """A passage's lines of text: markup tags taken out, lines without a letter or digit dropped."""
    return [line for line in (_TAG.sub(" ", raw).strip() for raw in block.splitlines()) if _WORD.search(line)]


def _without_layout(blocks: list[list[str]], preamble: str) -> list[list[str]]:
    """The passages' lines less the layout around them: a line the preamble quotes (the fence it says closes each
    passage), and a first or a last line every passage has (when there are several), such as a delimiter."""
    blocks = [[line for line in lines if len(line) < MIN_QUOTED_CHARS or line not in preamble] for lines in blocks]
    for edge in (0, -1):
        if len(blocks) > 1 and all(blocks) and len({lines[edge] for lines in blocks}) == 1:
            blocks = [lines[1:] if edge == 0 else lines[:-1] for lines in blocks]
    return blocks


def sentences(output: str) -> list[_Sentence]:
    """Every sentence of the passages of a ``file_search`` output, in order, with its passage's marker."""
    found = list(_MARKER.finditer(output))
    ends = [match.start() for match in found[1:]] + [len(output)] if found else []
    markers = [match.group(0) for match in found]
    preamble = output[: found[0].start()] if found else output
    blocks = [_lines(output[match.end() : end]) for match, end in zip(found, ends, strict=True)]
    blocks = _without_layout(blocks, preamble)
    cut: list[_Sentence] = []
    for marker, lines in zip(markers, blocks, strict=True):
        for line in lines:
            parts = [part.strip() for part in _SENTENCE_END.split(line) if part.strip()]
            for part in parts:
                heading = len(parts) == 1 and len(part.split()) <= MAX_HEADING_WORDS and not part.endswith(_CLOSING)
                cut.append(_Sentence(part[:MAX_SENTENCE_CHARS], marker, content_words(part), heading))
    return cut


def _ranked(candidates: list[_Sentence], asked: frozenset[str]) -> list[tuple[float, int, _Sentence]]:
    """Sentences by the question's words they hold, each weighed by how rare it is among the candidates (a word
    every sentence has tells little); the earlier (a better ranked passage) first on a tie."""
    holding = {word: sum(word in s.words for s in candidates) for word in asked}
    scored = [
        (sum(1 / holding[word] for word in asked & s.words), index, s)
        for index, s in enumerate(candidates)
        if asked & s.words
    ]
    return sorted(scored, key=lambda item: (-item[0], item[1]))


def answer(output: str, question: str) -> str:
    """The answer to ``question`` from a ``file_search`` output: the sentence that holds most of the question's
    words (and a second one for words the first lacks), each followed by its passage's marker."""
    asked = content_words(question)
    found = sentences(output)
    ranked = _ranked([s for s in found if not s.heading], asked) or _ranked(found, asked)
    if not ranked:
        return "The files say nothing about that."
    best_score, _, best = ranked[0]
    chosen = [best]
    second = next((s for score, _, s in ranked[1:] if (s.words & asked) - best.words and score >= best_score / 2), None)
    if second is not None:
        chosen.append(second)
    parts = []
    for index, sentence in enumerate(chosen):
        following = chosen[index + 1] if index + 1 < len(chosen) else None
        cited = following is None or following.marker != sentence.marker
        parts.append(f"{sentence.text} {sentence.marker}" if cited else sentence.text)
    return "According to the files: " + " ".join(parts)
