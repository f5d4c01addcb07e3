"""``calhub bench sync``: how fast changes made in a provider reach calhub's mirror, and how
many notifications the intake stores per second (issues 4 and 7, "Proof").

Targets on a 2-core machine, for each provider: p99 lag ≤ 3 s at 200 changes/s spread over 1,000
calendars; intake ≥ 2,000 notifications/s durably stored. The run is a real deployment on
loopback:

- the provider's emulator in this process (``--provider msgraph``: Graph, ``sync_graph``;
  ``google``: Google Calendar and Directory, ``sync_google``), served over HTTPS with a local CA,
  seeded with one organisation of users and rooms (four users per room);
- calhub on the configured database (``CALHUB_DATABASE_URL``; unset: a throw-away embedded
  PostgreSQL in a temporary directory), started as an operator would: one ``calhub serve``
  process (the intake) and ``workers`` ``calhub worker`` processes, with a working connection
  to the organisation. Discovery, one subscription per calendar and every first sync run before
  any timing. The per-connection request budget is raised (``REQUEST_BUDGET``): the default
  suits one tenant's steady state, not 200 syncs a second through one connection.

Lag phase: this process makes ``rate`` changes per second for ``seconds``, half creates and half
subject edits of events made earlier, on calendars picked at random, through the emulator's
event store (``sync_world``). When each change was made is noted with its event id and change
key; the provider's notifications then flow as in production (emulator → POST ``/hooks/...`` →
intake → sync job → incremental query → mirror). Every ``POLL_S`` the mirror's ``events`` rows
of the events with an unseen change are looked up by (calendar, provider id), the unique index,
so watching stays cheap however large the mirror grows; a change counts as applied when its
event shows its change key, or a later one (an edit made before the sync saw the create carries
the create with it). Its lag is the poll's time minus the change's, so it overstates by up to
one poll interval. ``changes_per_s`` is changes applied over the time from the first change
made to the last seen. ``lag_p99_by_5s`` is the p99 lag of the changes made in each 5 seconds of
the phase: growing, the hub falls behind the rate; flat, it keeps up.

Intake phase: the provider's own notification requests (Graph: POSTs of 100 items, each for
another calendar, with that subscription's ``clientState``; Google: one push message per
request with its channel's token), each a new change, are sent over the world's
``intake_connections`` kept-alive connections by a lean sender (``http_load``: the provider's
fleet is not on calhub's machine, so the sender takes as little of its CPU as it can);
``intake_per_s`` is the inbox rows added over the time until the last answer. The workers keep
running, so the syncs the notifications ask for compete for the CPU as they would.

This module reads the database directly (``calhub.storage.tables``): it observes calhub from
outside and must not depend on the code it measures. The one exception is the calendar id of
each address, read once through calhub's repository because addresses are stored sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from calhub.bootstrap import Runtime, bootstrap
from calhub.cli.bench.http_load import send_all
from calhub.cli.bench.processes import HubProcesses, hub_environment, hub_processes
from calhub.cli.bench.sync_world import ChangeRefused, SyncWorld
from calhub.cli.common import run_async
from calhub.domain.ids import TenantId
from calhub.emulators.graph.serving import bind_loopback, serving
from calhub.emulators.graph.tls import TlsFiles, ensure_certificates
from calhub.emulators.http1 import serialise
from calhub.services.jobs import defer_discovery
from calhub.settings import Settings
from calhub.storage import tables

__all__ = ["PROVIDERS", "run_sync_benchmark"]

Progress = Callable[[str, int, int], None]

PROVIDERS: Final = ("msgraph", "google")
SEED: Final = 20260401
POLL_S: Final = 0.1
LAG_SLICE_S: Final = 5.0
REQUEST_BUDGET: Final = 1000.0  # provider requests per second per connection and process
WORKER_CONCURRENCY: Final = 10
TARGET_LAG_P99_S: Final = 3.0
TARGET_RATE: Final = 200.0
TARGET_CALENDARS: Final = 1000
TARGET_INTAKE_PER_S: Final = 2000.0
SYNC_TASKS: Final = (
    "calhub.sync_calendar",
    "calhub.ensure_subscription",
    "calhub.discover_calendars",
)


@dataclass(frozen=True, slots=True)
class Plan:
    calendars: int
    seconds: float
    rate: float
    notifications: int
    workers: int
    setup_timeout_s: float
    drain_timeout_s: float


QUICK: Final = Plan(200, 10.0, TARGET_RATE, 5_000, 2, 120.0, 30.0)
FULL: Final = Plan(TARGET_CALENDARS, 60.0, TARGET_RATE, 20_000, 2, 600.0, 60.0)


def run_sync_benchmark(
    quick: bool,
    *,
    provider: str = "msgraph",
    calendars: int | None = None,
    seconds: float | None = None,
    rate: float | None = None,
    notifications: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); returns a JSON-ready dict."""
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    base = QUICK if quick else FULL
    plan = Plan(
        calendars=calendars or base.calendars,
        seconds=seconds or base.seconds,
        rate=rate or base.rate,
        notifications=notifications or base.notifications,
        workers=workers or base.workers,
        setup_timeout_s=base.setup_timeout_s,
        drain_timeout_s=base.drain_timeout_s,
    )
    report = progress or (lambda label, done, total: None)
    world = _world(provider, plan.calendars)
    result = run_async(_run(world, plan, report))
    return _result(quick, world, plan, result)


