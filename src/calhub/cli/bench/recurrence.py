"""``calhub bench recurrence``: calhub's expansion against recurring-ical-events and dateutil.

Workload (reference/limits-and-scale.md sections 6.1 and 7.2): a corpus generated from a fixed
seed of weekly, daily and monthly series in several zones (most not UTC), each started at a random
point in the year before the windows, with one EXDATE and one instance moved two hours later
(RECURRENCE-ID). Each implementation expands the whole corpus over 7-day, 28-day and one-year
windows starting 5 January 2026:

- calhub: ``expand`` on the domain events ``read_calendar`` made, as new copies every repetition
  like events loaded from storage (parsing is not timed: calhub parses at sync time);
- recurring-ical-events: ``of(calendar).between(start, end)`` on a Calendar parsed once, untimed;
- dateutil: prebuilt ``rruleset`` objects (rule, EXDATE, the moved instance as EXDATE + RDATE)
  and ``between`` over the same overlap range.

One warm-up, then five repetitions taken in turns across the implementations (so load from
other processes hits all alike); the median counts. The three must find
the same number of occurrences; a mismatch is reported in the result, not raised.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from dateutil import rrule as du

from calhub.domain.events import Event
from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.recurrence import expand
from calhub.domain.recurrence.ical import read_calendar

__all__ = ["run_recurrence_benchmark"]

Progress = Callable[[str, int, int], None]

SEED = 20260105
ANCHOR = datetime(2026, 1, 5, tzinfo=UTC)
WINDOWS = {"7d": 7, "28d": 28, "365d": 365}
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")
REPETITIONS = 5
TARGETS = {"vs_recurring_ical_events": 20, "vs_dateutil_min": 0.5}
_DAYS = ("MO", "TU", "WE", "TH", "FR")
NOTES = (
    "calhub gets equal but new event objects every repetition, as events loaded from storage "
    "would be, so only its per-process cache of parsed rules (keyed by rule text and start) "
    "carries over. It restarts rules near the window, while dateutil's between() walks each "
    "rule from its DTSTART, up to a year before the windows here."
)


@dataclass(frozen=True, slots=True)
class _Series:
    uid: str
    rule: str
    start: datetime
    duration: timedelta
    exdate: datetime
    moved_from: datetime
    moved_to: datetime


def _rule(rng: random.Random) -> str:
    kind = rng.choice(("weekly", "weekly", "daily", "monthly"))
    if kind == "weekly":
        days = sorted(rng.sample(_DAYS, rng.randint(1, 3)), key=_DAYS.index)
        return f"FREQ=WEEKLY;INTERVAL={rng.choice((1, 1, 2))};BYDAY={','.join(days)}"
    if kind == "daily":
        return f"FREQ=DAILY;INTERVAL={rng.choice((1, 2))}"
    if rng.random() < 0.5:
        return f"FREQ=MONTHLY;BYMONTHDAY={rng.randint(1, 28)}"
    return f"FREQ=MONTHLY;BYDAY={rng.choice((1, 2, 3, -1))}{rng.choice(_DAYS)}"


def make_corpus(count: int, seed: int = SEED) -> list[_Series]:
    """``count`` series from ``seed``; DTSTART lies on the rule and before the windows."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    corpus: list[_Series] = []
    for index in range(count):
        zone = ZoneInfo(rng.choice(ZONES))
        rule = _rule(rng)
        day = ANCHOR.date() - timedelta(days=rng.randint(1, 365))
        wish = datetime(
            day.year, day.month, day.day, rng.randint(7, 18), 30 * rng.randint(0, 1), tzinfo=zone
        )
        start = next(iter(du.rrulestr(rule, dtstart=wish, cache=False)))
        later: list[datetime] = []
        for when in du.rrulestr(rule, dtstart=start, cache=False):
            if when >= ANCHOR:
                later.append(when)
                if len(later) == 2:
                    break
        corpus.append(
            _Series(
                uid=f"bench-{index}",
                rule=rule,
                start=start,
                duration=timedelta(minutes=rng.choice((30, 60, 90))),
                exdate=later[0],
                moved_from=later[1],
                moved_to=later[1] + timedelta(hours=2),
            )
        )
    return corpus


def _local(value: datetime) -> str:
    key = getattr(value.tzinfo, "key", "UTC")
    if key == "UTC":
        return f":{value.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f";TZID={key}:{value:%Y%m%dT%H%M%S}"


def corpus_ics(corpus: Sequence[_Series]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calhub//bench//EN"]
    for item in corpus:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.uid}",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART{_local(item.start)}",
            f"DTEND{_local(item.start + item.duration)}",
            f"RRULE:{item.rule}",
            f"EXDATE{_local(item.exdate)}",
            "SUMMARY:Series",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:{item.uid}",
            "DTSTAMP:20260101T000000Z",
            f"RECURRENCE-ID{_local(item.moved_from)}",
            f"DTSTART{_local(item.moved_to)}",
            f"DTEND{_local(item.moved_to + item.duration)}",
            "SUMMARY:Moved",
            "END:VEVENT",
        ]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def _timed(
    actions: dict[str, Callable[[int], int]], window: str, progress: Progress | None
) -> dict[str, dict[str, Any]]:
    """Warm each action up, then time them in turns, so load from other processes on the
    machine falls on all of them alike; the median of the repetitions counts."""
    counts = {name: action(0) for name, action in actions.items()}
    times: dict[str, list[float]] = {name: [] for name in actions}
    for repetition in range(REPETITIONS):
        for name, action in actions.items():
            began = time.perf_counter()
            action(repetition + 1)
            times[name].append(time.perf_counter() - began)
        if progress is not None:
            progress(f"recurrence {window}", repetition + 1, REPETITIONS)
    results: dict[str, dict[str, Any]] = {}
    for name, count in counts.items():
        median = statistics.median(times[name])
        results[name] = {
            "occurrences": count,
            "median_s": median,
            "min_s": min(times[name]),
            "occurrences_per_s": count / median if median else 0.0,
        }
    return results


