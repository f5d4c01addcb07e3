"""Meeting IDs and passcodes from the labels of an invite block (corpus README, "meeting_id"
and "passcode"; ``shared/reference/joinlinks.md`` §2.1-2.3).

Meeting-ID labels: "Meeting ID", "Meeting number", "Access code", "Webinar ID/number", with an
optional bracketed note ("Meeting number (access code): 2315 447 8209"); the value loses its
spaces and dashes. Passcode labels: "Passcode", "Password", "Meeting password/passcode" followed
by a colon; the value is the next token. "PIN" labels, URL tokens and one-tap dial strings are
never passcodes.

``block_labels`` reads one block: a meeting-ID label naming another meeting than the chosen one
ends the block there (or starts it after the label, when it comes before the link), so a
passcode next to another meeting's ID is not taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BlockLabels", "block_labels"]

_MEETING_ID = re.compile(
    r"\b(?:meeting (?:id|number)|access code|webinar (?:id|number))\b\s*"
    r"(?:\([^()\n]{0,40}\)\s*)?[:#]?\s*(\d(?:[ -]?\d){5,20})",
    re.I,
)
_PASSCODE = re.compile(r"\b(?:meeting )?(?:passcode|password)\b\s*[:：]\s*([^\s<>]{1,64})", re.I)
_NOT_DIGITS = re.compile(r"\D")
_TRAILING = ".,;:)]}\"'"


@dataclass(frozen=True, slots=True)
class BlockLabels:
    """What the labels of one block say; ``start``/``end`` are the block after trimming."""

    meeting_id: str | None
    passcode: str | None
    start: int
    end: int


def block_labels(
    text: str, start: int, end: int, anchor: int, meeting_id: str | None
) -> BlockLabels:
    """Labels in ``text[start:end]`` for the meeting at ``anchor`` known by ``meeting_id``."""
    for found in _MEETING_ID.finditer(text, start, end):
        digits = _NOT_DIGITS.sub("", found.group(1))
        if meeting_id is None:
            meeting_id = digits
        elif digits != meeting_id:
            if found.start() > anchor:
                end = found.start()
                break
            start = found.end()
    passcode = None
    if found_passcode := _PASSCODE.search(text, start, end):
        passcode = found_passcode.group(1).rstrip(_TRAILING) or None
    return BlockLabels(meeting_id, passcode, start, end)
