"""Reading the bodies of the emulators' control APIs (``/_emulator/...``), one way for both.

The Graph and the Google emulator take the same fault knobs and the same clock moves; what
differs is only how a refusal looks. So the readers here raise ``BadControlBody`` with a plain
message naming the field, and each emulator's error handlers turn it into a 400 in its own
provider's error shape (Graph ``BadRequest``, Google ``badRequest``).

- ``json_body(raw)``: any JSON value; ``json_object(raw)``: a JSON object.
- ``fault_changes(body, knobs)``: the knob values of a ``POST faults`` body, each read by its
  reader (``rate``, ``range_ms``, ``positive``); an unknown knob names the known ones.
  ``SHARED_KNOBS`` are the knobs both emulators have.
- ``move_clock(clock, body)``: ``{"advance_seconds": n}`` or ``{"now": iso-8601 with offset}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from calhub.emulators.graph.clock import EmulatorClock

KnobReader = Callable[[str, Any], Any]


class BadControlBody(ValueError):
    """A control request the emulator cannot act on; the message says why, in words."""


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadControlBody("The body is not valid JSON.") from None


def json_object(raw: bytes) -> Mapping[str, Any]:
    body = json_body(raw)
    if not isinstance(body, dict):
        raise BadControlBody("The body must be a JSON object.")
    return body


def rate(name: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise BadControlBody(f"'{name}' must be a number from 0 to 1.")
    return float(value)


def range_ms(name: str, value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_integer(v) and v >= 0 for v in value)
        or value[0] > value[1]
    ):
        raise BadControlBody(f"'{name}' must be [min, max]: whole milliseconds, 0 <= min <= max.")
    return int(value[0]), int(value[1])


def positive(name: str, value: Any) -> int:
    if not _is_integer(value) or value < 1:
        raise BadControlBody(f"'{name}' must be a positive integer.")
    return int(value)


SHARED_KNOBS: Final[Mapping[str, KnobReader]] = {
    "error_rate": rate,
    "throttle_rate": rate,
    "latency_ms": range_ms,
    "duplicate_notifications": rate,
    "drop_notifications": rate,
    "notification_delay_ms": range_ms,
}


def fault_changes(body: Mapping[str, Any], knobs: Mapping[str, KnobReader]) -> dict[str, Any]:
    """The knobs ``body`` sets, read and checked (for ``dataclasses.replace`` on the faults)."""
    changes: dict[str, Any] = {}
    for name, value in body.items():
        read = knobs.get(name)
        if read is None:
            known = ", ".join(knobs)
            raise BadControlBody(f"Unknown fault knob '{name}'; the knobs are: {known}.")
        changes[name] = read(name, value)
    return changes


def move_clock(clock: EmulatorClock, body: Mapping[str, Any]) -> datetime:
    """Advance ``clock`` or set it, as ``body`` says; the new time."""
    if set(body) == {"advance_seconds"}:
        seconds = body["advance_seconds"]
        if not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
            raise BadControlBody("'advance_seconds' must be a non-negative number.")
        return clock.advance(seconds)
    if set(body) == {"now"}:
        return clock.set(_instant(body["now"]))
    raise BadControlBody('Give either {"advance_seconds": n} or {"now": iso-8601}.')


def _instant(value: Any) -> datetime:
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise BadControlBody(
            "'now' must be an ISO 8601 instant with an offset, e.g. 2026-03-02T08:00Z."
        )
    return instant


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
