"""The ``$filter`` subset the emulator understands on event lists and calendarView (graph.md §1.5,
§2.1).

Clauses joined by ``and``, each one of:

- ``singleValueExtendedProperties/any(ep: ep/id eq '{id}' and ep/value eq '{v}')`` (the value
  test is optional) - how apps find the events they marked;
- ``categories/any(c: c eq 'X')``;
- ``{property} eq|ne {literal}`` for simple properties (``showAs eq 'busy'``,
  ``isCancelled eq false``, ``type eq 'seriesMaster'``, ``iCalUId eq '...'``);
- ``start/dateTime`` or ``end/dateTime`` compared (``ge``, ``gt``, ``le``, ``lt``) with a quoted
  date-time (UTC unless it carries an offset).

Anything else is ``400 BadRequest`` rather than silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.model import Instance
from calhub.emulators.graph.events.times import parse_query_instant

Predicate = Callable[[Instance], bool]

_LITERAL = r"('(?:[^']|'')*'|true|false|null|-?\d+)"
_EXTENDED = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'"
    r"(?:\s+and\s+\1/value\s+eq\s+'((?:[^']|'')*)')?\s*\)$",
    re.IGNORECASE,
)
_CATEGORY = re.compile(
    r"^categories/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)$", re.IGNORECASE
)
_COMPARISON = re.compile(rf"^([\w/]+)\s+(eq|ne|ge|gt|le|lt)\s+{_LITERAL}$", re.IGNORECASE)
_SIMPLE = {
    name.lower(): name
    for name in (
        "subject", "showAs", "isCancelled", "isAllDay", "type", "sensitivity", "importance",
        "isOrganizer", "iCalUId", "seriesMasterId", "isOnlineMeeting", "isDraft", "id",
    )
}  # fmt: skip
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


def event_filter(raw: str | None) -> Predicate | None:
    if raw is None or not raw.strip():
        return None
    predicates = [_clause(clause) for clause in _split_and(raw.strip())]
    return lambda instance: all(predicate(instance) for predicate in predicates)


def _clause(text: str) -> Predicate:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    if match := _EXTENDED.match(text):
        prop_id = " ".join(_unquote(match.group(2)).split()).lower()
        value = None if match.group(3) is None else _unquote(match.group(3))
        return lambda i: (
            prop_id in i.source.extended
            and (value is None or i.source.extended[prop_id][1] == value)
        )
    if match := _CATEGORY.match(text):
        category = _unquote(match.group(2)).lower()
        return lambda i: category in (c.lower() for c in i.source.props["categories"])
    if match := _COMPARISON.match(text):
        return _comparison(match.group(1), match.group(2).lower(), match.group(3))
    raise GraphError(400, "BadRequest", f"Invalid filter clause '{text}'.")


def _comparison(name: str, operator: str, literal: str) -> Predicate:
    compare = _ORDER[operator]
    if name.lower() in ("start/datetime", "end/datetime"):
        if not literal.startswith("'"):
            raise GraphError(400, "BadRequest", f"Invalid filter value {literal} for {name}.")
        bound = parse_query_instant(_unquote(literal[1:-1]), name)
        if name.lower() == "start/datetime":
            return lambda i: compare(i.sort_key, bound)
        return lambda i: compare(i.end_instant, bound)
    canonical = _SIMPLE.get(name.lower())
    if canonical is None or operator not in ("eq", "ne"):
        raise GraphError(400, "BadRequest", f"Invalid filter clause on '{name}'.")
    expected = _literal(literal)
    if canonical in ("showAs", "type", "sensitivity", "importance") and isinstance(expected, str):
        expected = expected.lower()
        return lambda i: compare(str(_value(i, canonical)).lower(), expected)
    return lambda i: compare(_value(i, canonical), expected)


def _value(instance: Instance, name: str) -> Any:
    source = instance.source
    if name == "type":
        return instance.kind if instance.master is not None else source.kind
    if name == "id":
        return instance.id
    if name == "iCalUId":
        return source.ical_uid
    if name == "seriesMasterId":
        return instance.master.id if instance.master is not None else None
    if name == "isAllDay":
        return source.is_all_day
    return source.props.get(name)


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return _unquote(text[1:-1])
    return {"true": True, "false": False, "null": None}.get(text.lower(), text)


def _unquote(text: str) -> str:
    return text.replace("''", "'")


def _split_and(text: str) -> list[str]:
    """Split on ``and`` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    lowered = text.lower()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(" and ", i):
            parts.append(text[start:i])
            start = i + 5
            i += 4
        i += 1
    parts.append(text[start:])
    return parts


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
