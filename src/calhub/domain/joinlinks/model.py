"""What join-link detection returns and what it may be given besides the invite text.

``JoinDetails`` is the result (docs/joinlinks.md, "Output"); ``ProviderHints`` carries the
structured meeting data a calendar provider already knows (Graph ``onlineMeeting.joinUrl``,
Google ``conferenceData.entryPoints``). Field meanings follow the corpus README
(``shared/corpus/README.md``, "expected") and ``shared/reference/joinlinks.md`` §2.10.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BodyFormat",
    "ConferenceEntryPoint",
    "JoinDetails",
    "JoinSource",
    "ProviderHints",
    "entry_points_from_conference_data",
]

BodyFormat = Literal["html", "text"]
JoinSource = Literal["provider_data", "location", "body"]


@dataclass(frozen=True, slots=True)
class JoinDetails:
    """How to join one meeting, as found in an invite.

    ``provider`` names the service (``webex``, ``zoom``, ``teams``, ``google_meet``, ...,
    ``sip``, ``h323``, ``tel``); ``join_url`` is canonical (see docs/joinlinks.md); ``sip_uri``
    is ``sip:``/``sips:`` without parameters; ``passcode`` only ever comes from a label, a
    BlueJeans path or a Zoom CRC address. ``keyword``/``keyword_modifier``/``meeting_backend``
    are set for keyword invites (``@webex:space`` -> ``space``, backend ``webex_space``);
    ``dial_string`` only for ``h323`` and ``tel``. ``source`` says which field decided it.
    The repr leaves out the join data: it is as sensitive as the body it came from.
    """

    provider: str
    source: JoinSource
    join_url: str | None = None
    sip_uri: str | None = None
    meeting_id: str | None = None
    passcode: str | None = None
    keyword: str | None = None
    keyword_modifier: str | None = None
    meeting_backend: str | None = None
    dial_string: str | None = None

    def __repr__(self) -> str:
        return f"JoinDetails(provider={self.provider!r}, source={self.source!r}, ...)"


@dataclass(frozen=True, slots=True)
class ConferenceEntryPoint:
    """One Google Calendar ``conferenceData.entryPoints[]`` item (only the fields used here)."""

    entry_point_type: str
    uri: str
    passcode: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderHints:
    """Structured meeting data from the calendar provider; it beats anything in the text."""

    online_meeting_join_url: str | None = None
    entry_points: tuple[ConferenceEntryPoint, ...] = ()


def entry_points_from_conference_data(
    conference_data: Mapping[str, object],
) -> tuple[ConferenceEntryPoint, ...]:
    """The entry points of a Google ``conferenceData`` object; malformed items are skipped."""
    items = conference_data.get("entryPoints")
    if not isinstance(items, list):
        return ()
    found: list[ConferenceEntryPoint] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind, uri = item.get("entryPointType"), item.get("uri")
        if isinstance(kind, str) and isinstance(uri, str):
            passcode, password = item.get("passcode"), item.get("password")
            found.append(
                ConferenceEntryPoint(
                    entry_point_type=kind,
                    uri=uri,
                    passcode=passcode if isinstance(passcode, str) else None,
                    password=password if isinstance(password, str) else None,
                )
            )
    return tuple(found)
