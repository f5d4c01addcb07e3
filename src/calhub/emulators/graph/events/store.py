"""The event store: per-mailbox calendars, items, indexes and the change journal.

Everything is indexed by mailbox, so a request touches only the mailbox it names (the emulator
holds 10,000 mailboxes). A mailbox's record is made on first use.

The journal (graph.md §3) records, per mailbox, every write as ``(seq, calendar, item, before)``
where ``before`` is the item's previous immutable value; delta rounds compare it with the current
one. The journal is bounded: when it is trimmed, or when the control API expires a mailbox's
tokens (``generation`` moves on), older tokens get ``410 SyncStateNotFound`` as on Graph.

Writes go through ``calhub.emulators.graph.events.mutations``, which also publishes each change.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calhub.emulators.graph.events.ids import ChangeKeys, calendar_group_id, calendar_id
from calhub.emulators.graph.events.model import CalendarRecord, EventTime, StoredEvent

if TYPE_CHECKING:
    from calhub.emulators.graph.state import Mailbox

JOURNAL_LIMIT = 20_000
"""Entries kept per mailbox; a token older than the oldest kept entry has expired."""

SNAPSHOT_LIMIT = 256
"""Initial delta rounds whose page order is kept, so paging one costs one expansion."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    calendar_id: str
    item_id: str
    before: StoredEvent | None


class MailboxEvents:
    """One mailbox's calendar, items, lookup indexes and change journal."""

    def __init__(self, mailbox: Mailbox, change_key: str) -> None:
        self.mailbox_id = mailbox.id
        self.address = mailbox.upn
        self.calendar = CalendarRecord(
            id=calendar_id(mailbox.id),
            group_id=calendar_group_id(mailbox.id),
            name="Calendar",
            owner_name=mailbox.display_name,
            owner_address=mailbox.upn,
            change_key=change_key,
        )
        self.items: dict[str, StoredEvent] = {}
        self.by_uid: dict[str, str] = {}
        self.by_transaction: dict[str, str] = {}
        self.journal: deque[JournalEntry] = deque()
        self.seq = 0
        self.floor = 0  # tokens from a seq below this have lost their history
        self.generation = 1

    def put(self, item: StoredEvent) -> StoredEvent | None:
        """Store ``item`` (new or replacing the same id) and journal the change."""
        before = self.items.get(item.id)
        self.items[item.id] = item
        self.by_uid[item.ical_uid] = item.id
        if item.transaction_id:
            self.by_transaction[item.transaction_id] = item.id
        self._journal(item.calendar_id, item.id, before)
        return before

    def remove(self, item_id: str) -> StoredEvent | None:
        before = self.items.pop(item_id, None)
        if before is None:
            return None
        if self.by_uid.get(before.ical_uid) == item_id:
            del self.by_uid[before.ical_uid]
        if before.transaction_id and self.by_transaction.get(before.transaction_id) == item_id:
            del self.by_transaction[before.transaction_id]
        self._journal(before.calendar_id, item_id, before)
        return before

    def by_ical_uid(self, uid: str) -> StoredEvent | None:
        item_id = self.by_uid.get(uid)
        return None if item_id is None else self.items.get(item_id)

    def expire_tokens(self) -> None:
        self.generation += 1

    def entries_after(self, seq: int, until: int, calendar: str) -> list[JournalEntry]:
        """Journal entries with ``seq < entry.seq <= until`` for one calendar, oldest first."""
        found: list[JournalEntry] = []
        for entry in reversed(self.journal):
            if entry.seq <= seq:
                break
            if entry.seq <= until and entry.calendar_id == calendar:
                found.append(entry)
        found.reverse()
        return found

    def _journal(self, calendar: str, item_id: str, before: StoredEvent | None) -> None:
        self.seq += 1
        self.journal.append(JournalEntry(self.seq, calendar, item_id, before))
        if len(self.journal) > JOURNAL_LIMIT:
            for _ in range(JOURNAL_LIMIT // 2):
                self.floor = self.journal.popleft().seq

    def dump(self) -> dict[str, Any]:
        return {
            "calendars": [{"id": self.calendar.id, "name": self.calendar.name}],
            "deltaGeneration": self.generation,
            "journalSeq": self.seq,
            "events": [_summary(item) for item in self.items.values()],
        }


class EventStore:
    """All mailboxes' event records; ``reset`` empties it for a new seed."""

    def __init__(self) -> None:
        self._boxes: dict[str, MailboxEvents] = {}
        self.change_keys = ChangeKeys()
        self.epoch = secrets.token_hex(4)  # delta tokens from before a reset are unknown
        self._snapshots: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()

    def box(self, mailbox: Mailbox) -> MailboxEvents:
        found = self._boxes.get(mailbox.id)
        if found is None:
            found = self._boxes[mailbox.id] = MailboxEvents(mailbox, self.change_keys.next())
        return found

    def existing(self, mailbox_id: str) -> MailboxEvents | None:
        return self._boxes.get(mailbox_id)

    def reset(self) -> None:
        self._boxes.clear()
        self._snapshots.clear()
        self.epoch = secrets.token_hex(4)

    def snapshot(self, key: tuple[Any, ...]) -> list[Any] | None:
        """What ``remember`` kept under ``key`` (the delta module's initial-round groups)."""
        found = self._snapshots.get(key)
        if found is not None:
            self._snapshots.move_to_end(key)
        return found

    def remember(self, key: tuple[Any, ...], value: list[Any]) -> None:
        self._snapshots[key] = value
        if len(self._snapshots) > SNAPSHOT_LIMIT:
            self._snapshots.popitem(last=False)

    def dump(self) -> dict[str, Any]:
        """``GET /_emulator/state``'s ``events``: per mailbox address, a summary of each item."""
        return {box.address: box.dump() for box in self._boxes.values() if box.items}


def _summary(item: StoredEvent) -> dict[str, Any]:
    props = item.props
    return {
        "id": item.id,
        "type": item.kind,
        "iCalUId": item.ical_uid,
        "subject": props.get("subject"),
        "start": _when(item.start),
        "end": _when(item.end),
        "timeZone": item.zone.name,
        "isOrganizer": props.get("isOrganizer"),
        "isCancelled": props.get("isCancelled"),
        "showAs": props.get("showAs"),
        "responseStatus": props.get("responseStatus", {}).get("response"),
        "organizer": props.get("organizer", {}).get("emailAddress", {}).get("address"),
        "attendees": [
            {
                "address": attendee["emailAddress"]["address"],
                "type": attendee["type"],
                "response": attendee["status"]["response"],
            }
            for attendee in props.get("attendees", [])
        ],
        "changeKey": item.change_key,
        "recurrence": item.recurrence,
        "exceptions": sorted(_when(e.original_start) for e in item.exceptions.values()),
        "cancelledOccurrences": sorted(_when(start) for start in item.cancelled.values()),
    }


def _when(value: EventTime | None) -> str | None:
    return None if value is None else value.isoformat()
