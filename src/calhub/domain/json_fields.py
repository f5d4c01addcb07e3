"""Words for what is wrong in a JSON settings document, shared by every settings reader
(``domain.joinlinks.settings_json``, ``domain.meetings.settings_json``).

``Location`` is a field's path in the document (``("keywords", 2, "backend")``), ``field_path``
writes it as people read it (``keywords[2].backend``), ``json_kind`` names a value's JSON type
and ``quoted`` quotes a user's name for something, cut short. ``checked_object`` accepts an
object with known fields only, raising the reader's own error (``error(location, reason)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Location = tuple[str | int, ...]


def field_path(location: Location) -> str:
    """``("keywords", 2, "backend")`` → ``keywords[2].backend``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path


def quoted(value: object) -> str:
    """A user's name for something, quoted and cut short for an error message."""
    text = str(value)
    return repr(text if len(text) <= 40 else f"{text[:40]}...")


def json_kind(value: object) -> str:
    """The JSON name of a value's type, for messages (never the value: it may be anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def checked_object(
    value: object,
    location: Location,
    known: tuple[str, ...],
    error: Callable[[Location, str], Exception],
) -> Mapping[str, object]:
    """``value`` as an object whose fields are all in ``known``; ``error`` otherwise."""
    if not isinstance(value, Mapping):
        raise error(location, f"expected an object, got {json_kind(value)}")
    for key in value:
        if key not in known:
            raise error(
                location, f"unknown field {quoted(key)}; expected one of {', '.join(known)}"
            )
    return value