def _world(provider: str, calendars: int) -> SyncWorld:
    if provider == "google":
        from calhub.cli.bench.sync_google import GoogleWorld

        return GoogleWorld(calendars, SEED)
    from calhub.cli.bench.sync_graph import GraphWorld

    return GraphWorld(calendars, SEED)


@dataclass
class _Observed:
    setup_seconds: float = 0.0
    lag: dict[str, Any] = field(default_factory=dict)
    intake: dict[str, Any] = field(default_factory=dict)
    sync_errors: int = 0
    failed_jobs: int = 0


async def _run(world: SyncWorld, plan: Plan, report: Progress) -> _Observed:
    observed = _Observed()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="calhub-bench-sync-") as directory:
        root = Path(directory)
        tls = ensure_certificates(root / "tls")
        async with serving(world.app, bind_loopback(), tls) as origin:
            api_port = _free_port()
            settings = _settings(root, world.settings(origin), tls, api_port)
            async with bootstrap(settings) as runtime:
                tenant_id, connection_id = await world.connect(runtime)
                names = (*_PROCESS_SETTINGS, *world.process_settings)
                env = hub_environment(settings, runtime.database_url, root, names)
                commands = {"api": ["serve"]} | {
                    f"worker{n}": ["worker"] for n in range(plan.workers)
                }
                async with hub_processes(root, env, commands) as hub:
                    await _wait_until_up(f"http://127.0.0.1:{api_port}/healthz", hub)
                    await defer_discovery(runtime.jobs, tenant_id, connection_id)
                    await _wait_for_first_syncs(runtime, tenant_id, plan, hub, report)
                    observed.setup_seconds = time.monotonic() - began
                    observed.lag = await _lag_phase(runtime, tenant_id, world, plan, hub, report)
                    observed.intake = await _intake_phase(
                        runtime, tenant_id, world, api_port, plan, report
                    )
                    observed.sync_errors, observed.failed_jobs = await _errors(runtime, tenant_id)
    return observed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(root: Path, provider: dict[str, Any], tls: TlsFiles, api_port: int) -> Settings:
    base = Settings()
    update: dict[str, Any] = provider | {
        "host": "127.0.0.1",
        "port": api_port,
        "public_base_url": f"http://127.0.0.1:{api_port}",
        "ca_bundle": tls.ca_certificate,
        "provider_requests_per_second": REQUEST_BUDGET,
        "provider_request_burst": int(REQUEST_BUDGET),
        "worker_concurrency": WORKER_CONCURRENCY,
        "log_level": "warning",
    }
    if base.database_url is None:  # a throw-away embedded database and key
        update |= {"data_dir": root / "data", "key_file": root / "data" / "master.key"}
    return base.model_copy(update=update)


_PROCESS_SETTINGS = (
    "host",
    "port",
    "public_base_url",
    "ca_bundle",
    "provider_requests_per_second",
    "provider_request_burst",
    "worker_concurrency",
)


# -- the hub's processes -------------------------------------------------------------------------


async def _wait_until_up(url: str, hub: HubProcesses) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            hub.check()
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"calhub serve did not answer {url} within 60 s")


