"""Meeting IDs and passcodes from the labels of an invite block (corpus README, "meeting_id"
and "passcode"; ``shared/reference/joinlinks.md`` §2.1-2.3; the labels of calhub's own join
block, ``block.py``, issue 5 "Write-back").

Meeting-ID labels: "Meeting ID", "Meeting number", "Access code", "Webinar ID/number", and the
meeting-number labels of calhub's own block in German, French, Spanish and Japanese
("Meetingnummer", "Numéro de réunion", "Número de reunión", "ミーティング番号"), with an
optional bracketed note ("Meeting number (access code): 2315 447 8209"); the value loses its
spaces and dashes. Passcode labels: "Passcode", "Password", "Meeting password/passcode" and
those of calhub's block ("Code secret", "Código de acceso", "パスコード") followed by a colon
(``:``, `` : `` or the full-width ``：``); the value is the next token, unless it runs on in
digit groups ("Código de acceso: 2315 447 8209" is how Webex's Spanish invites give the access
code, a meeting number). "PIN" labels, URL tokens and one-tap dial strings are never passcodes.

``block_labels`` reads one block: a meeting-ID label naming another meeting than the chosen one
ends the block there (or starts it after the label, when it comes before the link), so a
passcode next to another meeting's ID is not taken. Only the first ``MAX_LABELS`` label
matches of a block are looked at.

The patterns run on the lower-cased copy of the text (``text.fold``, same indices) and start
with a literal, so ``re`` skips ahead in C to the few places a label can begin. A Latin label
must start a word, which is checked on the match rather than in the pattern (a leading ``\\b``
would make ``re`` try every position); Japanese, written without spaces, needs no word start.
Each match attempt is bounded apart from whitespace runs, which no two attempts share; the
possessive ``\\s*+`` never hands a run back, so the two runs around an optional colon cannot
split one run in every possible way (which made a label before 8,000 spaces take 0.4 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BlockLabels", "block_labels"]

_MEETING_ID = re.compile(
    r"(?:meeting (?:id|number)|access code|webinar (?:id|number)|meetingnummer"
    r"|numéro de réunion|número de reunión|ミーティング番号)\b\s*+"
    r"(?:\([^()\n]{0,40}\)\s*+)?[:#：]?\s*+(\d(?:[ -]?\d){5,20})"
)
_PASSCODE = re.compile(
    r"(?:meeting pass(?:code|word)|pass(?:code|word)|code secret|código de acceso|パスコード)"
    r"\s*+[:：]\s*+(?!\d{1,20} \d)([^\s<>]{1,64})"
)
# Label matches looked at per scan of a block: an invite holds a handful, a hostile body
# thousands, each costing a step in Python.
MAX_LABELS = 1_000
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
    text: str, folded: str, start: int, end: int, anchor: int, meeting_id: str | None
) -> BlockLabels:
    """Labels in ``text[start:end]`` (``folded`` is ``fold(text)``) for the meeting at
    ``anchor`` known by ``meeting_id``."""
    for found in _labelled(_MEETING_ID, folded, start, end):
        digits = _NOT_DIGITS.sub("", found.group(1))
        if meeting_id is None:
            meeting_id = digits
        elif digits != meeting_id:
            if found.start() > anchor:
                end = found.start()
                break
            start = found.end()
    passcode = None
    if found_passcode := next(_labelled(_PASSCODE, folded, start, end), None):
        passcode = text[found_passcode.start(1) : found_passcode.end(1)].rstrip(_TRAILING) or None
    return BlockLabels(meeting_id, passcode, start, end)


def _labelled(
    pattern: re.Pattern[str], folded: str, start: int, end: int
) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` in ``folded[start:end]`` whose label is not glued to a word
    before it; after a glued one the search goes on from its next character. At most
    ``MAX_LABELS`` matches are looked at."""
    found = pattern.search(folded, start, end)
    for _ in range(MAX_LABELS):
        if found is None:
            return
        at = found.start()
        before = folded[at - 1] if at else " "
        if folded[at].isascii() and (before.isalnum() or before == "_"):
            found = pattern.search(folded, at + 1, end)
        else:
            yield found
            found = pattern.search(folded, found.end(), end)
