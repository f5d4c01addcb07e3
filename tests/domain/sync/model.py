"""A small model calendar that behaves as Graph does, and what its delta rounds report.

Items are single events or daily series (``FREQ=DAILY;INTERVAL=k;COUNT=n``, UTC). Editing a
master's times drops its exceptions and cancelled instances; cancelling an instance removes its
exception; an exception keeps the id of its slot. A round reports every touched item with
instances in the window as its master (or single event), its exceptions and its occurrences in
the window, and every other touched item as a removal (graph.md section 3.2). Exceptions are
only ever moved to times inside the window: one moved out of it is the planner's known limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from calhub.domain.events import Recurrence
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal

from .mirror import WINDOW_END, WINDOW_START

DAY = timedelta(days=1)

Occurrence = tuple[str, datetime, datetime, datetime, bool]
"""(owner's provider id, start, end, original start, is it an exception)"""


def overlaps(start: datetime, end: datetime) -> bool:
    return start < WINDOW_END and end > WINDOW_START


@dataclass
class ModelException:
    provider_id: str
    start: datetime
    end: datetime
    subject: str = ""


@dataclass
class ModelItem:
    provider_id: str
    start: datetime
    duration: timedelta
    count: int | None = None  # None: a single event
    interval: int = 1
    subject: str = ""
    is_cancelled: bool = False
    exceptions: dict[datetime, ModelException] = field(default_factory=dict)
    skipped: set[datetime] = field(default_factory=set)

    @property
    def rule(self) -> str:
        return f"FREQ=DAILY;INTERVAL={self.interval};COUNT={self.count}"

    def slots(self) -> list[datetime]:
        count = self.count or 1
        return [self.start + n * self.interval * DAY for n in range(count)]

    def occurrences(self) -> list[Occurrence]:
        return [] if self.is_cancelled else self.instances()

    def instances(self) -> list[Occurrence]:
        """The instances in the window, cancelled or not: what decides whether it is reported."""
        found: list[Occurrence] = []
        for slot in self.slots():
            exception = self.exceptions.get(slot)
            if slot in self.skipped:
                continue
            if exception is not None:
                if overlaps(exception.start, exception.end):
                    found.append(
                        (exception.provider_id, exception.start, exception.end, slot, True)
                    )
            elif overlaps(slot, slot + self.duration):
                found.append((self.provider_id, slot, slot + self.duration, slot, False))
        return found

    def report(self) -> list[Change]:
        """What a delta round says about this item."""
        if not self.instances():
            return [Removal(self.provider_id)]
        if self.count is None:
            return [
                ProviderEvent(
                    self.provider_id,
                    ItemKind.SINGLE,
                    self.start,
                    self.start + self.duration,
                    subject=self.subject,
                    is_cancelled=self.is_cancelled,
                )
            ]
        changes: list[Change] = [
            ProviderEvent(
                self.provider_id,
                ItemKind.SERIES,
                self.start,
                self.start + self.duration,
                subject=self.subject,
                recurrence=Recurrence(rrules=(self.rule,)),
                cancelled_starts=tuple(sorted(self.skipped)),
            )
        ]
        for owner, start, end, original, is_exception in self.instances():
            kind = ItemKind.EXCEPTION if is_exception else ItemKind.OCCURRENCE
            subject = self.exceptions[original].subject if is_exception else ""
            changes.append(
                ProviderEvent(
                    owner if is_exception else f"{self.provider_id}@{original.isoformat()}",
                    kind,
                    start,
                    end,
                    subject=subject,
                    series_provider_id=self.provider_id,
                    original_start=original,
                )
            )
        return changes


@dataclass
class ModelCalendar:
    items: dict[str, ModelItem] = field(default_factory=dict)
    created: int = 0

    def pick(self, index: int, series: bool | None = None) -> ModelItem | None:
        """One of the items (``series``: only series, only single events, or either)."""
        keys = [
            key
            for key in sorted(self.items)
            if series is None or (self.items[key].count is not None) == series
        ]
        return self.items[keys[index % len(keys)]] if keys else None

    def expected_occurrences(self) -> set[Occurrence]:
        return {o for item in self.items.values() for o in item.occurrences()}

    def expected_events(self) -> dict[str, tuple[object, ...]]:
        """Provider id -> (start, end, subject, cancelled, master's provider id, original start,
        rule, cancelled starts) for everything the mirror should hold."""
        found: dict[str, tuple[object, ...]] = {}
        for item in self.items.values():
            if not item.instances():
                continue
            rule = item.rule if item.count is not None else None
            end = item.start + item.duration
            found[item.provider_id] = (
                item.start, end, item.subject, item.is_cancelled, None, None, rule,
                frozenset(item.skipped),
            )  # fmt: skip
            for slot, exception in item.exceptions.items():
                found[exception.provider_id] = (
                    exception.start, exception.end, exception.subject, False,
                    item.provider_id, slot, None, frozenset(),
                )  # fmt: skip
        return found