async def _wait_for_first_syncs(
    runtime: Runtime, tenant_id: TenantId, plan: Plan, hub: HubProcesses, report: Progress
) -> None:
    """Until every calendar has a subscription and a first sync, and no sync work waits."""
    deadline = time.monotonic() + plan.setup_timeout_s
    synced = subscribed = waiting = 0
    while time.monotonic() < deadline:
        hub.check()
        async with runtime.engine.connect() as conn:
            synced = (
                await conn.scalar(
                    select(func.count())
                    .select_from(tables.calendars)
                    .where(
                        tables.calendars.c.tenant_id == tenant_id,
                        tables.calendars.c.last_synced_at.is_not(None),
                    )
                )
                or 0
            )
            subscribed = (
                await conn.scalar(
                    select(func.count())
                    .select_from(tables.subscriptions)
                    .where(tables.subscriptions.c.tenant_id == tenant_id)
                )
                or 0
            )
            waiting = await _waiting_jobs(conn)
        report("setup: subscriptions and first syncs", min(synced, subscribed), plan.calendars)
        if synced >= plan.calendars and subscribed >= plan.calendars and waiting == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(
        f"setup did not finish in {plan.setup_timeout_s:.0f} s: {subscribed} subscriptions, "
        f"{synced} calendars synced of {plan.calendars}, {waiting} jobs waiting"
    )


async def _waiting_jobs(conn: Any) -> int:
    count = await conn.exec_driver_sql(
        "SELECT count(*) FROM procrastinate_jobs "
        "WHERE status IN ('todo', 'doing') AND task_name = ANY(%(names)s)",
        {"names": list(SYNC_TASKS)},
    )
    return int(count.scalar_one())


async def _errors(runtime: Runtime, tenant_id: TenantId) -> tuple[int, int]:
    async with runtime.engine.connect() as conn:
        sync_errors = await conn.scalar(
            select(func.count())
            .select_from(tables.calendars)
            .where(
                tables.calendars.c.tenant_id == tenant_id,
                tables.calendars.c.last_error.is_not(None),
            )
        )
        failed = await conn.exec_driver_sql(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'"
        )
        return int(sync_errors or 0), int(failed.scalar_one())


# -- lag: changes made in the emulator, seen in the mirror ---------------------------------------


