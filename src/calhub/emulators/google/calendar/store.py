"""The events of every calendar, and every write to them (google.md §1, §3).

Each calendar (``CalendarEvents``) holds copies of meetings by event id. A write changes a
``Meeting`` and then bumps the change number of every copy it touches; incremental sync reads
those numbers (``listing.py``) and the listeners registered with ``on_change`` (the watch
channels) hear the id of each calendar touched. Writing into a calendar makes its owner the
organizer; same-customer attendees get a copy with the same id and iCalUID; a room attendee
accepts when its calendar is free over the event's instances (the first ``ROOM_HORIZON`` of a
series) and declines otherwise, and only an accepting room's calendar holds a copy (§1.5).

Deleting on the organizer's calendar cancels every copy; on an attendee's calendar it drops that
copy alone and records the attendee as declined. Deleting or patching an instance id of a series
makes an exception (a cancelled one for delete). Deleted events stay as ``cancelled`` so sync
can report them and deleting again answers 410 ``deleted``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from calhub.emulators.google.calendar import series
from calhub.emulators.google.calendar.conference import apply_conference
from calhub.emulators.google.calendar.model import CalendarEvents, Copy, Meeting, render
from calhub.emulators.google.calendar.times import When, split_instance_id, zone
from calhub.emulators.google.calendar.validation import check_id, parse_body
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.graph.clock import EmulatorClock

if TYPE_CHECKING:
    from calhub.emulators.google.state import CalendarInfo

ROOM_HORIZON = timedelta(days=366)
Interval = tuple[datetime, datetime]


def not_found() -> GoogleError:
    return GoogleError(404, "notFound", "Not Found")


class CalendarStore:
    def __init__(
        self, clock: EmulatorClock, calendar_info: Callable[[str], CalendarInfo | None]
    ) -> None:
        self.clock = clock
        self.calendar_info = calendar_info
        self._calendars: dict[str, CalendarEvents] = {}
        self._listeners: list[Callable[[str], None]] = []

    # -- the shared contract -------------------------------------------------------------

    def reset(self) -> None:
        self._calendars.clear()

    def seed_event(self, calendar_id: str, event: Mapping[str, Any]) -> None:
        if self.calendar_info(calendar_id) is None:
            raise ValueError(f"seed event for unknown calendar {calendar_id!r}")
        try:
            self.insert(calendar_id, event, conference_version=1)
        except GoogleError as exc:
            raise ValueError(f"seed event in {calendar_id}: {exc.message}") from exc

    def expire_sync_tokens(self, calendar_id: str) -> None:
        calendar = self.calendar(calendar_id)
        if calendar is not None:
            calendar.generation += 1

    def on_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def summary(self) -> dict[str, Any]:
        return {
            calendar.id: {
                "events": sum(1 for c in calendar.copies.values() if not c.cancelled),
                "cancelled": sum(1 for c in calendar.copies.values() if c.cancelled),
                "changes": calendar.seq,
                "sync_generation": calendar.generation,
            }
            for calendar in self._calendars.values()
        }

    # -- reading ---------------------------------------------------------------------------

    def calendar(self, calendar_id: str) -> CalendarEvents | None:
        """The calendar's events, made on first use; None for a calendar that does not exist."""
        key = calendar_id.lower()
        found = self._calendars.get(key)
        if found is None:
            info = self.calendar_info(calendar_id)
            if info is None:
                return None
            found = CalendarEvents(info.id, info.time_zone, self.clock.now())
            self._calendars[key] = found
        return found

    def require(self, calendar_id: str) -> CalendarEvents:
        calendar = self.calendar(calendar_id)
        if calendar is None:
            raise not_found()
        return calendar

    def get(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """``events.get``: cancelled events too (§3); an unchanged instance is rendered."""
        calendar = self.require(calendar_id)
        copy = calendar.copies.get(event_id)
        if copy is not None:
            return render(copy, calendar.id)
        parent, slot = self._virtual_instance(calendar, event_id)
        return series.render_instance(parent, calendar.id, slot)

    def busy(self, calendar: CalendarEvents, window: Interval, skip: str = "") -> list[Interval]:
        """Busy time (§5.2): opaque, not cancelled, not declined by this calendar's owner."""
        frame = zone(calendar.time_zone)
        out: list[Interval] = []
        me = calendar.id.lower()
        for copy in calendar.copies.values():
            meeting = copy.meeting
            if copy.cancelled or meeting.parent_id is not None or meeting.id == skip:
                continue
            if meeting.recurrence is None:
                times = [(meeting.start, meeting.end, meeting)]
            else:
                times = []
                for slot in series.slots(meeting, window, frame):
                    source = meeting.exceptions.get(slot.exception_id or "", meeting)
                    if not source.cancelled:
                        times.append((When(slot.start, None), When(slot.end, None), source))
            for start, end, source in times:
                if not source.opaque or _declined_by(source, me):
                    continue
                lo, hi = start.instant(frame), end.instant(frame)
                if lo < window[1] and hi > window[0]:
                    out.append((lo, hi))
        return out

    # -- writing ---------------------------------------------------------------------------

    def insert(
        self, calendar_id: str, body: Mapping[str, Any], *, conference_version: int = 0
    ) -> dict[str, Any]:
        calendar = self.require(calendar_id)
        event_id = check_id(body["id"]) if body.get("id") is not None else uuid.uuid4().hex
        if event_id in calendar.copies:
            raise GoogleError(409, "duplicate", "The requested identifier already exists.")
        parsed = parse_body(body, None, patch=False)
        now = self.clock.now()
        meeting = Meeting(
            event_id, calendar.id, parsed.data, parsed.start, parsed.end, parsed.recurrence,
            now, now,
        )  # fmt: skip
        meeting.conference = apply_conference(
            None, body.get("conferenceData"), event_id, conference_version
        )
        self._commit(meeting, {calendar.id.lower(): parsed.private or {}})
        return render(calendar.copies[event_id], calendar.id)

    def modify(
        self,
        calendar_id: str,
        event_id: str,
        body: Mapping[str, Any],
        *,
        patch: bool,
        conference_version: int = 0,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """``events.patch`` (``patch``) or ``events.update``; an instance id makes an exception."""
        calendar = self.require(calendar_id)
        copy = calendar.copies.get(event_id) or self._make_exception(calendar, event_id)
        _check_etag(copy, if_match)
        meeting = copy.meeting
        parsed = parse_body(body, meeting, patch=patch)
        moved = (parsed.start, parsed.end, parsed.recurrence) != (
            meeting.start,
            meeting.end,
            meeting.recurrence,
        )
        if moved and "sequence" not in body:
            parsed.data["sequence"] = meeting.data.get("sequence", 0) + 1
        meeting.data, meeting.start, meeting.end = parsed.data, parsed.start, parsed.end
        meeting.recurrence = parsed.recurrence
        requested = body.get("conferenceData")
        if not patch and conference_version == 1 and requested is None:
            meeting.conference = None
        meeting.conference = apply_conference(
            meeting.conference, requested, meeting.id, conference_version
        )
        meeting.updated = self.clock.now()
        private = {calendar.id.lower(): parsed.private} if parsed.private is not None else {}
        if not patch and parsed.private is None:
            private = {calendar.id.lower(): {}}
        copy.dropped = False
        self._commit(meeting, private)
        return render(calendar.copies[meeting.id], calendar.id)

    def delete(self, calendar_id: str, event_id: str, *, if_match: str | None = None) -> None:
        calendar = self.require(calendar_id)
        copy = calendar.copies.get(event_id) or self._make_exception(calendar, event_id)
        if copy.cancelled:
            raise GoogleError(410, "deleted", "Resource has been deleted")
        _check_etag(copy, if_match)
        meeting = copy.meeting
        meeting.updated = self.clock.now()
        if calendar.id.lower() == meeting.organizer.lower():
            meeting.data["status"] = "cancelled"
            self._commit(meeting, {}, targets=set(meeting.copies))
            return
        for attendee in meeting.data.get("attendees", []):
            if attendee["email"].lower() == calendar.id.lower():
                attendee["responseStatus"] = "declined"
        self._commit(meeting, {}, targets=meeting.copies - {calendar.id.lower()})

    # -- internals -------------------------------------------------------------------------

    def _virtual_instance(self, calendar: CalendarEvents, event_id: str) -> tuple[Copy, Any]:
        split = split_instance_id(event_id)
        parent = calendar.copies.get(split[0]) if split is not None else None
        if split is None or parent is None or parent.meeting.recurrence is None:
            raise not_found()
        slot = series.find_slot(parent.meeting, event_id, split[1])
        if slot is None:
            raise not_found()
        return parent, slot

    def _make_exception(self, calendar: CalendarEvents, event_id: str) -> Copy:
        """Turn the unchanged instance ``event_id`` into an exception on every copy."""
        parent, slot = self._virtual_instance(calendar, event_id)
        if parent.cancelled:
            raise GoogleError(410, "deleted", "Resource has been deleted")
        series_meeting = parent.meeting
        data = {k: v for k, v in series_meeting.data.items() if k != "recurrence"}
        start_zone, end_zone = series_meeting.start.time_zone, series_meeting.end.time_zone
        now = self.clock.now()
        exception = Meeting(
            event_id, series_meeting.organizer, data, When(slot.start, start_zone),
            When(slot.end, end_zone), None, now, now, series_meeting.conference,
            series_meeting.id, slot.original, start_zone,
        )  # fmt: skip
        series_meeting.exceptions[event_id] = exception
        exception.copies = set(series_meeting.copies)
        for key in exception.copies:
            holder = self._calendars[key]
            private = dict(holder.copies[series_meeting.id].private)
            holder.copies[event_id] = Copy(exception, private, 0, now)
        return calendar.copies[event_id]

    def _commit(
        self,
        meeting: Meeting,
        private: dict[str, dict[str, str]],
        *,
        targets: set[str] | None = None,
    ) -> None:
        """Place ``meeting`` on ``targets`` (by default the calendars it belongs to), drop it
        from the others, bump each copy touched and tell the listeners."""
        touched: list[CalendarEvents] = []
        if targets is None:
            targets = self._targets(meeting)
        for key in sorted(meeting.copies - targets):  # attendees removed or rooms declining
            holder = self._calendars[key]
            holder.copies[meeting.id].dropped = True
            touched.append(holder)
        for key in sorted(targets):
            holder = self._calendars[key]
            existing = holder.copies.get(meeting.id)
            if existing is None:
                existing = Copy(meeting, {}, 0, self.clock.now())
                holder.copies[meeting.id] = existing
            elif existing.meeting is not meeting:
                continue  # an unrelated event already uses this id on that calendar
            existing.dropped = False
            if key in private:
                existing.private = private[key]
            touched.append(holder)
        meeting.copies = {
            key for key in targets if self._calendars[key].copies[meeting.id].meeting is meeting
        }
        for holder in touched:
            self._bump(holder, holder.copies[meeting.id])
        for holder in touched:
            for listener in self._listeners:
                listener(holder.id)

    def _bump(self, calendar: CalendarEvents, copy: Copy) -> None:
        now = self.clock.now()
        calendar.seq += 1
        calendar.updated = now
        copy.seq = calendar.seq
        copy.updated = now

    def _targets(self, meeting: Meeting) -> set[str]:
        organizer = self.calendar_info(meeting.organizer)
        assert organizer is not None
        targets = {organizer.id.lower()}
        if meeting.parent_id is not None:  # exceptions live where their series lives
            return targets | meeting.copies
        for attendee in meeting.data.get("attendees", []):
            info = self.calendar_info(attendee["email"])
            if info is None or info.customer_id != organizer.customer_id:
                continue
            if info.id.lower() == organizer.id.lower():
                attendee["organizer"] = True
                if attendee["responseStatus"] == "needsAction":
                    attendee["responseStatus"] = "accepted"
            elif info.is_resource:
                attendee["resource"] = True
                attendee.setdefault("displayName", info.summary)
                free = meeting.cancelled or not self._room_conflict(info.id, meeting)
                attendee["responseStatus"] = "accepted" if free else "declined"
                if not free:
                    continue
            self.calendar(info.id)
            targets.add(info.id.lower())
        return targets

    def _room_conflict(self, room_id: str, meeting: Meeting) -> bool:
        room = self.require(room_id)
        wanted = sorted(_occurrences(meeting, zone(room.time_zone)))
        if not wanted:
            return False
        taken = sorted(self.busy(room, (wanted[0][0], wanted[-1][1]), skip=meeting.id))
        return any(lo < t_hi and t_lo < hi for lo, hi in wanted for t_lo, t_hi in taken)


def _occurrences(meeting: Meeting, frame: Any) -> Iterator[Interval]:
    if meeting.recurrence is None:
        yield meeting.start.instant(frame), meeting.end.instant(frame)
        return
    first = meeting.start.instant(frame)
    for slot in series.slots(meeting, (first, first + ROOM_HORIZON), frame):
        exception = meeting.exceptions.get(slot.exception_id or "")
        if exception is None or not exception.cancelled:
            yield When(slot.start, None).instant(frame), When(slot.end, None).instant(frame)


def _declined_by(meeting: Meeting, calendar_id: str) -> bool:
    return any(
        a["email"].lower() == calendar_id and a.get("responseStatus") == "declined"
        for a in meeting.data.get("attendees", [])
    )


def _check_etag(copy: Copy, if_match: str | None) -> None:
    if if_match is not None and if_match != "*" and if_match != copy.etag:
        raise GoogleError(
            412, "conditionNotMet", "Precondition Failed", location="If-Match",
            location_type="header",
        )  # fmt: skip
