"""Meetings: the copies an organizer's event puts into attendees' and rooms' calendars (§1.2, §9).

Attendees who are mailboxes of the same tenant get their own copy of the organizer's item: same
``iCalUId``, type, series and exceptions, ``isOrganizer: false``, their own id, change key,
reminder, categories and extended properties. In a copy every attendee shows ``none`` and the
owner's own ``responseStatus`` is ``notResponded`` until they answer: Graph's responseStatus
documentation, "notResponded – from attendee's perspective ... Getting Alex' response from the
calendar of any other attendee or the organizer's returns none". An unanswered or tentative
invitation shows as ``tentative``; an accepted one takes the organizer's ``showAs``.

Each organizer write re-mirrors the whole series into every copy; a removed attendee's copy, and
every copy when the organizer deletes or cancels, becomes ``isCancelled`` with a "Canceled: "
subject (Outlook's cancellation), while rooms drop cancelled bookings from their calendars.
Attendees who declined get no new copy. Rooms answer through ``rooms.room_answer``; the
organizer's copy shows their answer and its time at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from calhub.emulators.graph.events.ids import instance_id, new_item_id
from calhub.emulators.graph.events.model import EMPTY, StoredEvent
from calhub.emulators.graph.events.parsing import attendee as parse_attendee
from calhub.emulators.graph.events.rooms import room_answer
from calhub.emulators.graph.events.scope import Scope, commit, commit_removal
from calhub.emulators.graph.events.series import with_plan
from calhub.emulators.graph.events.times import NEVER, format_utc_seconds
from calhub.emulators.graph.state import Mailbox

_COPY_OWN = ("isReminderOn", "reminderMinutesBeforeStart", "categories")


def complete_attendees(
    scope: Scope, previous: Iterable[dict[str, Any]], props: dict[str, Any]
) -> None:
    """Fill attendee names, keep known attendees' answers, and add rooms named only as a
    location (Outlook adds them as resource attendees)."""
    known = {a["emailAddress"]["address"].lower(): a for a in previous}
    attendees: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in props.get("attendees", []):
        address = entry["emailAddress"]["address"]
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        attendees.append(_completed(scope, entry, known.get(address.lower())))
    for place in [props.get("location", {}), *props.get("locations", [])]:
        address = place.get("locationEmailAddress")
        room = scope.mailbox(address) if address else None
        if room is not None and room.kind == "room" and room.upn.lower() not in seen:
            seen.add(room.upn.lower())
            entry = parse_attendee({"emailAddress": {"address": room.upn}, "type": "resource"})
            attendees.append(_completed(scope, entry, known.get(room.upn.lower())))
    props["attendees"] = attendees


def answer_rooms(
    scope: Scope, organizer: Mailbox, before: StoredEvent | None, item: StoredEvent
) -> StoredEvent:
    """The organizer's item with each room's answer, asked again when the room is new or the
    meeting's times changed."""
    if not item.is_organizer:
        return item
    rescheduled = before is None or _schedule(before) != _schedule(item)
    attendees = []
    changed = False
    for entry in item.props["attendees"]:
        room = scope.mailbox(entry["emailAddress"]["address"])
        answered = entry["status"]["response"] in ("accepted", "declined")
        is_room = room is not None and room.kind == "room" and room.id != organizer.id
        if room is not None and is_room and (rescheduled or not answered):
            status = {"response": room_answer(scope, room, item), "time": _now(scope)}
            entry = {**entry, "status": status}
            changed = True
        attendees.append(entry)
    if not changed:
        return item
    return replace(item, props={**item.props, "attendees": attendees})


def propagate(
    scope: Scope, organizer: Mailbox, before: StoredEvent | None, after: StoredEvent | None
) -> None:
    """Bring every attendee's copy in line with the organizer's item (``None``: deleted)."""
    current = after if after is not None else before
    if current is None or not current.is_organizer:
        return
    invited = dict(_participants(scope, organizer, after)) if after is not None else {}
    for mailbox, entry in invited.values():
        if entry["status"]["response"] == "declined":
            if mailbox.kind == "room":
                _cancel_copy(scope, mailbox, current.ical_uid)
            continue
        assert after is not None
        _mirror(scope, mailbox, after, room_accepted=mailbox.kind == "room")
    if before is None:
        return
    for key, (mailbox, _) in _participants(scope, organizer, before):
        if key not in invited:
            _cancel_copy(scope, mailbox, before.ical_uid)


def organizer_item(scope: Scope, copy: StoredEvent) -> tuple[Mailbox, StoredEvent] | None:
    """The organizer's mailbox and item for an attendee's copy, if the organizer is here."""
    address = copy.props["organizer"]["emailAddress"]["address"]
    mailbox = scope.mailbox(address) if address else None
    if mailbox is None:
        return None
    found = scope.box(mailbox).by_ical_uid(copy.ical_uid)
    return (mailbox, found) if found is not None and found.is_organizer else None