class _Changes:
    """When each change was made (noted as the workload makes it) and first seen in the mirror
    (poller)."""

    def __init__(self) -> None:
        self.made: dict[str, list[tuple[str, float]]] = {}  # event id → (change key, when)
        self.seen: dict[tuple[str, str], float] = {}
        self.waiting: dict[str, str] = {}  # event id → calendar address, while a change is unseen
        self.count = 0
        self.first_made: float | None = None

    def note(self, address: str, event_id: str, change_key: str) -> None:
        now = time.monotonic()
        self.made.setdefault(event_id, []).append((change_key, now))
        self.waiting[event_id] = address.lower()
        self.count += 1
        self.first_made = self.first_made or now

    def observe(self, event_id: str, change_key: str, now: float) -> None:
        """The mirror shows ``change_key``: it and every earlier change of the event arrived."""
        history = self.made.get(event_id)
        if not history or (event_id, change_key) in self.seen:
            return
        keys = [key for key, _ in history]
        if change_key not in keys:
            return
        for key, _ in history[: keys.index(change_key) + 1]:
            self.seen.setdefault((event_id, key), now)
        if keys[-1] == change_key:
            self.waiting.pop(event_id, None)

    def lags(self) -> list[float]:
        return sorted(lag for _, lag in self._made_and_lag())

    def p99_by_slice(self, slice_s: float) -> list[float | None]:
        """The p99 lag of the changes made in each ``slice_s`` of the workload, in order (None:
        none of a slice's changes was seen): a lag that keeps growing says the workers fall
        behind, a flat one that they keep up."""
        if self.first_made is None:
            return []
        slices: dict[int, list[float]] = {}
        for made, lag in self._made_and_lag():
            slices.setdefault(int((made - self.first_made) // slice_s), []).append(lag)
        last = max(slices, default=-1)
        return [_quantile(sorted(slices.get(n, [])), 0.99) for n in range(last + 1)]

    def _made_and_lag(self) -> list[tuple[float, float]]:
        return [
            (made, self.seen[(event_id, key)] - made)
            for event_id, history in self.made.items()
            for key, made in history
            if (event_id, key) in self.seen
        ]


async def _lag_phase(
    runtime: Runtime,
    tenant_id: TenantId,
    world: SyncWorld,
    plan: Plan,
    hub: HubProcesses,
    report: Progress,
) -> dict[str, Any]:
    changes = _Changes()
    calendars = await _calendar_ids(runtime, tenant_id)
    total = round(plan.rate * plan.seconds)
    poller = asyncio.create_task(_poll_mirror(runtime, calendars, changes, total, report))
    try:
        began = time.monotonic()
        failures = await _make_changes(world, changes, plan, total, report)
        made_in = time.monotonic() - began
        deadline = time.monotonic() + plan.drain_timeout_s
        while len(changes.seen) < changes.count and time.monotonic() < deadline:
            hub.check()
            await asyncio.sleep(POLL_S)
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
    await _look_up_waiting(runtime, calendars, changes)  # a last look after the drain timeout
    lags = changes.lags()
    last_seen = max(changes.seen.values(), default=None)
    span = (
        None if last_seen is None or changes.first_made is None else last_seen - changes.first_made
    )
    return {
        "changes_made": changes.count,
        "change_failures": failures,
        "offered_changes_per_s": changes.count / made_in if made_in else None,
        "changes_applied": len(lags),
        "changes_missing": changes.count - len(lags),
        "changes_per_s": len(lags) / span if span else None,
        "lag_p50_s": _quantile(lags, 0.50),
        "lag_p99_s": _quantile(lags, 0.99),
        "lag_max_s": lags[-1] if lags else None,
        "lag_mean_s": statistics.fmean(lags) if lags else None,
        "lag_p99_by_5s": changes.p99_by_slice(LAG_SLICE_S),
    }


async def _make_changes(
    world: SyncWorld, changes: _Changes, plan: Plan, total: int, report: Progress
) -> dict[str, int]:
    """``total`` changes at ``plan.rate`` a second: creates, and subject edits of earlier ones."""
    rng = random.Random(SEED)  # noqa: S311 - a workload, not a secret
    addresses = world.addresses()
    created: list[tuple[str, str]] = []  # (calendar address, event id)
    failures: dict[str, int] = {}
    day = world.now().replace(hour=9, minute=0, second=0, microsecond=0)
    began = time.monotonic()
    for number in range(total):
        delay = began + number / plan.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            if created and rng.random() < 0.5:
                address, event_id = rng.choice(created)
                change_key = world.edit(address, event_id, f"Edit {number}")
            else:
                address = rng.choice(addresses)
                start = day + timedelta(days=rng.randrange(1, 170), minutes=15 * (number % 32))
                end = start + timedelta(minutes=30)
                event_id, change_key = world.create(address, start, end, f"Change {number}")
                created.append((address, event_id))
            changes.note(address, event_id, change_key)
        except ChangeRefused as exc:
            failures[str(exc.status)] = failures.get(str(exc.status), 0) + 1
        if number % 50 == 0 or number == total - 1:
            report(f"lag: changes made in {world.source}", number + 1, total)
    return failures


def _waiting_events_query() -> Select[str, str]:
    events = tables.events
    wanted = select(
        func.unnest(bindparam("calendar_ids", type_=ARRAY(events.c.calendar_id.type))).label("c"),
        func.unnest(bindparam("event_ids", type_=ARRAY(events.c.provider_event_id.type))).label(
            "e"
        ),
    ).subquery()
    return select(events.c.provider_event_id, events.c.change_key).join(
        wanted,
        (events.c.calendar_id == wanted.c.c) & (events.c.provider_event_id == wanted.c.e),
    )


_WAITING_EVENTS: Final = _waiting_events_query()  # one statement for any number of events


async def _poll_mirror(
    runtime: Runtime,
    calendars: dict[str, uuid.UUID],
    changes: _Changes,
    total: int,
    report: Progress,
) -> None:
    """Every ``POLL_S``: the mirror rows of the events with a change not seen yet, looked up by
    calendar and provider id (the unique index), so watching costs little however large the
    mirror grows."""
    while True:
        await _look_up_waiting(runtime, calendars, changes)
        report("lag: changes in the mirror", len(changes.seen), max(total, changes.count))
        await asyncio.sleep(POLL_S)


async def _look_up_waiting(
    runtime: Runtime, calendars: dict[str, uuid.UUID], changes: _Changes
) -> None:
    if not changes.waiting:
        return
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            _WAITING_EVENTS,
            {
                "calendar_ids": [calendars[mailbox] for mailbox in changes.waiting.values()],
                "event_ids": list(changes.waiting),
            },
        )
    now = time.monotonic()
    for event_id, change_key in rows:
        changes.observe(event_id, change_key, now)


async def _calendar_ids(runtime: Runtime, tenant_id: TenantId) -> dict[str, uuid.UUID]:
    """calhub's calendar id of each mailbox address (addresses are sealed: read through calhub)."""
    async with runtime.uow() as uow:
        found = await uow.calendars.list(tenant_id)
    return {calendar.owner_email.lower(): calendar.id for calendar in found}


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- intake: notification POSTs stored per second ------------------------------------------------


async def _intake_phase(
    runtime: Runtime,
    tenant_id: TenantId,
    world: SyncWorld,
    api_port: int,
    plan: Plan,
    report: Progress,
) -> dict[str, Any]:
    # The lag phase's notifications are delivered first, so the rows counted are the phase's own.
    await world.drain()
    requests = world.intake_requests(plan.notifications)
    before = await _inbox_rows(runtime, tenant_id)
    statuses: dict[str, int] = {}

    def answered(number: int, status: int) -> None:
        if status != requests[number].accepted:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        if number % 10 == 0 or number == len(requests) - 1:
            report("intake: notification requests", number + 1, len(requests))

    authority = f"127.0.0.1:{api_port}"
    wire = [serialise("POST", r.path, authority, r.headers, r.body) for r in requests]
    began = time.monotonic()
    await send_all(
        "127.0.0.1", api_port, wire, connections=world.intake_connections, answered=answered
    )
    elapsed = time.monotonic() - began
    stored = await _inbox_rows(runtime, tenant_id) - before
    return {
        "notifications_posted": sum(request.items for request in requests),
        "notification_requests": len(requests),
        "notifications_stored": stored,
        "intake_seconds": elapsed,
        "intake_per_s": stored / elapsed if elapsed else None,
        "intake_refused": statuses,
    }


async def _inbox_rows(runtime: Runtime, tenant_id: TenantId) -> int:
    async with runtime.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(tables.notification_inbox)
            .where(tables.notification_inbox.c.tenant_id == tenant_id)
        )
    return int(count or 0)


