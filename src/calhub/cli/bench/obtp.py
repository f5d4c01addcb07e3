"""``calhub bench obtp``: how close to their fire time join prompts go out when a whole
organisation's meetings start at once, and whether each goes out exactly once (issue 6, "Proof").

Target: 10,000 meetings starting in the same minute across 2,000 rooms (one device each), fire
error p99 ≤ 1 s, no duplicates, no misses, also when a worker is killed and restarted during
the minute. The run measures the dispatcher, not the sync:

- calhub on the configured database (``CALHUB_DATABASE_URL``; unset: a throw-away embedded
  PostgreSQL in a temporary directory), and ``workers`` ``calhub worker`` processes started as
  an operator would (each runs a dispatcher beside its job queue);
- one tenant seeded through calhub's repositories: ``rooms`` room calendars, one device each,
  and ``meetings`` meetings with Webex join details spread over the rooms, all starting at the
  same instant (the worst case: every prompt is due at once; ``--spread-s`` spreads them over
  that many seconds instead); then the tenant's prompts are reconciled
  (``reconcile_tenant_prompts``), as after a settings change, so every prompt is scheduled for
  start − 5 minutes (the default lead). That fire time is a fixed budget after the seeding
  begins; a setup that leaves less than ``SETTLE_S`` before it is reported (``setup_overrun_s``)
  and the targets count as not met;
- this process listens on the outbox's ``NOTIFY`` channel (sent when an outbox insert commits)
  and reads the new ``obtp.join`` events at each notice: a prompt's *fire error* is the time its
  event was first seen minus its ``fire_at``, so it includes the commit and the observation;
- with ``--kill``, ``KILL_AFTER_S`` after the fire time (while the first batches are in flight;
  with a spread, in its middle) one worker gets SIGKILL and a new one is started at once; the
  rows it held come back when PostgreSQL sees its connection close, and another dispatcher
  sends them.

At the end every ``obtp.join`` of the tenant is read: ``duplicates`` counts events beyond the
first per (booking, device, version), ``misses`` scheduled prompts without any. Prompts first
seen only by that final read (``unobserved``) count with the time of that read.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg

from calhub.bootstrap import Runtime, bootstrap
from calhub.cli.bench.processes import HubProcesses, hub_environment, hub_processes
from calhub.cli.common import run_async
from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    Connection,
    ConnectionStatus,
    ProviderKind,
    Secret,
)
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.events import Attendee, Event, Occurrence
from calhub.domain.ids import CalendarId, ConnectionId, DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.settings import DEFAULT_LEAD
from calhub.services.obtp import reconcile_tenant_prompts
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from calhub.storage.database import libpq_url
from calhub.storage.repositories.base import batches

__all__ = ["run_obtp_benchmark"]

Progress = Callable[[str, int, int], None]

TARGET_MEETINGS: Final = 10_000
TARGET_ROOMS: Final = 2_000
TARGET_P99_S: Final = 1.0
SETTLE_S: Final = 5.0  # between the end of the setup and the fire time
KILL_AFTER_S: Final = 0.05
DRAIN_TIMEOUT_S: Final = 60.0
SAFETY_READ_S: Final = 0.25  # read even without a notice this often
SEED_BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class Plan:
    meetings: int
    rooms: int
    workers: int
    kill: bool
    setup_budget_s: float  # from the first seed to the (first) fire time
    spread_s: float = 0.0  # starts spread evenly over this long; 0: all at the same instant


QUICK: Final = Plan(2_000, 400, 2, False, 12.0)
FULL: Final = Plan(TARGET_MEETINGS, TARGET_ROOMS, 2, False, 30.0)


def run_obtp_benchmark(
    quick: bool,
    *,
    meetings: int | None = None,
    rooms: int | None = None,
    workers: int | None = None,
    kill: bool = False,
    spread_s: float = 0.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark (module docstring); returns a JSON-ready dict."""
    base = QUICK if quick else FULL
    plan = Plan(
        meetings=meetings or base.meetings,
        rooms=rooms or base.rooms,
        workers=workers or base.workers,
        kill=kill,
        setup_budget_s=base.setup_budget_s * max(1.0, (meetings or base.meetings) / base.meetings),
        spread_s=spread_s,
    )
    if plan.kill and plan.workers < 2:
        raise ValueError("--kill needs at least 2 workers: one is killed, another takes over")
    report = progress or (lambda label, done, total: None)
    observed = run_async(_run(plan, report))
    return _result(quick, plan, observed)


