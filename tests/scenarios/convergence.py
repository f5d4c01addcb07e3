"""What the convergence scenarios share (``test_convergence*.py``): waiting for the first
sync of every calendar, the mirror's view of a calendar, the calendars where the mirror and the
provider differ (at once, or after a settling time), the emulator's faults switched off, and
jobs of one calendar that ran at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from calhub.bootstrap import Runtime
from calhub.domain.calendars import Calendar
from calhub.domain.ids import TenantId
from tests.scenarios.storm import Calendars, Instance


async def calendars_of(runtime: Runtime, tenant_id: TenantId) -> list[Calendar]:
    async with runtime.uow() as uow:
        return list(await uow.calendars.list(tenant_id))


async def wait_for_first_sync(
    runtime: Runtime, tenant_id: TenantId, expected: int
) -> list[Calendar]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        calendars = await calendars_of(runtime, tenant_id)
        async with runtime.uow() as uow:
            subscribed = [
                c for c in calendars if await uow.subscriptions.for_calendar(tenant_id, c.id)
            ]
        synced = [c for c in calendars if c.last_synced_at is not None]
        if len(calendars) == expected and len(subscribed) == len(synced) == len(calendars):
            return calendars
        await asyncio.sleep(2)
    raise AssertionError(
        f"first sync incomplete: {len(calendars)} calendars, {len(synced)} synced, "
        f"{len(subscribed)} subscribed"
    )


async def mirror_view(
    runtime: Runtime, calendar: Calendar, start: datetime, end: datetime
) -> Counter[Instance]:
    async with runtime.uow() as uow:
        snapshot = await uow.mirror.mirror_snapshot(calendar.tenant_id, calendar.id)
    seen: Counter[Instance] = Counter()
    for provider_id, event in snapshot.events.items():
        for occurrence in snapshot.occurrences[provider_id]:
            assert isinstance(occurrence.start, datetime)
            assert isinstance(occurrence.end, datetime)
            begin = occurrence.start.astimezone(UTC)
            if start <= begin < end:
                seen[(event.subject, begin, occurrence.end.astimezone(UTC))] += 1
    return seen


async def differences(
    runtime: Runtime, provider: Calendars, calendars: list[Calendar], now: datetime
) -> dict[str, str]:
    """Per calendar where they differ, the instances only the provider shows and those only the
    mirror shows, in words (from 12 hours ahead, past any sync's edge, to 170 days)."""
    start, end = now + timedelta(hours=12), now + timedelta(days=170)
    differing: dict[str, str] = {}
    for calendar in calendars:
        expected = await provider.view(calendar.owner_email, start, end)
        mirrored = await mirror_view(runtime, calendar, start, end)
        if expected != mirrored:
            differing[calendar.owner_email] = (
                f"provider only: {_listed(expected - mirrored)}; "
                f"mirror only: {_listed(mirrored - expected)}"
            )
    return differing


async def differences_after_settling(
    runtime: Runtime, provider: Calendars, calendars: list[Calendar], settle_s: float
) -> dict[str, str]:
    """``differences``, looked at every 10 s until there are none or ``settle_s`` has passed."""
    deadline = time.monotonic() + settle_s
    differing = await differences(runtime, provider, calendars, runtime.clock.now())
    while differing and time.monotonic() < deadline:
        await asyncio.sleep(10)
        differing = await differences(runtime, provider, calendars, runtime.clock.now())
    return differing


def calm(faults: dict[str, Any]) -> dict[str, Any]:
    """The emulator's fault knobs of ``faults``, all switched off."""
    return {knob: 0.0 if knob.endswith(("rate", "notifications")) else [0, 0] for knob in faults}


def _listed(instances: Counter[Instance]) -> str:
    return (
        ", ".join(
            f"{subject} {begin:%m-%d %H:%M}-{finish:%H:%M} x{count}"
            for (subject, begin, finish), count in sorted(instances.items())
        )
        or "nothing"
    )


async def overlapping_jobs(runtime: Runtime) -> list[str]:
    """Jobs of one calendar lock that ran at the same time, from Procrastinate's events: a job
    runs from its ``started`` event to its next event (done, failed, or retried after its
    worker died). Events are read in the order they were written (their ids): their ``at`` is
    the start of the writing transaction, not of the status change."""
    query = text(
        "SELECT j.id, j.lock, e.type FROM procrastinate_events e "
        "JOIN procrastinate_jobs j ON j.id = e.job_id "
        "WHERE j.lock LIKE 'calendar:%' ORDER BY e.id"
    )
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    running: dict[str, int] = {}
    overlaps: list[str] = []
    for job_id, lock, kind in rows:
        if kind == "started":
            if lock in running and running[lock] != job_id:
                overlaps.append(f"{lock}: job {job_id} started while {running[lock]} ran")
            running[lock] = job_id
        elif running.get(lock) == job_id:
            del running[lock]
    return overlaps
