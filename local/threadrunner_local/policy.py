"""IAM policy evaluation: whether a policy allows one request, as AWS decides it.

moto's own IAM enforcement matches actions only; this evaluates what a role's policy says about the action, the
resource and the request's condition keys, following the IAM User Guide ("Policy evaluation logic", "Condition
operators", "Conditions with multiple context keys or values"):

* an explicit ``Deny`` of any statement wins; otherwise one ``Allow`` allows; otherwise the request is implicitly
  denied;
* actions match without regard to case, resources with it; ``*`` and ``?`` are wildcards in both, and an ARN's
  resource part (after the fifth colon) is matched whole, so ``function:name*`` covers ``function:name:live``;
* the operators of a ``Condition`` are joined by AND, so are the keys of one operator; a key's values by OR (NOR
  for a negated operator); a key the request does not carry fails a positive operator and passes a negated one
  (``...IfExists`` passes, ``Null`` tests for it); ``ForAllValues:`` holds when every value of the request's key
  matches (also when it carries none), ``ForAnyValue:`` when one does.

A policy is compiled once (:func:`compile_policy`); evaluating it is then a few regular expression matches.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Context = Mapping[str, str | Sequence[str]]
"""The request's condition keys: one value, or several (``dynamodb:LeadingKeys``)."""


@lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character, the rest literal."""
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(translated + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(value: str, pattern: str, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return value.lower() == pattern.lower() if ignore_case else value == pattern
    return _pattern(pattern, ignore_case).match(value) is not None


def _arn_like(value: str, pattern: str) -> bool:
    """ARNs compared part by part (the resource part whole), each part with wildcards."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(given) == 6 and all(_like(v, p) for v, p in zip(given, wanted, strict=True))


def _number(text: str) -> float:
    return float(text)


def _boolean(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


def _ip(value: str, wanted: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(wanted, strict=False)


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, p: v == p,
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringLike": lambda v, p: _like(v, p),
    "NumericEquals": lambda v, p: _number(v) == _number(p),
    "NumericLessThan": lambda v, p: _number(v) < _number(p),
    "NumericLessThanEquals": lambda v, p: _number(v) <= _number(p),
    "NumericGreaterThan": lambda v, p: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda v, p: _number(v) >= _number(p),
    "Bool": _boolean,
    "ArnEquals": lambda v, p: _arn_like(v, p),
    "ArnLike": lambda v, p: _arn_like(v, p),
    "IpAddress": _ip,
}
"""Positive operators; each negated one (``StringNotEquals``, ``ArnNotLike``, ...) is the NOR of its positive."""
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NotIpAddress": "IpAddress",
}


class PolicyError(ValueError):
    """A policy this evaluator cannot judge faithfully (an operator it does not know, a malformed statement)."""


@dataclass(frozen=True)
class Condition:
    """One key of one operator: ``ForAllValues:StringLike: {dynamodb:LeadingKeys: ["P#*"]}``."""

    operator: str
    key: str
    values: tuple[str, ...]
    if_exists: bool
    qualifier: str | None
    """``ForAllValues``, ``ForAnyValue`` or ``None``."""
    negated: bool
    match: Callable[[str, str], bool] | None
    """``None`` for the ``Null`` operator."""

    def holds(self, context: Context) -> bool:
        """``context``'s keys in lower case: condition keys are not case-sensitive."""
        present = self.key in context
        if self.match is None:  # Null: "true" asks for the key's absence
            return any((not present) == _boolean(wanted, "true") for wanted in self.values)
        given = context.get(self.key)
        items = [given] if isinstance(given, str) else list(given or ())
        if self.qualifier == "ForAllValues":
            return all(self._one(item) for item in items)
        if self.qualifier == "ForAnyValue":
            return any(self._one(item) for item in items)
        if not present:
            return self.if_exists or self.negated
        return any(self._one(item) for item in items)

    def _one(self, value: str) -> bool:
        assert self.match is not None
        found = any(self.match(value, wanted) for wanted in self.values)
        return not found if self.negated else found


def _condition(operator: str, key: str, values: Any) -> Condition:
    qualifier = None
    name = operator
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise PolicyError(f"unknown set operator {qualifier!r}")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    listed = values if isinstance(values, list) else [values]
    texts = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in listed)
    if name == "Null":
        return Condition(operator, key.lower(), texts, False, qualifier, False, None)
    negated = name in _NEGATED
    match = _MATCHERS.get(_NEGATED.get(name, name))
    if match is None:
        raise PolicyError(f"condition operator {operator!r} is not supported by the local evaluator")
    return Condition(operator, key.lower(), texts, if_exists, qualifier, negated, match)


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


