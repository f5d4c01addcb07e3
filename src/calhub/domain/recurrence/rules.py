"""A parsed RRULE bound to its DTSTART: dateutil iteration that is fast and always bounded.

``bind_rule(text, start)`` is cached per (rule text, start, zone) and does the expensive work
once:

- the commonest rules (daily, weekly on plain weekdays, monthly on one day or one n-th weekday)
  get an arithmetic ``calhub.domain.recurrence.stepping`` iterator instead of dateutil's loop,
  and their COUNT becomes an UNTIL;

- it makes dateutil's DTSTART-derived defaults explicit (BYDAY from the start's weekday for
  WEEKLY, BYMONTHDAY for MONTHLY, BYHOUR/BYMINUTE/BYSECOND for coarser frequencies), so the rule
  can later be restarted at any period boundary without changing which instants it produces;
- a COUNT on a rule without BYxxx parts (every period yields exactly one instance) becomes an
  UNTIL by arithmetic, so ``FREQ=SECONDLY;COUNT=1000000000`` costs nothing to skip;
- it probes whether the rule can ever match. dateutil only stops at UNTIL when it meets a
  candidate, so a rule such as ``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31`` would otherwise loop to
  year 9999 (seconds of CPU). The Gregorian calendar repeats every 400 years, so a first probe
  runs only the date filters as a YEARLY rule over years 9600-9999 (milliseconds), and a second
  runs the whole rule moved 400·k years forward to start between 9200 and 9599: whatever it finds
  there it would have found from the real start, and its loop ends at year 9999. (A rule whose
  first instance is more than 400 years after DTSTART, possible only with contrived INTERVALs,
  is taken as never matching.) A rule that never matches yields nothing; the series still has
  its DTSTART.

``BoundRule.iterate_from(lo)`` then restarts the rule at the period containing ``lo`` (skipping
ahead by whole INTERVALs) when there is no COUNT; with a COUNT that could not be turned into
UNTIL the rule must be walked from DTSTART, and ``MAX_SKIPPED`` instances before the window is
the work budget beyond which ``RecurrenceTooExpensive`` is raised instead of spinning.

Times are aware datetimes in the series' zone; dateutil works on wall-clock fields, which gives
RFC 5545's "same local time" across DST changes. All-day series use midnight UTC as their frame.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil import rrule as du

from calhub.domain.recurrence.errors import InvalidRecurrence, RecurrenceTooExpensive
from calhub.domain.recurrence.rfc5545 import FloatingTime, RecurrenceRule, parse_rrule
from calhub.domain.recurrence.stepping import MonthStepper, Stepper, stepper_for

__all__ = ["MAX_SKIPPED", "BoundRule", "RecurrenceTooExpensive", "bind_rule"]

MAX_SKIPPED = 100_000
"""Instances a COUNT rule may produce before the window before expansion gives up."""

_PROBE_YEAR = 9599
_SKIP_MIN_PERIODS = 8  # restarting costs a few microseconds, a period about one
_RESTARTS_KEPT = 16  # restarted rules per bound rule, for windows asked for again
_UNIT_SECONDS = {du.HOURLY: 3600, du.MINUTELY: 60, du.SECONDLY: 1}


@dataclass(frozen=True, slots=True, eq=False)
class BoundRule:
    """One RRULE with its DTSTART (aware; midnight UTC for all-day series)."""

    rule: RecurrenceRule
    start: datetime
    options: dict[str, Any]
    base: du.rrule
    count: int | None
    until: datetime | None
    never_matches: bool
    stepper: Stepper | MonthStepper | None = None
    restarts: dict[datetime, du.rrule] = field(default_factory=dict)

    def iterate_from(self, lo: datetime) -> Iterator[datetime]:
        """Instances in order, starting no later than the first one at or after ``lo``.

        ``lo`` must carry the same tzinfo as ``start``. Instances before ``lo`` may be yielded
        (at most one period's worth when the rule could be restarted).
        """
        if self.stepper is not None:
            return self.stepper.iterate_from(lo, self.until)
        if self.never_matches:
            return iter(())
        if self.count is not None:
            return self._walk_counted(lo)
        restart = self._period_start(lo)
        if restart is None:
            return iter(self.base)
        rule = self.restarts.get(restart)
        if rule is None:
            if len(self.restarts) >= _RESTARTS_KEPT:
                self.restarts.clear()
            rule = du.rrule(dtstart=restart, until=self.until, **self.options)
            self.restarts[restart] = rule
        return iter(rule)

    def _walk_counted(self, lo: datetime) -> Iterator[datetime]:
        skipped = 0
        until = self.until
        for start in self.base:
            if until is not None and start > until:
                return
            if start < lo:
                skipped += 1
                if skipped > MAX_SKIPPED:
                    raise RecurrenceTooExpensive(
                        f"RRULE {self.rule.text} produces more than {MAX_SKIPPED} instances "
                        f"before {lo.isoformat()}; refusing to walk further"
                    )
                continue
            yield start

    def _period_start(self, lo: datetime) -> datetime | None:
        start, freq, step = self.start, self.rule.freq, self.rule.interval
        if lo <= start:
            return None
        zone = start.tzinfo
        if freq == du.YEARLY:
            periods = (lo.year - start.year) // step
            restart = datetime(start.year + periods * step, 1, 1, tzinfo=zone)
        elif freq == du.MONTHLY:
            months = (lo.year * 12 + lo.month - start.year * 12 - start.month) // step * step
            periods = months // step
            year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
            restart = datetime(year, month0 + 1, 1, tzinfo=zone)
        elif freq == du.WEEKLY:
            week0 = start.date() - timedelta(days=(start.weekday() - self.rule.wkst) % 7)
            periods = (lo.date() - week0).days // 7 // step
            restart = _midnight(week0 + timedelta(weeks=periods * step), zone)
        elif freq == du.DAILY:
            periods = (lo.date() - start.date()).days // step
            restart = _midnight(start.date() + timedelta(days=periods * step), zone)
        else:
            unit = _UNIT_SECONDS[freq]
            first = _truncate(start, freq)
            # Same-zone subtraction is wall-clock time, which is how dateutil steps.
            periods = int((lo - first).total_seconds()) // unit // step
            restart = first + timedelta(seconds=periods * step * unit)
        if periods < _SKIP_MIN_PERIODS:
            return None
        return restart


def _midnight(day: date, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _truncate(start: datetime, freq: int) -> datetime:
    if freq == du.HOURLY:
        return start.replace(minute=0, second=0, microsecond=0)
    if freq == du.MINUTELY:
        return start.replace(second=0, microsecond=0)
    return start.replace(microsecond=0)


def _explicit_options(rule: RecurrenceRule, start: datetime) -> dict[str, Any]:
    """dateutil keyword arguments with every DTSTART-derived default written out."""
    freq = rule.freq
    bymonth: tuple[int, ...] | None = rule.bymonth or None
    bymonthday: tuple[int, ...] | None = rule.bymonthday or None
    byweekday: tuple[du.weekday, ...] | None = (
        tuple(du.weekday(day, n) for day, n in rule.byweekday) if rule.byweekday else None
    )
    if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byweekday):
        if freq == du.YEARLY:
            bymonth = bymonth or (start.month,)
            bymonthday = (start.day,)
        elif freq == du.MONTHLY:
            bymonthday = (start.day,)
        elif freq == du.WEEKLY:
            byweekday = (du.weekday(start.weekday()),)
    return {
        "freq": freq,
        "interval": rule.interval,
        "wkst": rule.wkst,
        "bysetpos": rule.bysetpos or None,
        "bymonth": bymonth,
        "bymonthday": bymonthday,
        "byyearday": rule.byyearday or None,
        "byweekno": rule.byweekno or None,
        "byweekday": byweekday,
        "byhour": rule.byhour or ((start.hour,) if freq < du.HOURLY else None),
        "byminute": rule.byminute or ((start.minute,) if freq < du.MINUTELY else None),
        "bysecond": rule.bysecond or ((start.second,) if freq < du.SECONDLY else None),
        "cache": False,
    }


def resolve_until(rule: RecurrenceRule, start: datetime, all_day: bool) -> datetime | None:
    """UNTIL as an inclusive instant comparable with ``start`` (same tzinfo)."""
    until = rule.until
    zone = start.tzinfo
    if until is None:
        return None
    if all_day:
        day = until.day if isinstance(until, FloatingTime) else _utc_date(until)
        return _midnight(day, zone)
    if isinstance(until, FloatingTime):
        return until.in_zone(zone) if zone is not None else until.in_zone(UTC)
    if isinstance(until, datetime):
        return until.astimezone(zone)
    # A DATE UNTIL on a timed series breaks RFC 5545 section 3.3.10; read it as the whole day.
    return datetime.combine(until, time(23, 59, 59), tzinfo=zone)


def _utc_date(value: date | datetime) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _last_of_count(rule: RecurrenceRule, start: datetime, count: int) -> datetime | None:
    """The last instance of a rule whose every period yields one instance, or None if past 9999."""
    steps = (count - 1) * rule.interval
    try:
        if rule.freq == du.YEARLY:
            return start.replace(year=start.year + steps)
        if rule.freq == du.MONTHLY:
            year, month0 = divmod(start.year * 12 + start.month - 1 + steps, 12)
            return start.replace(year=year, month=month0 + 1)
        if rule.freq == du.WEEKLY:
            return start + timedelta(weeks=steps)
        if rule.freq == du.DAILY:
            return start + timedelta(days=steps)
        return start + timedelta(seconds=steps * _UNIT_SECONDS[rule.freq])
    except (OverflowError, ValueError):
        return None


def _one_per_period(rule: RecurrenceRule, start: datetime) -> bool:
    if rule.has_by_parts:
        return False
    if rule.freq == du.MONTHLY:
        return start.day <= 28
    if rule.freq == du.YEARLY:
        return (start.month, start.day) != (2, 29)
    return True


def _setpos_can_match(rule: RecurrenceRule, options: dict[str, Any]) -> bool:
    """False when every BYSETPOS asks for a position beyond the most candidates one period can
    have. For DAILY and finer periods the bound is exact, and those are the rules whose
    never-matching loop would be long (a MINUTELY rule walks every minute for 800 years)."""
    if not rule.bysetpos:
        return True
    freq = rule.freq
    times = 1
    for name, finer_than in (
        ("byhour", du.HOURLY),
        ("byminute", du.MINUTELY),
        ("bysecond", du.SECONDLY),
    ):
        if freq < finer_than:
            times *= len(options[name] or (0,))
    days = {du.YEARLY: 366, du.MONTHLY: 31, du.WEEKLY: 7}.get(freq, 1)
    if freq == du.WEEKLY and rule.byweekday:
        days = len({day for day, _ in rule.byweekday})
    most = days * times
    return any(abs(position) <= most for position in rule.bysetpos)


def _some_day_matches(options: dict[str, Any]) -> bool:
    """Whether any day in a 400-year cycle passes the rule's date filters, found with a
    YEARLY rule (400 cheap periods). Weekday ordinals and BYSETPOS only narrow the set further,
    so dropping them keeps this a necessary condition."""
    names = ("bymonth", "bymonthday", "byyearday", "byweekno")
    filters = {name: options[name] for name in names}
    weekdays = options["byweekday"]
    if weekdays is not None:
        filters["byweekday"] = tuple({day.weekday for day in weekdays})
    if all(value is None for value in filters.values()):
        return True
    probe = du.rrule(
        du.YEARLY, dtstart=datetime(9600, 1, 1, tzinfo=UTC), wkst=options["wkst"], **filters
    )
    return next(iter(probe), None) is not None


@functools.lru_cache(maxsize=8192)
def _bind(text: str, start: datetime, zone: tzinfo | None, all_day: bool) -> BoundRule:
    del zone  # part of the cache key only: equal instants in two zones expand differently
    rule = parse_rrule(text)
    options = _explicit_options(rule, start)
    until = resolve_until(rule, start, all_day)
    count = rule.count
    stepper = stepper_for(rule, start)
    if stepper is not None:
        if count is not None:
            nth = stepper.nth(count)
            until = nth if until is None or nth < until else until
        return BoundRule(
            rule, start, options, du.rrule(dtstart=start, **options), None, until, False, stepper
        )
    if count is not None and _one_per_period(rule, start):
        last = _last_of_count(rule, start, count)
        count = None
        if last is not None and (until is None or last < until):
            until = last
    try:
        # dateutil warns about COUNT together with UNTIL; apply UNTIL ourselves in that case.
        base = du.rrule(dtstart=start, count=count, until=None if count else until, **options)
        shift = max(0, (_PROBE_YEAR - start.year) // 400) * 400
        probe = du.rrule(dtstart=start.replace(year=start.year + shift), **options)
    except ValueError as exc:
        raise InvalidRecurrence(f"RRULE {rule.text} cannot be expanded: {exc}") from exc
    never = (
        not _setpos_can_match(rule, options)
        or not _some_day_matches(options)
        or next(iter(probe), None) is None
    )
    return BoundRule(rule, start, options, base, count, until, never)


def bind_rule(text: str, start: datetime | date) -> BoundRule:
    """Parse RRULE ``text`` and bind it to a series start (aware datetime, or a date for an
    all-day series). Cached; raises ``InvalidRecurrence``."""
    try:
        if isinstance(start, datetime):
            return _bind(text, start.replace(microsecond=0), start.tzinfo, False)
        return _bind(text, _midnight(start, UTC), UTC, True)
    except OverflowError as exc:  # a COUNT that runs past the year 9999
        raise InvalidRecurrence(f"RRULE {text} runs past the last representable date") from exc