@dataclass
class _Observed:
    prompts: int = 0
    seed_s: float = 0.0
    reconcile_s: float = 0.0
    setup_overrun_s: float = 0.0
    errors: list[float] = field(default_factory=list)
    unobserved: int = 0
    duplicates: int = 0
    misses: int = 0
    killed_worker: str | None = None
    restarted_after_s: float | None = None


async def _run(plan: Plan, report: Progress) -> _Observed:
    observed = _Observed()
    with tempfile.TemporaryDirectory(prefix="calhub-bench-obtp-") as directory:
        root = Path(directory)
        settings = _settings(root)
        async with bootstrap(settings) as runtime:
            env = hub_environment(settings, runtime.database_url, root, ("dispatch_tick_s",))
            commands = {f"worker{n}": ["worker"] for n in range(plan.workers)}
            async with hub_processes(root, env, commands) as workers:
                began = time.monotonic()
                fire_at = datetime.now(UTC) + timedelta(seconds=plan.setup_budget_s)
                tenant_id = await _seed(runtime, plan, fire_at + DEFAULT_LEAD, report)
                observed.seed_s = time.monotonic() - began
                began = time.monotonic()
                changes = await reconcile_tenant_prompts(runtime.uow, runtime.clock, tenant_id)
                observed.reconcile_s = time.monotonic() - began
                report("reconcile: prompts scheduled", changes.created, plan.meetings)
                lead_s = (fire_at - datetime.now(UTC)).total_seconds()
                if lead_s < SETTLE_S:
                    observed.setup_overrun_s = SETTLE_S - lead_s
                workers.check()
                await _fire_phase(runtime, tenant_id, plan, fire_at, workers, observed, report)
    return observed


# -- the hub's processes -------------------------------------------------------------------------


def _settings(root: Path) -> Settings:
    base = Settings()
    update: dict[str, Any] = {"log_level": "warning"}
    if base.database_url is None:  # a throw-away embedded database and key
        update |= {"data_dir": root / "data", "key_file": root / "data" / "master.key"}
    return base.model_copy(update=update)


# -- the world -----------------------------------------------------------------------------------


async def _seed(runtime: Runtime, plan: Plan, start: datetime, report: Progress) -> TenantId:
    """A tenant with ``plan.rooms`` room calendars, a device each, and ``plan.meetings``
    meetings with join details starting at ``start``, round-robin over the rooms."""
    now = runtime.clock.now()
    tenant = await create_tenant(runtime.uow, runtime.clock, "calhub bench obtp")
    connection = Connection(
        id=ConnectionId(new_id(now)),
        tenant_id=tenant.id,
        provider=ProviderKind.MSGRAPH,
        # Never consented: the workers' safety-net syncs leave its calendars alone.
        status=ConnectionStatus.CONSENT_PENDING,
        credentials=Secret("{}"),
        settings={},
        created_at=now,
        updated_at=now,
    )
    rooms = [
        Calendar(
            id=CalendarId(new_id(now)),
            tenant_id=tenant.id,
            connection_id=connection.id,
            provider_calendar_id=f"room{number}",
            kind=CalendarKind.ROOM,
            owner_email=f"room{number}@bench-obtp.test",
            name=f"Room {number}",
            created_at=now,
            updated_at=now,
        )
        for number in range(plan.rooms)
    ]
    async with runtime.uow() as uow:
        await uow.connections.add(connection)
        for number, room in enumerate(rooms):
            await uow.calendars.add(room)
            device = Device(
                id=DeviceId(new_id(now)),
                tenant_id=tenant.id,
                calendar_id=room.id,
                kind=DeviceKind.ROOM,
                name=f"Room {number} codec",
                time_zone="UTC",
                created_at=now,
            )
            await uow.devices.add(device, secrets.token_bytes(32))
            if number % 100 == 0:
                report("seed: rooms and devices", number + 1, plan.rooms)
        await uow.commit()
    report("seed: rooms and devices", plan.rooms, plan.rooms)
    step = timedelta(seconds=plan.spread_s / plan.meetings)
    meetings = [
        _meeting(tenant.id, rooms[n % plan.rooms].id, n, start + n * step, now)
        for n in range(plan.meetings)
    ]
    done = 0
    for chunk in batches(meetings, SEED_BATCH):
        async with runtime.uow() as uow:
            await uow.events.upsert(tenant.id, chunk, now)
            await uow.occurrences.replace_for_events(
                tenant.id, [(e, [Occurrence(e.id, e.start, e.end, e.start)]) for e in chunk]
            )
            await uow.commit()
        done += len(chunk)
        report("seed: meetings", done, plan.meetings)
    return tenant.id


