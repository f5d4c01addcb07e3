"""What the store keeps for an event, and how an event reads on one calendar.

A ``Meeting`` is the event as its organizer made it: the shared JSON fields, its parsed times and
recurrence, and the calendars holding a copy (the organizer's, same-customer attendees', and an
accepting room's; google.md §1.5). A ``Copy`` is its place on one calendar: the private extended
properties (§1.8, per copy), the change sequence number incremental sync reads, and whether that
calendar alone dropped it. A recurring event's exceptions are meetings of their own whose ids are
instance ids (§1.4). ``render`` gives Google's ``Event`` JSON as one calendar sees it; a cancelled
event in a list carries only the guaranteed fields (§2.3).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calhub.domain.events import EventTime, Recurrence
from calhub.emulators.google.calendar.conference import hangout_link
from calhub.emulators.google.calendar.times import When, render_when, timestamp

# Event fields a client may write (discovery ``Event``); the rest are the server's.
WRITABLE = frozenset(
    {
        "summary", "description", "location", "colorId", "status", "transparency",
        "visibility", "eventType", "outOfOfficeProperties", "focusTimeProperties",
        "workingLocationProperties", "birthdayProperties", "attendees", "reminders",
        "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
        "anyoneCanAddSelf", "source", "attachments", "sequence", "endTimeUnspecified",
        "privateCopy", "gadget", "recurrence",
    }
)  # fmt: skip


@dataclass(slots=True)
class Meeting:
    id: str
    organizer: str  # the organizer's calendar id as spelled by the directory
    data: dict[str, Any]  # the shared writable fields, normalised
    start: When
    end: When
    recurrence: Recurrence | None
    created: datetime
    updated: datetime
    conference: dict[str, Any] | None = None
    parent_id: str | None = None  # set on an exception of a recurring event
    original: EventTime | None = None  # the exception's slot
    original_zone: str | None = None
    copies: set[str] = field(default_factory=set)  # lower-cased ids of calendars holding it
    exceptions: dict[str, Meeting] = field(default_factory=dict)  # a series' changed instances

    @property
    def cancelled(self) -> bool:
        return bool(self.data.get("status") == "cancelled")

    @property
    def opaque(self) -> bool:
        return bool(self.data.get("transparency", "opaque") == "opaque")


@dataclass(slots=True)
class Copy:
    meeting: Meeting
    private: dict[str, str]
    seq: int
    updated: datetime
    dropped: bool = False  # this calendar deleted its copy (an attendee removing an invitation)

    @property
    def cancelled(self) -> bool:
        return self.dropped or self.meeting.cancelled

    @property
    def etag(self) -> str:
        micros = int(self.updated.timestamp() * 1_000_000)
        return f'"{micros * 10 + self.seq % 10}"'


@dataclass(slots=True)
class CalendarEvents:
    """One calendar's copies, its change counter and its sync-token generation."""

    id: str
    time_zone: str
    updated: datetime
    copies: dict[str, Copy] = field(default_factory=dict)
    seq: int = 0
    generation: int = 0


def html_link(event_id: str, calendar_id: str) -> str:
    raw = f"{event_id} {calendar_id}".encode()
    eid = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def _person(email: str, me: str) -> dict[str, Any]:
    out: dict[str, Any] = {"email": email}
    if email.lower() == me:
        out["self"] = True
    return out


def render(copy: Copy, calendar_id: str, *, minimal: bool = False) -> dict[str, Any]:
    """The event as ``calendar_id`` reads it; ``minimal`` for cancelled items in lists."""
    meeting = copy.meeting
    me = calendar_id.lower()
    out: dict[str, Any] = {"kind": "calendar#event", "etag": copy.etag, "id": meeting.id}
    if copy.cancelled:
        out["status"] = "cancelled"
    if meeting.parent_id is not None and meeting.original is not None:
        out["recurringEventId"] = meeting.parent_id
        out["originalStartTime"] = render_when(When(meeting.original, meeting.original_zone))
    if minimal and copy.cancelled:
        return out
    data = meeting.data
    body: dict[str, Any] = {
        "status": "cancelled" if copy.cancelled else data.get("status", "confirmed"),
        "htmlLink": html_link(meeting.id, calendar_id),
        "created": timestamp(meeting.created),
        "updated": timestamp(copy.updated),
        **{k: v for k, v in data.items() if k not in ("status", "attendees", "extendedProperties")},
        "creator": _person(meeting.organizer, me),
        "organizer": _person(meeting.organizer, me),
        "start": render_when(meeting.start),
        "end": render_when(meeting.end),
        "iCalUID": f"{meeting.parent_id or meeting.id}@google.com",
        "sequence": data.get("sequence", 0),
        "reminders": data.get("reminders", {"useDefault": True}),
        "eventType": data.get("eventType", "default"),
    }
    if "attendees" in data:
        body["attendees"] = [
            {**a, "self": True} if a["email"].lower() == me else dict(a) for a in data["attendees"]
        ]
    shared = data.get("extendedProperties", {}).get("shared")
    if copy.private or shared:
        props: dict[str, Any] = {}
        if copy.private:
            props["private"] = dict(copy.private)
        if shared:
            props["shared"] = dict(shared)
        body["extendedProperties"] = props
    if meeting.conference is not None:
        body["conferenceData"] = meeting.conference
        link = hangout_link(meeting.conference)
        if link is not None:
            body["hangoutLink"] = link
    out.update(body)
    return out