# -- the report ----------------------------------------------------------------------------------


def _result(quick: bool, world: SyncWorld, plan: Plan, observed: _Observed) -> dict[str, Any]:
    lag, intake = observed.lag, observed.intake
    at_scale = plan.calendars >= TARGET_CALENDARS and plan.rate >= TARGET_RATE
    met = {
        "lag_p99_s": at_scale
        and lag["lag_p99_s"] is not None
        and lag["lag_p99_s"] <= TARGET_LAG_P99_S
        and lag["changes_missing"] == 0,
        "intake_per_s": intake["intake_per_s"] is not None
        and intake["intake_per_s"] >= TARGET_INTAKE_PER_S
        and intake["notifications_stored"] == intake["notifications_posted"],
    }
    return {
        "benchmark": "sync",
        "provider": world.provider,
        "quick": quick,
        "calendars": plan.calendars,
        "seconds": plan.seconds,
        "rate": plan.rate,
        "workers": plan.workers,
        "worker_concurrency": WORKER_CONCURRENCY,
        "provider_requests_per_second": REQUEST_BUDGET,
        "setup_seconds": observed.setup_seconds,
        **lag,
        **intake,
        "sync_errors": observed.sync_errors,
        "failed_jobs": observed.failed_jobs,
        "poll_interval_s": POLL_S,
        "targets": {
            "lag_p99_s": TARGET_LAG_P99_S,
            "at_changes_per_s": TARGET_RATE,
            "over_calendars": TARGET_CALENDARS,
            "intake_per_s": TARGET_INTAKE_PER_S,
        },
        "at_target_scale": at_scale,
        "met": met,
        "targets_met": all(met.values()),
    }