def _meeting(
    tenant_id: TenantId, calendar_id: CalendarId, number: int, start: datetime, now: datetime
) -> Event:
    return Event(
        id=EventId(new_id(now)),
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        provider_event_id=f"meeting{number}",
        start=start,
        end=start + timedelta(minutes=30),
        subject=f"Meeting {number}",
        location="@webex",
        organizer=Attendee(f"organizer{number}@bench-obtp.test", f"Organizer {number}"),
        join=JoinDetails(
            provider="webex",
            source="body",
            join_url=f"https://acme.webex.com/meet/m{number}",
            sip_uri=f"sip:m{number}@acme.webex.com",
        ),
    )


# -- firing --------------------------------------------------------------------------------------

_NEW_JOINS: Final = (
    "SELECT id, (payload->>'prompt_id')::bigint FROM outbox "
    "WHERE tenant_id = %(tenant)s AND kind = 'obtp.join' "
    "AND id NOT IN (SELECT unnest(%(seen)s::bigint[]))"
)
_ALL_JOINS: Final = (
    "SELECT payload->>'booking_id', payload->>'device_id', (payload->>'version')::int, "
    "(payload->>'prompt_id')::bigint FROM outbox WHERE tenant_id = %(tenant)s "
    "AND kind = 'obtp.join'"
)
_PROMPTS: Final = "SELECT id, fire_at FROM join_prompts WHERE tenant_id = %(tenant)s"


async def _fire_phase(
    runtime: Runtime,
    tenant_id: TenantId,
    plan: Plan,
    fire_at: datetime,
    workers: HubProcesses,
    observed: _Observed,
    report: Progress,
) -> None:
    url = libpq_url(runtime.database_url)
    first_seen: dict[int, float] = {}  # prompt id → wall-clock time first seen
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as listener,
        await psycopg.AsyncConnection.connect(url, autocommit=True) as reader,
    ):
        await listener.execute("LISTEN calhub_outbox")
        fire_at_by_prompt = {
            row[0]: row[1]
            for row in await (await reader.execute(_PROMPTS, {"tenant": tenant_id})).fetchall()
        }
        # Counted from the table: a worker's horizon pass may have scheduled some before ours.
        observed.prompts = len(fire_at_by_prompt)
        killer = asyncio.create_task(_kill_and_restart(plan, fire_at, workers, observed))
        seen_rows: list[int] = []
        deadline = time.monotonic() + max(0.0, (fire_at - datetime.now(UTC)).total_seconds())
        deadline += plan.spread_s + DRAIN_TIMEOUT_S
        try:
            while len(first_seen) < len(fire_at_by_prompt) and time.monotonic() < deadline:
                await _next_notice(listener, SAFETY_READ_S)
                rows = await (
                    await reader.execute(_NEW_JOINS, {"tenant": tenant_id, "seen": seen_rows})
                ).fetchall()
                now = time.time()
                for row_id, prompt_id in rows:
                    seen_rows.append(row_id)
                    first_seen.setdefault(prompt_id, now)
                report("fire: prompts seen", len(first_seen), len(fire_at_by_prompt))
                workers.check()
        finally:
            await killer
        joins = await (await reader.execute(_ALL_JOINS, {"tenant": tenant_id})).fetchall()
    final_read = time.time()
    per_version: dict[tuple[str, str, int], int] = {}
    for booking, device, version, prompt_id in joins:
        per_version[(booking, device, version)] = per_version.get((booking, device, version), 0) + 1
        if prompt_id not in first_seen:
            observed.unobserved += 1
            first_seen[prompt_id] = final_read
    observed.duplicates = sum(count - 1 for count in per_version.values())
    unscheduled = max(0, plan.meetings - len(fire_at_by_prompt))  # one device per meeting's room
    observed.misses = unscheduled + sum(
        1 for prompt_id in fire_at_by_prompt if prompt_id not in first_seen
    )
    observed.errors = sorted(
        first_seen[prompt_id] - due.timestamp()
        for prompt_id, due in fire_at_by_prompt.items()
        if prompt_id in first_seen
    )


