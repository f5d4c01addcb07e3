"""A tenant's join settings: keywords, the meeting backends they may use, the join block's frame.

``JoinSettings`` is what an admin sets (``PUT /api/v1/join-settings``, ``calhub join-settings``);
the write-back reads it for every keyword invite. A backend left unset cannot make meetings: a
keyword asking for it is reported on the write as "not configured", never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from calhub.domain.joinlinks.backends import (
    InvalidBackendConfiguration,
    JitsiRooms,
    SipVirtualRooms,
    WebexPersonalRoom,
)
from calhub.domain.joinlinks.keywords import DEFAULT_KEYWORDS, KeywordTable

__all__ = ["MAX_FRAME_CHARS", "TEMPLATE_BACKENDS", "JoinSettings"]

MAX_FRAME_CHARS: Final = 1_024
# The join block's markers start with it: admin text holding it could forge or end a marker.
RESERVED_TEXT: Final = "joinsvc:"
# Backends made from templates here; "teams" asks the calendar provider for an online meeting.
TEMPLATE_BACKENDS: Final = ("webex_personal_room", "jitsi", "sip_vmr")


@dataclass(frozen=True, slots=True)
class JoinSettings:
    keywords: KeywordTable = field(default=DEFAULT_KEYWORDS)
    webex_personal_room: WebexPersonalRoom | None = None
    jitsi: JitsiRooms | None = None
    sip_vmr: SipVirtualRooms | None = None
    teams: bool = True  # keyword invites may ask the organizer's provider for a Teams meeting
    header: str = ""  # plain text above the join details, at most MAX_FRAME_CHARS
    footer: str = ""  # plain text below them, at most MAX_FRAME_CHARS
    write_back: bool = True  # False: detect and store joins, never edit invites

    def __post_init__(self) -> None:
        for name, value in (("header", self.header), ("footer", self.footer)):
            if len(value) > MAX_FRAME_CHARS:
                raise InvalidBackendConfiguration(
                    f"the join block {name} is {len(value)} characters; at most "
                    f"{MAX_FRAME_CHARS} are allowed"
                )
            if RESERVED_TEXT in value.lower():
                raise InvalidBackendConfiguration(
                    f"the join block {name} may not contain {RESERVED_TEXT!r}: it marks "
                    "where calhub's block begins and ends"
                )