def copy_show_as(organizer_show_as: str, response: str) -> str:
    return organizer_show_as if response == "accepted" else "tentative"


def _participants(
    scope: Scope, organizer: Mailbox, item: StoredEvent
) -> Iterator[tuple[str, tuple[Mailbox, dict[str, Any]]]]:
    for entry in item.props["attendees"]:
        mailbox = scope.mailbox(entry["emailAddress"]["address"])
        if mailbox is not None and mailbox.id != organizer.id:
            yield mailbox.id, (mailbox, entry)


def _mirror(scope: Scope, mailbox: Mailbox, source: StoredEvent, *, room_accepted: bool) -> None:
    box = scope.box(mailbox)
    existing = box.by_ical_uid(source.ical_uid)
    if existing is not None and existing.is_organizer:
        return  # the attendee organises an event with the same uid: never overwrite it
    now = scope.now()
    kept = existing.props["responseStatus"] if existing and not existing.is_cancelled else None
    if room_accepted and (kept is None or kept["response"] != "accepted"):
        response = {"response": "accepted", "time": _now(scope)}
    elif kept is not None:
        response = kept
    else:
        response = {"response": "notResponded", "time": NEVER}
    copy_id = existing.id if existing is not None else new_item_id(mailbox.id)
    master = StoredEvent(
        id=copy_id,
        mailbox_id=mailbox.id,
        calendar_id=box.calendar.id,
        kind=source.kind,
        ical_uid=source.ical_uid,
        start=source.start,
        end=source.end,
        zone=source.zone,
        end_zone=source.end_zone,
        props=_copy_props(source, existing, mailbox, response),
        change_key=scope.change_key(),
        created=existing.created if existing is not None else now,
        modified=now,
        extended=existing.extended if existing is not None else EMPTY,
        recurrence=source.recurrence,
        cancelled=source.cancelled,
    )
    if source.plan is not None:
        exceptions = {}
        for slot, exception in source.exceptions.items():
            own = existing.exceptions.get(slot) if existing is not None else None
            own_response = own.props["responseStatus"] if own is not None else response
            exceptions[slot] = replace(
                exception,
                id=instance_id(copy_id, slot),
                mailbox_id=mailbox.id,
                calendar_id=box.calendar.id,
                props=_copy_props(exception, own, mailbox, own_response),
                change_key=master.change_key,
                series_master_id=copy_id,
                extended=own.extended if own is not None else master.extended,
            )
        master = with_plan(replace(master, exceptions=exceptions))
    commit(scope, mailbox, master)


def _copy_props(
    source: StoredEvent,
    existing: StoredEvent | None,
    mailbox: Mailbox,
    response: dict[str, Any],
) -> dict[str, Any]:
    props = dict(source.props)
    attendees = [
        {**entry, "status": {"response": "none", "time": NEVER}} for entry in props["attendees"]
    ]
    if props.get("hideAttendees"):
        attendees = [
            a for a in attendees if a["emailAddress"]["address"].lower() == mailbox.upn.lower()
        ]
    props.update(
        attendees=attendees,
        isOrganizer=False,
        responseStatus=response,
        showAs=copy_show_as(source.show_as, response["response"]),
        isCancelled=False,
    )
    if existing is not None:
        props.update((name, existing.props[name]) for name in _COPY_OWN)
    else:
        props.update(isReminderOn=True, reminderMinutesBeforeStart=15, categories=[])
    return props


def _cancel_copy(scope: Scope, mailbox: Mailbox, uid: str) -> None:
    box = scope.box(mailbox)
    copy = box.by_ical_uid(uid)
    if copy is None or copy.is_organizer or copy.is_cancelled:
        return
    if mailbox.kind == "room":
        commit_removal(scope, mailbox, copy.id)
        return
    subject = str(copy.props["subject"])
    props = {**copy.props, "isCancelled": True, "subject": f"Canceled: {subject}"}
    commit(
        scope,
        mailbox,
        replace(copy, props=props, change_key=scope.change_key(), modified=scope.now()),
    )


def _completed(scope: Scope, entry: dict[str, Any], known: dict[str, Any] | None) -> dict[str, Any]:
    email = entry["emailAddress"]
    if email["name"] is None:
        mailbox = scope.tenant.mailbox(email["address"])
        name = mailbox.display_name if mailbox is not None else email["address"]
        email = {"name": name, "address": email["address"]}
    status = known["status"] if known is not None else entry["status"]
    return {**entry, "status": status, "emailAddress": email}


def _now(scope: Scope) -> str:
    return format_utc_seconds(scope.now())


def _schedule(item: StoredEvent) -> tuple[Any, ...]:
    exceptions = sorted(
        (slot, e.start_instant, e.end_instant) for slot, e in item.exceptions.items()
    )
    return (
        item.start_instant,
        item.end_instant,
        json.dumps(item.recurrence, sort_keys=True),
        sorted(item.cancelled),
        exceptions,
    )
