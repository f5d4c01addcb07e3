"""Arithmetic iteration for the commonest rules, several times faster than dateutil's loop.

Rules whose instances sit at fixed day offsets in each period - ``FREQ=DAILY;INTERVAL=n`` and
``FREQ=WEEKLY;INTERVAL=n;BYDAY=<plain weekdays>`` (also ``FREQ=DAILY;BYDAY=...`` with INTERVAL
1), with no other BYxxx part - are stepped with aware-datetime arithmetic; monthly rules on one
day (1-28) or one n-th weekday (±1..4) are stepped month by month. Adding a timedelta to
an aware datetime is wall-clock arithmetic in Python, exactly what dateutil does (it computes
naive wall times and attaches the zone), so the results are identical, including nonexistent
and ambiguous local times. The differential tests hold this to dateutil's answers.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, datetime, timedelta

from dateutil import rrule as du

from calhub.domain.recurrence.rfc5545 import RecurrenceRule

__all__ = ["MonthStepper", "Stepper", "stepper_for"]


@dataclass(frozen=True, slots=True)
class Stepper:
    """Instances ``period_start + k·step + offset`` that are not before ``start``."""

    start: datetime
    period_start: datetime
    step_days: int
    offsets: tuple[int, ...]

    def iterate_from(self, lo: datetime, until: datetime | None) -> Iterator[datetime]:
        period_start, start = self.period_start, self.start
        periods = max(0, (lo.date() - period_start.date()).days // self.step_days)
        current = period_start + timedelta(days=periods * self.step_days)
        step = timedelta(days=self.step_days)
        shifts = [timedelta(days=offset) for offset in self.offsets]
        while True:
            for shift in shifts:
                value = current + shift
                if value < start:
                    continue
                if until is not None and value > until:
                    return
                yield value
            current += step

    def nth(self, count: int) -> datetime:
        """The ``count``-th instance (1-based), for turning COUNT into UNTIL."""
        first = [offset for offset in self.offsets if self._at(0, offset) >= self.start]
        if count <= len(first):
            return self._at(0, first[count - 1])
        periods, index = divmod(count - len(first) - 1, len(self.offsets))
        return self._at(periods + 1, self.offsets[index])

    def _at(self, period: int, offset: int) -> datetime:
        return self.period_start + timedelta(days=period * self.step_days + offset)


@dataclass(frozen=True, slots=True)
class MonthStepper:
    """One instance every ``interval`` months: a fixed day (at most 28, so every month has it)
    or the n-th weekday (n in ±1..4, which every month has)."""

    start: datetime
    interval: int
    monthday: int | None
    weekday: int = 0
    ordinal: int = 0

    def _in(self, period: int) -> datetime | None:
        year, month0 = divmod(
            self.start.year * 12 + self.start.month - 1 + period * self.interval, 12
        )
        if year > MAXYEAR:
            return None
        month = month0 + 1
        if self.monthday is not None:
            day = self.monthday
        else:
            first, length = monthrange(year, month)
            if self.ordinal > 0:
                day = 1 + (self.weekday - first) % 7 + 7 * (self.ordinal - 1)
            else:
                last = (first + length - 1) % 7
                day = length - (last - self.weekday) % 7 + 7 * (self.ordinal + 1)
        return self.start.replace(year=year, month=month, day=day)

    def iterate_from(self, lo: datetime, until: datetime | None) -> Iterator[datetime]:
        start = self.start
        months = lo.year * 12 + lo.month - start.year * 12 - start.month
        period = max(0, months // self.interval)
        while True:
            value = self._in(period)
            if value is None or (until is not None and value > until):
                return
            if value >= start:
                yield value
            period += 1

    def nth(self, count: int) -> datetime:
        first = self._in(0)
        late_start = first is not None and first < self.start
        value = self._in(count if late_start else count - 1)
        return value if value is not None else datetime.max.replace(tzinfo=self.start.tzinfo)


def stepper_for(rule: RecurrenceRule, start: datetime) -> Stepper | MonthStepper | None:
    """A ``Stepper`` equal to ``rule`` from ``start``, or None when the rule needs dateutil."""
    if rule.freq == du.MONTHLY:
        return _month_stepper(rule, start.replace(microsecond=0))
    if (
        rule.bysetpos
        or rule.bymonth
        or rule.bymonthday
        or rule.byyearday
        or rule.byweekno
        or rule.byhour
        or rule.byminute
        or rule.bysecond
        or any(ordinal is not None for _, ordinal in rule.byweekday)
    ):
        return None
    start = start.replace(microsecond=0)
    days = sorted({day for day, _ in rule.byweekday})
    if rule.freq == du.DAILY and not days:
        return Stepper(start, start, rule.interval, (0,))
    if rule.freq == du.DAILY and rule.interval == 1:
        wkst = 0  # every day is its own period; weeks of any start give the same days
    elif rule.freq == du.WEEKLY:
        wkst = rule.wkst
        days = days or [start.weekday()]
    else:
        return None
    week_start = start - timedelta(days=(start.weekday() - wkst) % 7)
    offsets = tuple(sorted((day - wkst) % 7 for day in days))
    return Stepper(start, week_start, 7 * rule.interval, offsets)


def _month_stepper(rule: RecurrenceRule, start: datetime) -> MonthStepper | None:
    if (
        rule.bysetpos
        or rule.bymonth
        or rule.byyearday
        or rule.byweekno
        or rule.byhour
        or rule.byminute
        or rule.bysecond
        or len(rule.bymonthday) + len(rule.byweekday) > 1
    ):
        return None
    if rule.byweekday:
        weekday, ordinal = rule.byweekday[0]
        if ordinal is None or not 1 <= abs(ordinal) <= 4:
            return None
        return MonthStepper(start, rule.interval, None, weekday, ordinal)
    monthday = rule.bymonthday[0] if rule.bymonthday else start.day
    if not 1 <= monthday <= 28:
        return None
    return MonthStepper(start, rule.interval, monthday)