async def _next_notice(listener: psycopg.AsyncConnection[Any], timeout_s: float) -> None:
    """Until the next outbox commit notice (or ``timeout_s``)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            async for _ in listener.notifies():
                return


async def _kill_and_restart(
    plan: Plan, fire_at: datetime, workers: HubProcesses, observed: _Observed
) -> None:
    if not plan.kill:
        return
    delay = (fire_at - datetime.now(UTC)).total_seconds() + plan.spread_s / 2 + KILL_AFTER_S
    await asyncio.sleep(max(0.0, delay))
    began = time.monotonic()
    await workers.kill("worker0")
    await workers.start("worker0-restarted", "worker")
    observed.killed_worker = "worker0"
    observed.restarted_after_s = time.monotonic() - began


# -- the report ----------------------------------------------------------------------------------


def _quantile(ordered: list[float], q: float) -> float | None:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def _result(quick: bool, plan: Plan, observed: _Observed) -> dict[str, Any]:
    errors = observed.errors
    p99 = _quantile(errors, 0.99)
    at_scale = plan.meetings >= TARGET_MEETINGS and plan.rooms >= TARGET_ROOMS
    met = (
        p99 is not None
        and p99 <= TARGET_P99_S
        and observed.duplicates == 0
        and observed.misses == 0
        and observed.setup_overrun_s == 0
    )
    return {
        "benchmark": "obtp",
        "quick": quick,
        "meetings": plan.meetings,
        "rooms": plan.rooms,
        "devices": plan.rooms,
        "prompts": observed.prompts,
        "workers": plan.workers,
        "killed_worker": observed.killed_worker,
        "spread_s": plan.spread_s,
        "kill_after_fire_s": plan.spread_s / 2 + KILL_AFTER_S if plan.kill else None,
        "restarted_after_s": observed.restarted_after_s,
        "fire_error_p50_s": _quantile(errors, 0.50),
        "fire_error_p99_s": p99,
        "fire_error_max_s": errors[-1] if errors else None,
        "fire_error_min_s": errors[0] if errors else None,
        "duplicates": observed.duplicates,
        "misses": observed.misses,
        "unobserved": observed.unobserved,
        "seed_seconds": observed.seed_s,
        "reconcile_seconds": observed.reconcile_s,
        "setup_overrun_s": observed.setup_overrun_s,
        "dispatch_tick_s": Settings().dispatch_tick_s,
        "targets": {
            "fire_error_p99_s": TARGET_P99_S,
            "duplicates": 0,
            "misses": 0,
            "meetings": TARGET_MEETINGS,
            "rooms": TARGET_ROOMS,
        },
        "at_target_scale": at_scale,
        "targets_met": met and at_scale,
    }
