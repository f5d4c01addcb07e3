"""The ``Prefer`` request header (RFC 7240) as Graph reads it (graph.md §1.6).

Preferences combine with commas or repeated headers; values may be quoted. Graph names:
``outlook.timezone``, ``outlook.body-content-type``, ``IdType``, ``odata.maxpagesize``.
Applied preferences are echoed in ``Preference-Applied``.
"""

from __future__ import annotations

from collections.abc import Iterable


def parse_prefer(values: Iterable[str]) -> dict[str, str]:
    """Lower-cased preference names to unquoted values (``""`` for a bare token)."""
    preferences: dict[str, str] = {}
    for header in values:
        for part in _split(header):
            name, _, value = part.partition("=")
            name = name.strip().lower()
            if name:
                preferences[name] = value.strip().strip('"')
    return preferences


def _split(header: str) -> list[str]:
    """Split on commas that are not inside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in (p.strip() for p in parts) if part]
