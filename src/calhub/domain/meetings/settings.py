"""A tenant's meeting settings: how long before start a join prompt fires (issue 6, "OBTP").

The lead time defaults to 5 minutes, the RoomOS default for showing the Join button
(``UserInterface Bookings Visibility EarlyJoin: Hidden``, shared/reference/joinlinks.md §1.7); a
room may have its own. Stored as JSON (``meeting_settings``); no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from calhub.domain.ids import CalendarId

DEFAULT_LEAD = timedelta(minutes=5)
MAX_LEAD = timedelta(minutes=60)


class InvalidMeetingSettings(ValueError):
    """Settings that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    lead: timedelta = DEFAULT_LEAD
    room_leads: Mapping[CalendarId, timedelta] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for where, value in (("lead", self.lead), *self._room_fields()):
            if not timedelta(0) <= value <= MAX_LEAD:
                raise InvalidMeetingSettings(f"{where}: must be between 0 and 60 minutes")

    def _room_fields(self) -> list[tuple[str, timedelta]]:
        return [(f"rooms.{room}.lead", lead) for room, lead in self.room_leads.items()]

    def lead_for(self, calendar_id: CalendarId) -> timedelta:
        """The lead time of join prompts for devices of this calendar."""
        return self.room_leads.get(calendar_id, self.lead)
