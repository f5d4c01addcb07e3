"""Finding what a URL names: a mailbox's calendar, an event, an occurrence (graph.md §1.7, §12).

An id the emulator could not have issued is ``400 ErrorInvalidIdMalformed`` ("Id is malformed.");
a well-formed id of nothing in this mailbox (deleted, another mailbox's, a cancelled occurrence)
is ``404 ErrorItemNotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.ids import IdMalformed, is_well_formed_folder_id, parse_event_id
from calhub.emulators.graph.events.model import CalendarRecord, Instance, StoredEvent
from calhub.emulators.graph.events.series import find_instance
from calhub.emulators.graph.events.store import MailboxEvents


@dataclass(frozen=True, slots=True)
class Target:
    """An event id resolved: the top-level item, and the instance when the id names one."""

    item: StoredEvent
    instance: Instance | None = None


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def find_target(box: MailboxEvents, event_id: str) -> Target:
    try:
        parsed = parse_event_id(event_id)
    except IdMalformed:
        raise malformed() from None
    if parsed.mailbox_id != box.mailbox_id:
        raise not_found()
    item = box.items.get(parsed.item_id)
    if item is None:
        raise not_found()
    if parsed.original_start is None:
        return Target(item)
    instance = find_instance(item, parsed.original_start)
    if instance is None:
        raise not_found()
    return Target(item, instance)


def calendar_in_path(box: MailboxEvents, path_params: Mapping[str, Any]) -> CalendarRecord:
    """The calendar a ``/calendars/{calendar_id}`` (or calendar group) path names; the default
    calendar for ``/events`` and ``/calendar/...``."""
    group = path_params.get("group_id")
    if group is not None and group != box.calendar.group_id:
        raise not_found() if is_well_formed_folder_id(str(group)) else malformed()
    wanted = path_params.get("calendar_id")
    if wanted is not None and wanted != box.calendar.id:
        raise not_found() if is_well_formed_folder_id(str(wanted)) else malformed()
    return box.calendar


def in_calendar(target: Target, calendar: CalendarRecord) -> Target:
    if target.item.calendar_id != calendar.id:
        raise not_found()
    return target
