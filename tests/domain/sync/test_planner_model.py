"""Property tests of the sync planner against a model calendar (``model.ModelCalendar``).

Random provider operations are grouped into delta rounds; each round's report is cut into pages
fed in random order with random duplicates, planned against what the engine would load and
applied to an in-memory mirror, which must then equal the model event by event and occurrence
by occurrence. Planning an applied chain again must change nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calhub.domain.events import Event
from calhub.domain.sync.changes import Change, Removal

from .mirror import WINDOW_END, WINDOW_START, Mirror
from .model import ModelCalendar, ModelException, ModelItem, Occurrence

HOUR = timedelta(hours=1)
EARLIEST = datetime(2023, 12, 25, tzinfo=UTC)  # some items start before the window
WINDOW_DAYS = (WINDOW_END - WINDOW_START).days

index = st.integers(0, 50)
hours = st.integers(0, 24 * 85)  # from EARLIEST to after the window end
exception_hours = st.integers(0, 24 * (WINDOW_DAYS - 1))
operations = st.one_of(
    st.tuples(st.just("create_single"), hours, st.integers(1, 30)),
    st.tuples(st.just("create_series"), hours, st.integers(1, 6), st.integers(1, 3)),
    st.tuples(st.just("create_series"), hours, st.integers(1, 6), st.integers(1, 3)),
    st.tuples(st.just("rename"), index, st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("move"), index, st.integers(-24 * 20, 24 * 20)),
    st.tuples(st.just("except"), index, index, exception_hours),
    st.tuples(st.just("except"), index, index, exception_hours),
    st.tuples(st.just("cancel_instance"), index, index),
    st.tuples(st.just("cancel_instance"), index, index),
    st.tuples(st.just("cancel_single"), index),
    st.tuples(st.just("delete"), index),
)
rounds = st.lists(st.lists(operations, min_size=1, max_size=8), min_size=2, max_size=6)


def perform(model: ModelCalendar, operation: tuple[object, ...]) -> str | None:
    """Apply one operation to the model; the provider id it touched, if any."""
    name, *args = operation
    if name == "create_single" or name == "create_series":
        model.created += 1
        key = f"item{model.created}"
        start = EARLIEST + int(args[0]) * HOUR  # type: ignore[call-overload]
        if name == "create_single":
            model.items[key] = ModelItem(key, start, int(args[1]) * HOUR)  # type: ignore[call-overload]
        else:
            count, interval = int(args[1]), int(args[2])  # type: ignore[call-overload]
            model.items[key] = ModelItem(key, start, 2 * HOUR, count, interval)
        return key
    kind = {"cancel_single": False, "except": True, "cancel_instance": True}.get(str(name))
    item = model.pick(int(args[0]), series=kind)  # type: ignore[call-overload]
    if item is None:
        return None
    if name == "rename":
        item.subject = str(args[1])
    elif name == "move":
        item.start += int(args[1]) * HOUR  # type: ignore[call-overload]
        item.exceptions.clear()  # Graph drops a master's exceptions when its times change
        item.skipped.clear()
    elif name == "cancel_single":
        item.is_cancelled = True
    elif name == "delete":
        del model.items[item.provider_id]
    else:
        slots = item.slots()
        slot = slots[int(args[1]) % len(slots)]  # type: ignore[call-overload]
        if slot in item.skipped:
            return None
        if name == "cancel_instance":
            item.skipped.add(slot)
            item.exceptions.pop(slot, None)
        else:
            start = WINDOW_START + int(args[2]) * HOUR  # type: ignore[call-overload]
            key = f"{item.provider_id}@{slot.isoformat()}"
            item.exceptions[slot] = ModelException(key, start, start + HOUR, f"moved {start}")
    return item.provider_id


def report(model: ModelCalendar, touched: set[str]) -> list[Change]:
    changes: list[Change] = []
    for key in sorted(touched):
        item = model.items.get(key)
        changes.extend(item.report() if item is not None else [Removal(key)])
    return changes


def shuffled_pages(changes: list[Change], chooser: random.Random) -> list[Change]:
    """The chain cut into pages, with duplicates of random items, pages in random order."""
    items = changes + [chooser.choice(changes) for _ in range(len(changes) // 3)] if changes else []
    pages: list[list[Change]] = []
    while items:
        size = chooser.randint(1, 4)
        pages.append(items[:size])
        items = items[size:]
    chooser.shuffle(pages)
    return [change for page in pages for change in page]


def mirrored_events(mirror: Mirror) -> dict[str, tuple[object, ...]]:
    by_id = {event.id: event for event in mirror.events.values()}

    def summary(event: Event) -> tuple[object, ...]:
        master = by_id[event.series_id].provider_event_id if event.series_id else None
        recurrence = event.recurrence
        return (
            event.start, event.end, event.subject, event.is_cancelled, master,
            event.recurrence_id, recurrence.rrules[0] if recurrence else None,
            frozenset(recurrence.exdates) if recurrence else frozenset(),
        )  # fmt: skip

    return {event.provider_event_id: summary(event) for event in mirror.events.values()}


def mirrored_occurrences(mirror: Mirror) -> set[Occurrence]:
    found: set[Occurrence] = set()
    for event_id, occurrences in mirror.occurrences.items():
        owner = mirror.events[event_id].provider_event_id
        for o in occurrences:
            assert isinstance(o.start, datetime)
            assert isinstance(o.end, datetime)
            assert isinstance(o.original_start, datetime)
            found.add((owner, o.start, o.end, o.original_start, o.is_override))
    return found


def run_rounds(
    plan_rounds: list[list[tuple[object, ...]]], chooser: random.Random
) -> tuple[ModelCalendar, Mirror, list[list[Change]]]:
    model, mirror, chains = ModelCalendar(), Mirror(), []
    for operations_in_round in plan_rounds:
        touched = {key for op in operations_in_round if (key := perform(model, op)) is not None}
        chain = shuffled_pages(report(model, touched), chooser)
        plan = mirror.sync(chain)
        assert plan.problems == ()
        chains.append(chain)
        assert mirrored_events(mirror) == model.expected_events()
        assert mirrored_occurrences(mirror) == model.expected_occurrences()
    return model, mirror, chains


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_rounds=rounds, seed=st.integers(0, 2**32 - 1))
def test_the_mirror_follows_the_model_whatever_the_page_order(
    plan_rounds: list[list[tuple[object, ...]]], seed: int
) -> None:
    run_rounds(plan_rounds, random.Random(seed))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_rounds=rounds, seed=st.integers(0, 2**32 - 1))
def test_planning_an_applied_chain_again_is_idempotent(
    plan_rounds: list[list[tuple[object, ...]]], seed: int
) -> None:
    chooser = random.Random(seed)
    _, mirror, chains = run_rounds(plan_rounds, chooser)
    before = (dict(mirror.events), dict(mirror.occurrences))
    again = mirror.plan(shuffled_pages(chains[-1], chooser))
    assert again.upserts == ()
    assert again.deletes == ()
    mirror.apply(again)
    assert (mirror.events, mirror.occurrences) == before