def run_recurrence_benchmark(quick: bool, progress: Progress | None = None) -> dict[str, object]:
    """Run the benchmark; returns a JSON-ready dict (see the module docstring)."""
    size = 50 if quick else 500
    corpus = make_corpus(size)
    text = corpus_ics(corpus)
    data = read_calendar(
        text, tenant_id=TenantId(uuid.UUID(int=1)), calendar_id=CalendarId(uuid.UUID(int=2))
    )
    domain: list[tuple[Event, tuple[Event, ...]]] = [
        (item.master, item.overrides) for item in data.series if item.master is not None
    ]
    calendar = icalendar.Calendar.from_ical(text)
    rulesets = [_ruleset(item) for item in corpus]

    windows: dict[str, dict[str, Any]] = {}
    totals = {
        "calhub": [0, 0.0],
        "recurring_ical_events": [0, 0.0],
        "dateutil": [0, 0.0],
    }
    mismatches: list[str] = []
    for name, days in WINDOWS.items():
        lo, hi = ANCHOR, ANCHOR + timedelta(days=days)
        bounds = [(lo - item.duration, item) for item in corpus]
        fresh = [_copies(domain) for _ in range(REPETITIONS + 1)]

        def run_calhub(
            repetition: int,
            lo: datetime = lo,
            hi: datetime = hi,
            fresh: list[list[tuple[Event, tuple[Event, ...]]]] = fresh,
        ) -> int:
            return sum(
                len(expand(series, overrides, lo, hi, limit=100_000).occurrences)
                for series, overrides in fresh[repetition]
            )

        def run_peer(repetition: int, lo: datetime = lo, hi: datetime = hi) -> int:
            return len(recurring_ical_events.of(calendar).between(lo, hi))

        def run_dateutil(
            repetition: int, hi: datetime = hi, bounds: list[tuple[datetime, _Series]] = bounds
        ) -> int:
            return sum(
                len(ruleset.between(after, hi))
                for ruleset, (after, _) in zip(rulesets, bounds, strict=True)
            )

        actions: dict[str, Callable[[int], int]] = {
            "calhub": run_calhub,
            "recurring_ical_events": run_peer,
            "dateutil": run_dateutil,
        }
        results = _timed(actions, name, progress)
        counts = {key: value["occurrences"] for key, value in results.items()}
        if len(set(counts.values())) != 1:
            mismatches.append(f"{name}: {counts}")
        for key, value in results.items():
            totals[key][0] += value["occurrences"]
            totals[key][1] += value["median_s"]
        windows[name] = {
            **results,
            "counts_match": len(set(counts.values())) == 1,
            "ratio_vs_recurring_ical_events": _ratio(results, "recurring_ical_events"),
            "ratio_vs_dateutil": _ratio(results, "dateutil"),
        }

    rate = {key: count / seconds if seconds else 0.0 for key, (count, seconds) in totals.items()}
    vs_peer = rate["calhub"] / rate["recurring_ical_events"]
    vs_dateutil = rate["calhub"] / rate["dateutil"]
    return {
        "benchmark": "recurrence",
        "quick": quick,
        "corpus": {
            "series": size,
            "seed": SEED,
            "zones": list(ZONES),
            "each_series": "one EXDATE and one instance moved by +2 h",
            "starts": "DTSTART up to 365 days before the windows",
        },
        "window_start": ANCHOR.isoformat(),
        "repetitions": REPETITIONS,
        "windows": windows,
        "calhub_occurrences_per_s": rate["calhub"],
        "recurring_ical_events_occurrences_per_s": rate["recurring_ical_events"],
        "dateutil_occurrences_per_s": rate["dateutil"],
        "ratio_vs_recurring_ical_events": vs_peer,
        "ratio_vs_dateutil": vs_dateutil,
        "notes": NOTES,
        "counts_match": not mismatches,
        "count_mismatches": mismatches,
        "versions": {
            "recurring_ical_events": version("recurring-ical-events"),
            "icalendar": version("icalendar"),
            "python_dateutil": version("python-dateutil"),
        },
        "targets": TARGETS,
        "meets_targets": vs_peer >= TARGETS["vs_recurring_ical_events"]
        and vs_dateutil >= TARGETS["vs_dateutil_min"],
    }


def _ratio(results: dict[str, dict[str, Any]], peer: str) -> float:
    peer_rate = results[peer]["occurrences_per_s"]
    return float(results["calhub"]["occurrences_per_s"] / peer_rate) if peer_rate else 0.0


def _copies(
    domain: Sequence[tuple[Event, tuple[Event, ...]]],
) -> list[tuple[Event, tuple[Event, ...]]]:
    """Equal but new event objects, as a service reading them from storage would have."""
    return [
        (replace(series), tuple(replace(override) for override in overrides))
        for series, overrides in domain
    ]


def _ruleset(item: _Series) -> du.rruleset:
    ruleset = du.rruleset(cache=False)
    ruleset.rrule(du.rrulestr(item.rule, dtstart=item.start, cache=False))  # type: ignore[arg-type]
    ruleset.exdate(item.exdate)
    ruleset.exdate(item.moved_from)
    ruleset.rdate(item.moved_to)
    return ruleset
