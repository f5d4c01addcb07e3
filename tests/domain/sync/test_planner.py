"""Each rule of the sync planner (``calhub.domain.sync.planner``), one example at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from calhub.domain.events import Recurrence
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal
from calhub.domain.sync.planner import plan_changes, provider_ids_to_load

from .mirror import CALENDAR, TENANT, WINDOW_END, WINDOW_START, Mirror

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
T0 = datetime(2024, 2, 1, 9, tzinfo=UTC)


def single(pid: str, start: datetime | date = T0, end: Any = None, **fields: Any) -> ProviderEvent:
    end = end if end is not None else (start + HOUR if isinstance(start, datetime) else start + DAY)
    return ProviderEvent(pid, ItemKind.SINGLE, start, end, **fields)


def series(pid: str, rule: str = "FREQ=DAILY;COUNT=5", **fields: Any) -> ProviderEvent:
    return ProviderEvent(
        pid, ItemKind.SERIES, T0, T0 + HOUR, recurrence=Recurrence(rrules=(rule,)), **fields
    )


def exception(pid: str, master: str, original: datetime, start: datetime) -> ProviderEvent:
    return ProviderEvent(
        pid,
        ItemKind.EXCEPTION,
        start,
        start + HOUR,
        series_provider_id=master,
        original_start=original,
    )


def occurrence_starts(mirror: Mirror, pid: str) -> list[datetime | date]:
    event = mirror.by_provider_id()[pid]
    return [o.start for o in mirror.occurrences.get(event.id, ())]


def test_new_ids_are_fresh_and_known_ids_are_kept() -> None:
    mirror = Mirror()
    mirror.sync([single("a"), single("b")])
    first = {pid: event.id for pid, event in mirror.by_provider_id().items()}
    assert len(set(first.values())) == 2
    mirror.sync([single("a", subject="renamed")])
    assert mirror.by_provider_id()["a"].id == first["a"]
    assert mirror.by_provider_id()["a"].subject == "renamed"


def test_an_exception_before_its_master_in_the_chain_points_at_the_master() -> None:
    mirror = Mirror()
    mirror.sync([exception("x", "s", T0 + DAY, T0 + DAY + 3 * HOUR), series("s")])
    events = mirror.by_provider_id()
    assert events["x"].series_id == events["s"].id
    assert events["x"].recurrence_id == T0 + DAY
    assert occurrence_starts(mirror, "x") == [T0 + DAY + 3 * HOUR]
    assert occurrence_starts(mirror, "s") == [T0, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]


def test_an_exception_of_a_mirrored_master_joins_it_and_recomputes_the_series() -> None:
    mirror = Mirror()
    mirror.sync([series("s")])
    plan = mirror.sync([exception("x", "s", T0, T0 - 2 * HOUR)])
    events = mirror.by_provider_id()
    assert events["x"].series_id == events["s"].id
    assert [e.provider_event_id for e in plan.upserts] == ["x"]
    assert occurrence_starts(mirror, "s") == [T0 + n * DAY for n in range(1, 5)]
    assert occurrence_starts(mirror, "x") == [T0 - 2 * HOUR]


def test_an_exception_of_an_unknown_series_is_a_problem_and_not_mirrored() -> None:
    mirror = Mirror()
    plan = mirror.sync([exception("x", "nowhere", T0, T0), single("nowhere")])
    assert "x" not in mirror.by_provider_id()
    assert any("exception x" in line for line in plan.problems)


def test_removals_delete_and_a_removed_master_takes_its_exceptions() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0, T0 + HOUR), single("a")])
    plan = mirror.sync([Removal("s"), Removal("a"), Removal("never-seen")])
    assert mirror.events == {}
    assert mirror.occurrences == {}
    assert len(plan.deletes) == 3
    assert plan.problems == ()


def test_removing_an_exception_gives_its_slot_back_to_the_rule() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + 5 * HOUR)])
    mirror.sync([Removal("x")])
    assert occurrence_starts(mirror, "s") == [T0 + n * DAY for n in range(5)]


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (T0, T0 + HOUR, 1),
        (WINDOW_START - HOUR, WINDOW_START, 0),  # ends where the window starts
        (WINDOW_END, WINDOW_END + HOUR, 0),  # starts where it ends
        (WINDOW_START - HOUR, WINDOW_START + HOUR, 1),
        (WINDOW_END + DAY, WINDOW_END + 2 * DAY, 0),
    ],
)
def test_single_events_are_mirrored_with_an_occurrence_only_in_the_window(
    start: datetime, end: datetime, count: int
) -> None:
    mirror = Mirror()
    mirror.sync([single("a", start, end)])
    assert "a" in mirror.by_provider_id()  # the mirror keeps what the provider reports
    assert len(occurrence_starts(mirror, "a")) == count


def test_all_day_events_are_read_in_their_own_zone() -> None:
    # The window is 2024-01-10 00:00 UTC to 2024-03-10 00:00 UTC. Los Angeles's 9 January
    # ends at 08:00 UTC on the 10th, inside it; Auckland's 10 March begins at 11:00 UTC on the
    # 9th, inside it too. Read in UTC, neither day would touch the window.
    mirror = Mirror()
    mirror.sync(
        [
            single("la-before", date(2024, 1, 9), time_zone="America/Los_Angeles"),
            single("windows-before", date(2024, 1, 9), time_zone="Pacific Standard Time"),
            single("utc-before", date(2024, 1, 9), time_zone="UTC"),
            single("auckland-before", date(2024, 1, 9), time_zone="Pacific/Auckland"),
            single("auckland-after", date(2024, 3, 10), time_zone="Pacific/Auckland"),
            single("utc-after", date(2024, 3, 10), time_zone="UTC"),
            single("unknown-zone-after", date(2024, 3, 10), time_zone="Mars/Olympus"),
        ]
    )
    assert occurrence_starts(mirror, "la-before") == [date(2024, 1, 9)]
    assert occurrence_starts(mirror, "windows-before") == [date(2024, 1, 9)]
    assert occurrence_starts(mirror, "utc-before") == []
    assert occurrence_starts(mirror, "auckland-before") == []
    assert occurrence_starts(mirror, "auckland-after") == [date(2024, 3, 10)]
    assert occurrence_starts(mirror, "utc-after") == []
    assert occurrence_starts(mirror, "unknown-zone-after") == []  # read in UTC


def test_all_day_series_are_read_in_their_own_zone() -> None:
    mirror = Mirror()
    first = date(2024, 3, 8)
    mirror.sync(
        [
            ProviderEvent(
                "s",
                ItemKind.SERIES,
                first,
                first + DAY,
                time_zone="Pacific/Auckland",
                recurrence=Recurrence(rrules=("FREQ=DAILY;COUNT=4",)),
            )
        ]
    )
    assert occurrence_starts(mirror, "s") == [first, first + DAY, first + 2 * DAY]


def test_cancelled_events_are_mirrored_without_occurrences() -> None:
    mirror = Mirror()
    mirror.sync([single("a", is_cancelled=True), series("s", is_cancelled=True)])
    assert mirror.by_provider_id()["a"].is_cancelled
    assert occurrence_starts(mirror, "a") == []
    assert occurrence_starts(mirror, "s") == []


def test_cancelled_starts_become_exdates_and_remove_those_instances() -> None:
    mirror = Mirror()
    mirror.sync([series("s", cancelled_starts=(T0 + DAY, T0 + 3 * DAY))])
    recurrence = mirror.by_provider_id()["s"].recurrence
    assert recurrence is not None
    assert recurrence.exdates == (T0 + DAY, T0 + 3 * DAY)
    assert occurrence_starts(mirror, "s") == [T0, T0 + 2 * DAY, T0 + 4 * DAY]


def test_an_exception_whose_slot_is_cancelled_is_deleted() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + HOUR)])
    plan = mirror.sync(
        [series("s", cancelled_starts=(T0 + DAY,)), exception("x", "s", T0 + DAY, T0)]
    )
    assert "x" not in mirror.by_provider_id()
    assert len(plan.deletes) == 1
    assert occurrence_starts(mirror, "s") == [T0, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]


def test_a_reported_master_carries_all_its_exceptions() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + HOUR)])
    mirror.sync([series("s", "FREQ=DAILY;COUNT=3")])  # times edited: Graph drops exceptions
    assert set(mirror.by_provider_id()) == {"s"}
    assert occurrence_starts(mirror, "s") == [T0, T0 + DAY, T0 + 2 * DAY]


def test_a_master_reported_alone_keeps_its_exceptions_when_series_are_not_reported_whole() -> None:
    mirror = Mirror(whole_series=False)  # Google: an incremental sync reports what changed
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + HOUR)])
    mirror.sync([series("s", subject="Renamed")])
    assert set(mirror.by_provider_id()) == {"s", "x"}
    assert occurrence_starts(mirror, "s") == [T0, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY]
    assert occurrence_starts(mirror, "x") == [T0 + DAY + HOUR]


def test_a_cancelled_instance_takes_its_slot_out_of_the_series() -> None:
    mirror = Mirror(whole_series=False)
    mirror.sync([series("s"), exception("s_3", "s", T0 + 3 * DAY, T0 + 3 * DAY + HOUR)])
    cancelled = [
        ProviderEvent(
            pid,
            ItemKind.EXCEPTION,
            original,
            original + HOUR,
            series_provider_id="s",
            original_start=original,
            is_cancelled=True,
        )
        for pid, original in (("s_1", T0 + DAY), ("s_3", T0 + 3 * DAY))
    ]
    mirror.sync(cancelled)  # one instance deleted, and the moved one deleted too
    assert occurrence_starts(mirror, "s") == [T0, T0 + 2 * DAY, T0 + 4 * DAY]
    assert mirror.by_provider_id()["s_1"].is_cancelled
    assert occurrence_starts(mirror, "s_3") == []
    assert mirror.plan(cancelled).upserts == ()  # reported again: nothing to do


def test_a_master_that_becomes_a_single_event_loses_its_exceptions() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + HOUR)])
    mirror.sync([single("s")])
    assert set(mirror.by_provider_id()) == {"s"}
    assert occurrence_starts(mirror, "s") == [T0]


def test_truncated_expansion_is_flagged_and_reported() -> None:
    mirror = Mirror()
    plan = mirror.sync([series("s", "FREQ=DAILY")], limit=7)
    master = mirror.by_provider_id()["s"]
    assert len(occurrence_starts(mirror, "s")) == 7
    assert master.id in mirror.truncated
    assert any("event s" in line for line in plan.problems)


@pytest.mark.parametrize(
    ("rule", "since"),
    [
        ("FREQ=SOMETIMES", T0),  # not a rule
        ("FREQ=MINUTELY;BYDAY=MO;COUNT=1000000000", T0 - 3000 * DAY),  # too long a walk
        ("FREQ=DAILY;COUNT=400000000", T0 - 3000 * DAY),  # would end after year 9999
    ],
)
def test_a_rule_that_cannot_be_expanded_is_a_problem_not_an_error(
    rule: str, since: datetime
) -> None:
    mirror = Mirror()
    item = ProviderEvent(
        "s", ItemKind.SERIES, since, since + HOUR, recurrence=Recurrence(rrules=(rule,))
    )
    plan = mirror.sync([item, exception("x", "s", T0, T0)])
    assert set(mirror.by_provider_id()) == {"s", "x"}
    assert occurrence_starts(mirror, "s") == []
    assert occurrence_starts(mirror, "x") == []
    assert any("recurrence not expanded" in line for line in plan.problems)


def test_an_invalid_item_is_a_problem_and_the_mirror_keeps_its_version() -> None:
    mirror = Mirror()
    mirror.sync([single("a")])
    plan = mirror.sync([single("a", T0, T0 - HOUR), single("b", T0, date(2024, 2, 2))])
    assert mirror.by_provider_id()["a"].end == T0 + HOUR
    assert "b" not in mirror.by_provider_id()
    assert len(plan.problems) == 2


def test_the_last_report_wins_and_occurrence_items_are_ignored() -> None:
    mirror = Mirror()
    occurrence = ProviderEvent(
        "s-occ", ItemKind.OCCURRENCE, T0, T0 + HOUR, series_provider_id="s", original_start=T0
    )
    first_page: list[Change] = [single("a", subject="old"), Removal("b"), single("b"), occurrence]
    second_page: list[Change] = [series("s"), single("a", subject="new"), Removal("a")]
    mirror.sync([*first_page, *second_page, single("a", subject="newest")])
    assert set(mirror.by_provider_id()) == {"a", "b", "s"}
    assert mirror.by_provider_id()["a"].subject == "newest"


def test_planning_an_applied_chain_again_changes_nothing() -> None:
    mirror = Mirror()
    chain: list[Change] = [
        series("s", cancelled_starts=(T0 + 2 * DAY,)),
        exception("x", "s", T0 + DAY, T0 + DAY + HOUR),
        single("a"),
        Removal("gone"),
    ]
    first = mirror.sync(chain)
    again = mirror.plan(chain)
    assert again.upserts == ()
    assert again.deletes == ()
    assert again.occurrences == first.occurrences
    assert again.problems == first.problems


def test_ids_to_load_name_the_masters_of_exceptions() -> None:
    chain: list[Change] = [exception("x", "s", T0, T0), Removal("r"), single("a")]
    assert provider_ids_to_load(chain) == {"x", "s", "r", "a"}


def test_the_window_is_checked() -> None:
    with pytest.raises(ValueError, match="ends before"):
        plan_changes(
            {},
            [],
            window_start=WINDOW_END,
            window_end=WINDOW_START,
            tenant_id=TENANT,
            calendar_id=CALENDAR,
            new_event_id=Mirror().new_event_id,
            occurrence_limit=10,
        )


def test_an_exception_that_becomes_a_single_event_gives_its_slot_back() -> None:
    mirror = Mirror()
    mirror.sync([series("s"), exception("x", "s", T0 + DAY, T0 + DAY + 5 * HOUR)])
    mirror.sync([single("x", T0 + DAY + 5 * HOUR)])
    assert mirror.by_provider_id()["x"].series_id is None
    assert occurrence_starts(mirror, "x") == [T0 + DAY + 5 * HOUR]
    assert occurrence_starts(mirror, "s") == [T0 + n * DAY for n in range(5)]
