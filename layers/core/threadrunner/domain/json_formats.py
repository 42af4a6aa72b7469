"""The ``format`` keywords of tenants' JSON schemas, checked in linear time.

fastjsonschema checks formats with Python regular expressions, and some of them backtrack: its ``email``
expression looks ahead for ``..`` before the ``@`` from every position, its ``idn-email`` one splits the
domain at every dot, so one long value costs seconds of CPU. Here every format fastjsonschema knows runs on RE2
instead (linear in the value): its own expressions where RE2 can run them, and the two that look around
(``email``, ``idn-hostname``) rewritten without lookarounds to accept the same values. Values longer than
:data:`MAX_FORMAT_CHARS` are not checked at all: they do not match.

RE2's ``\\d``, ``\\w`` and ``\\s`` are ASCII, Python's Unicode: a date written in full-width digits, which
fastjsonschema would take, is refused here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import re2
from fastjsonschema.draft07 import CodeGeneratorDraft07

MAX_FORMAT_CHARS = 4096
"""The longest string checked against a ``format``; a longer one does not match it."""

_REWRITTEN = {
    # fastjsonschema: ^(?!.*\.\..*@)[^@.][^@]*(?<!\.)@[^@]+\.[^@]+\Z. The local part neither starts nor ends
    # with a dot nor holds two in a row: each dot is followed by another character.
    "email": r"^[^@.](?:\.?[^@.])*@[^@]+\.[^@]+\z",
    # fastjsonschema: ^(?!-)(xn--)?[a-zA-Z0-9][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9]{0,1}\.(?!-)(xn--)?([a-zA-Z0-9\-]{1,50}|
    # [a-zA-Z0-9-]{1,30}\.[a-zA-Z]{2,})$. The label after the dot starts with a letter or digit unless "xn--" does.
    "idn-hostname": (
        r"^(?:xn--)?[a-zA-Z0-9][a-zA-Z0-9_-]{0,61}[a-zA-Z0-9]?\."
        r"(?:xn--[a-zA-Z0-9-]{1,50}|[a-zA-Z0-9][a-zA-Z0-9-]{0,49}"
        r"|xn--[a-zA-Z0-9-]{1,30}\.[a-zA-Z]{2,}|[a-zA-Z0-9][a-zA-Z0-9-]{0,29}\.[a-zA-Z]{2,})\z"
    ),
}

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def _for_re2(expression: str) -> str:
    """fastjsonschema's expression in RE2's words: ``\\z`` ends the text, and a repeat needs its lower bound."""
    return expression.replace(r"\Z", r"\z").replace("{,", "{0,")


def _matcher(expression: str) -> Callable[[str], bool]:
    compiled = re2.compile(expression, options=_OPTIONS)
    return lambda value: len(value) <= MAX_FORMAT_CHARS and compiled.match(value) is not None


def _is_regex(value: str) -> bool:
    """fastjsonschema's own check of ``format: regex`` (compiling is linear in the pattern), within the bound."""
    if len(value) > MAX_FORMAT_CHARS:
        return False
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {
    name: _matcher(_REWRITTEN.get(name) or _for_re2(expression))
    for name, expression in CodeGeneratorDraft07.FORMAT_REGEXS.items()
} | {"regex": _is_regex}
"""Every format fastjsonschema checks, by name: whether a string has it. fastjsonschema takes them as its
``formats``, which replace its own checks."""