@dataclass(frozen=True)
class Statement:
    """One compiled statement, with where it came from (``source``) for the log of a denial."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: tuple[Condition, ...]
    principals: tuple[tuple[str, str], ...] = ()
    """Resource policies only: (``Service`` / ``AWS``, value)."""
    source: str = ""
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def covers_action(self, action: str) -> bool:
        if self.actions:
            return any(_like(action, pattern, ignore_case=True) for pattern in self.actions)
        return not any(_like(action, pattern, ignore_case=True) for pattern in self.not_actions)

    def covers_resource(self, resource: str) -> bool:
        if self.resources:
            return any(_arn_like(resource, pattern) for pattern in self.resources)
        return not any(_arn_like(resource, pattern) for pattern in self.not_resources)

    def covers_principal(self, principal: tuple[str, str] | None) -> bool:
        if not self.principals:
            return True
        if principal is None:
            return False
        return any(kind == principal[0] and _like(principal[1], value) for kind, value in self.principals)

    def applies(self, action: str, resource: str, context: Context, principal: tuple[str, str] | None = None) -> bool:
        return (
            self.covers_action(action)
            and self.covers_resource(resource)
            and self.covers_principal(principal)
            and all(condition.holds(context) for condition in self.conditions)
        )


def compile_statement(document: Mapping[str, Any], source: str = "") -> Statement:
    """One statement of a policy document, checked and compiled."""
    effect = document.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{source}: Effect must be Allow or Deny, not {effect!r}")
    if ("Action" in document) == ("NotAction" in document):
        raise PolicyError(f"{source}: a statement has Action or NotAction")
    if ("Resource" in document) == ("NotResource" in document):
        raise PolicyError(f"{source}: a statement has Resource or NotResource")
    conditions = tuple(
        _condition(operator, key, values)
        for operator, keys in (document.get("Condition") or {}).items()
        for key, values in keys.items()
    )
    principals: list[tuple[str, str]] = []
    raw_principal = document.get("Principal")
    if raw_principal == "*":
        principals.append(("AWS", "*"))
        principals.append(("Service", "*"))
    elif isinstance(raw_principal, Mapping):
        principals.extend((kind, value) for kind, values in raw_principal.items() for value in _listed(values))
    return Statement(
        effect=effect,
        actions=_listed(document.get("Action")),
        not_actions=_listed(document.get("NotAction")),
        resources=_listed(document.get("Resource")),
        not_resources=_listed(document.get("NotResource")),
        conditions=conditions,
        principals=tuple(principals),
        source=source,
        document=document,
    )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    statement: Statement | None
    """The first statement that allowed, or the one that explicitly denied; ``None`` for an implicit deny."""
    allowing: tuple[Statement, ...] = ()
    """Every statement that allows the request (for what each grant was used for)."""

    @property
    def explicit_deny(self) -> bool:
        return not self.allowed and self.statement is not None


_CACHED_SHAPES = 16384
"""Request shapes (action, resource, principal) a policy keeps the candidate statements of."""


@dataclass(frozen=True)
class Policy:
    """The statements of every policy one principal holds (or of one resource's policy)."""

    statements: tuple[Statement, ...]
    _cache: dict[tuple[str, str, tuple[str, str] | None], tuple[Statement, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def decide(
        self, action: str, resource: str, context: Context | None = None, principal: tuple[str, str] | None = None
    ) -> Decision:
        context = {key.lower(): value for key, value in (context or {}).items()}
        allowing = []
        for statement in self._candidates(action, resource, principal):
            if not all(condition.holds(context) for condition in statement.conditions):
                continue
            if statement.effect == "Deny":
                return Decision(False, statement)
            allowing.append(statement)
        return Decision(bool(allowing), allowing[0] if allowing else None, tuple(allowing))

    def _candidates(self, action: str, resource: str, principal: tuple[str, str] | None) -> tuple[Statement, ...]:
        """The statements whose action, resource and principal cover the request: what is left to judge is their
        conditions. Kept per request shape (a policy is compiled once, requests repeat)."""
        key = (action, resource, principal)
        found = self._cache.get(key)
        if found is None:
            found = tuple(
                statement
                for statement in self.statements
                if statement.covers_action(action)
                and statement.covers_resource(resource)
                and statement.covers_principal(principal)
            )
            if len(self._cache) >= _CACHED_SHAPES:
                self._cache.clear()
            self._cache[key] = found
        return found

    def actions(self) -> set[str]:
        """The action patterns its ``Allow`` statements name (what a least-privilege check compares with use)."""
        return {action for s in self.statements if s.effect == "Allow" for action in s.actions}


def compile_policy(documents: Iterable[tuple[str, Mapping[str, Any]]]) -> Policy:
    """``documents``: (name, policy document) pairs; each statement keeps ``name`` (and its Sid) as its source."""
    statements = []
    for name, document in documents:
        listed = document.get("Statement", [])
        for index, statement in enumerate(listed if isinstance(listed, list) else [listed]):
            statements.append(compile_statement(statement, f"{name}#{statement.get('Sid') or index}"))
    return Policy(tuple(statements))


def action_matches(action: str, pattern: str) -> bool:
    """Whether an action (``dynamodb:GetItem``) matches a policy's action pattern (``dynamodb:Get*``)."""
    return _like(action, pattern, ignore_case=True)
