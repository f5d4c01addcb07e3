"""``calhub bench graph-emulator``: what the Graph emulator holds, and how fast it answers.

Issue 3 asks that the emulator serve at least 1,000 simple GETs per second on one core and hold
10,000 mailboxes with subscriptions, so that it never bottlenecks calhub's load tests.

Method:

1. A spawned server process, pinned to one CPU (``os.sched_setaffinity`` where the OS has it),
   builds the world through the emulator's public surfaces: one tenant with N user mailboxes from
   a seed (``load_seed``), then one subscription per mailbox by ``POST /v1.0/subscriptions`` over
   ASGI, its validation handshake (graph.md §4.3) answered by an in-process receiver given to the
   store as its transport. tracemalloc and the resident set size measure what the mailboxes and
   subscriptions hold. Then the first ``CALENDAR_MAILBOXES`` mailboxes get ``EVENTS_PER_MAILBOX``
   events each (``POST /v1.0/users/{id}/events``).
2. The same process serves the app with uvicorn on 127.0.0.1 (h11, no access log), as
   ``calhub emulate graph`` does.
3. This process, pinned to the other CPUs, sends GETs over ``CONCURRENCY`` keep-alive
   connections: ``mailboxSettings`` (graph.md §8) of random mailboxes, then a one-day
   ``calendarView`` (§2) of random mailboxes with events, half of each round. A warm-up round
   goes through a pool of httpx clients and checks that every answer is 200 and JSON; the timed
   rounds (``REPEATS``, the median counts) write plain HTTP/1.1 requests, because httpx spends
   more CPU per request than the emulator and would measure itself from one client core. The
   server's CPU time over each round (from ``/proc``) shows whether the server was the limit
   (utilisation near 1) or was sharing its core; ``gets_per_server_cpu_second`` is the rate one
   fully available core gives.

Every GET must answer 200; other statuses are counted and reported. The target,
``gets_per_second >= 1000``, is reported as pass/fail in the JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import socket
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import httpx
import uvicorn

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState

__all__ = ["run_graph_emulator_benchmark"]

Progress = Callable[[str, int, int], None]

TENANT_ID = "0b9a6c1e-5d0f-4c3b-9a8e-7f6d5c4b3a21"
APP_ID = "bench-app"
DOMAIN = "bench.test"
HOOK = "https://hooks.bench.test/graph"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
CALENDAR_MAILBOXES = 100
EVENTS_PER_MAILBOX = 5
REPEATS = 5
CONCURRENCY = 16
CLIENTS = 4
TARGET_GETS_PER_SECOND = 1000.0
SEED = 20260302
NOTES = (
    "Timed rounds use plain keep-alive HTTP/1.1 connections (the warm-up round goes through "
    "httpx and checks every answer). server_cpu_utilisation is the server process's CPU time "
    "over the wall time of the rounds: near 1, the emulator's one core was the limit; well "
    "below 1 on a busy machine, it was sharing its core or waiting for the load generator, and "
    "gets_per_server_cpu_second says what one fully available core serves."
)
QUICK = {"mailboxes": 1_000, "requests": 2_000}
FULL = {"mailboxes": 10_000, "requests": 10_000}


def run_graph_emulator_benchmark(
    quick: bool,
    mailboxes: int | None = None,
    requests: int | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Run the benchmark; returns a JSON-ready dict (see the module docstring)."""
    sizes = QUICK if quick else FULL
    count = mailboxes or sizes["mailboxes"]
    per_round = requests or sizes["requests"]
    repeats = 3 if quick else REPEATS
    report = progress or (lambda label, done, total: None)
    server_cpu, client_cpus = _split_cpus()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(
        target=serve_emulator, args=(theirs, count, server_cpu), name="graph-emulator", daemon=True
    )
    server.start()
    theirs.close()  # the server holds its own end now
    original_affinity = _affinity()
    try:
        ready = _wait_until_ready(ours, server, report)
        _pin(client_cpus)
        warm_up_errors, rounds = asyncio.run(
            _measure(ready, server.pid or 0, count, per_round, repeats, report)
        )
    finally:
        _pin(original_affinity)
        if server.is_alive():
            ours.send("stop")
            server.join(timeout=15)
        if server.is_alive():
            server.kill()
            server.join()
        ours.close()
    result = _result(quick, count, per_round, ready, rounds, warm_up_errors)
    result["server_pinned_to_cpu"] = server_cpu
    result["load_generator_cpus"] = sorted(client_cpus) if client_cpus else None
    return result


def _result(
    quick: bool,
    count: int,
    per_round: int,
    ready: dict[str, Any],
    rounds: list[dict[str, Any]],
    warm_up_errors: dict[str, int],
) -> dict[str, object]:
    def median(key: str) -> Any:
        values = [r[key] for r in rounds if r[key] is not None]
        return statistics.median(values) if values else None

    gets_per_second = median("gets_per_second")
    errors = dict(warm_up_errors)
    for repetition in rounds:
        for status, n in repetition["errors"].items():
            errors[status] = errors.get(status, 0) + n
    return {
        "benchmark": "graph-emulator",
        "quick": quick,
        "mailboxes": count,
        "subscriptions": ready["subscriptions"],
        "events": ready["events"],
        "build_seconds": ready["build_seconds"],
        "memory": ready["memory"],
        "requests_per_round": per_round,
        "repetitions": len(rounds),
        "concurrency": CONCURRENCY,
        "gets_per_second": gets_per_second,
        "mailbox_settings_gets_per_second": median("mailbox_settings_per_second"),
        "calendar_view_gets_per_second": median("calendar_view_per_second"),
        "server_cpu_utilisation": median("server_cpu_utilisation"),
        "gets_per_server_cpu_second": median("gets_per_server_cpu_second"),
        "latency_ms_p50": median("latency_ms_p50"),
        "latency_ms_p99": median("latency_ms_p99"),
        "rounds": rounds,
        "non_200": errors,
        "notes": NOTES,
        "versions": {"uvicorn": uvicorn.__version__, "httpx": httpx.__version__},
        "targets": {"gets_per_second": TARGET_GETS_PER_SECOND},
        "meets_targets": gets_per_second >= TARGET_GETS_PER_SECOND and not errors,
    }


# -- the server process ------------------------------------------------------------------------


def serve_emulator(connection: Connection, count: int, cpu: int | None) -> None:
    """The spawned server: build the world, report it, serve until told to stop."""
    _pin({cpu} if cpu is not None else None)
    state = GraphState(EmulatorClock(), seed=SEED)
    app = create_app(state)
    began = time.perf_counter()
    built = asyncio.run(_build(state, app, count, connection))
    built["build_seconds"] = time.perf_counter() - began
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without
    # it every answer waits ~40 ms for a delayed ACK and the benchmark measures that.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws="none", http="h11"
    )
    server = uvicorn.Server(config)

    def stop_when_told() -> None:
        with contextlib.suppress(EOFError):  # the benchmark went away: stop all the same
            connection.recv()
        server.should_exit = True

    threading.Thread(target=stop_when_told, daemon=True).start()
    tenant = state.tenants[TENANT_ID]
    built["port"] = listener.getsockname()[1]
    built["token"] = mint_token(state, tenant, tenant.apps[APP_ID])
    connection.send(("ready", built))
    server.run(sockets=[listener])


async def _build(state: GraphState, app: Any, count: int, connection: Connection) -> dict[str, Any]:
    """Mailboxes and subscriptions (measured), then events for the calendarView GETs."""
    state.subscriptions.transport = httpx.MockTransport(_answer_handshake)
    tracemalloc.start()
    rss_before = _rss_bytes()
    traced_before = tracemalloc.get_traced_memory()[0]
    load_seed(state, _seed(count))
    tenant = state.tenants[TENANT_ID]
    token = mint_token(state, tenant, tenant.apps[APP_ID])
    expiry = (state.clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://emulator/v1.0",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        for index in range(count):
            body = {
                "changeType": "created,updated,deleted",
                "notificationUrl": HOOK,
                "resource": f"users/{_user_id(index)}/events",
                "expirationDateTime": expiry,
                "clientState": f"bench-{index}",
            }
            _expect(await client.post("/subscriptions", json=body), 201, "create a subscription")
            if index % 250 == 0 or index == count - 1:
                connection.send(("progress", "mailboxes and subscriptions", index + 1, count))
        traced = tracemalloc.get_traced_memory()[0] - traced_before
        rss_after = _rss_bytes()
        rss = None if rss_before is None or rss_after is None else rss_after - rss_before
        tracemalloc.stop()
        with_events = min(count, CALENDAR_MAILBOXES)
        for index in range(with_events):
            for number in range(EVENTS_PER_MAILBOX):
                created = await client.post(f"/users/{_upn(index)}/events", json=_event(number))
                _expect(created, 201, "create an event")
            connection.send(("progress", "events", index + 1, with_events))
    return {
        "subscriptions": count,
        "events": with_events * EVENTS_PER_MAILBOX,
        "calendar_mailboxes": with_events,
        "memory": {
            "traced_bytes": traced,
            "traced_bytes_per_mailbox": traced / count,
            "rss_bytes": rss,
            "rss_bytes_per_mailbox": None if rss is None else rss / count,
            "what": "mailboxes (seeded) with one subscription each, before any events",
        },
    }


def _answer_handshake(request: httpx.Request) -> httpx.Response:
    token = request.url.params.get("validationToken")
    if token is not None:
        return httpx.Response(200, text=token, headers={"Content-Type": "text/plain"})
    return httpx.Response(202)


def _seed(count: int) -> dict[str, Any]:
    return {
        "tenants": [
            {
                "id": TENANT_ID,
                "domain": DOMAIN,
                "apps": [{"client_id": APP_ID, "client_secret": "bench", "consent": "granted"}],
                "access_policy": None,
                "users": [
                    {"id": _user_id(i), "userPrincipalName": _upn(i), "displayName": f"User {i}"}
                    for i in range(count)
                ],
                "rooms": [],
                "events": [],
            }
        ]
    }


def _event(number: int) -> dict[str, Any]:
    start = DAY + timedelta(hours=8 + number)
    return {
        "subject": f"Meeting {number}",
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        },
    }


def _user_id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def _upn(index: int) -> str:
    return f"user{index}@{DOMAIN}"


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"could not {what}: {response.status_code} {response.text[:300]}")


# -- the load generator ------------------------------------------------------------------------


def _wait_until_ready(connection: Connection, server: Any, report: Progress) -> dict[str, Any]:
    while True:
        if not connection.poll(1.0):
            if not server.is_alive():
                raise RuntimeError(f"the emulator process exited with {server.exitcode}")
            continue
        message = connection.recv()
        if message[0] == "progress":
            report(f"build: {message[1]}", message[2], message[3])
        elif message[0] == "ready":
            ready: dict[str, Any] = message[1]
            return ready


async def _measure(
    ready: dict[str, Any],
    pid: int,
    count: int,
    per_round: int,
    repeats: int,
    report: Progress,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The warm-up round through httpx (every answer checked), then the timed rounds."""
    rng = random.Random(SEED)  # noqa: S311 - a workload, not a secret
    window = (
        f"startDateTime={DAY.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        f"&endDateTime={(DAY + timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    half = max(1, per_round // 2)
    settings_paths = [
        f"/v1.0/users/{_upn(rng.randrange(count))}/mailboxSettings" for _ in range(half)
    ]
    view_paths = [
        f"/v1.0/users/{_upn(rng.randrange(ready['calendar_mailboxes']))}/calendarView?{window}"
        for _ in range(half)
    ]
    warm_up_errors = await _warm_up(ready, settings_paths + view_paths)
    report("GETs: warm-up through httpx", 1, 1)
    connections = [await _KeepAlive.open(ready["port"], ready["token"]) for _ in range(CONCURRENCY)]
    rounds = []
    try:
        for repetition in range(repeats):
            settings = await _round(connections, settings_paths, pid)
            view = await _round(connections, view_paths, pid)
            rounds.append(_round_result(settings, view))
            report("GETs: timed rounds", repetition + 1, repeats)
    finally:
        for connection in connections:
            await connection.close()
    return warm_up_errors, rounds


async def _warm_up(ready: dict[str, Any], paths: list[str]) -> dict[str, int]:
    """One untimed round through a pool of httpx clients: every answer must be 200 and JSON."""
    errors: dict[str, int] = {}
    queue = iter(paths)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ready['port']}",
            headers={"Authorization": f"Bearer {ready['token']}"},
            limits=limits,
            timeout=30.0,
        )
        for _ in range(CLIENTS)
    ]

    async def worker(client: httpx.AsyncClient) -> None:
        for path in queue:
            response = await client.get(path)
            if response.status_code != 200 or not isinstance(response.json(), dict):
                key = f"warm-up {response.status_code}"
                errors[key] = errors.get(key, 0) + 1

    try:
        await asyncio.gather(*(worker(clients[i % CLIENTS]) for i in range(CONCURRENCY)))
    finally:
        for client in clients:
            await client.aclose()
    return errors


class _KeepAlive:
    """One HTTP/1.1 keep-alive connection sending GETs and reading whole answers.

    The timed rounds use it rather than httpx: httpx spends more CPU per request than the
    emulator does, so from one client core it measures httpx, not the server."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._headers = f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()

    @classmethod
    async def open(cls, port: int, token: str) -> _KeepAlive:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, token)

    async def get(self, path: str) -> int:
        """The status of ``GET path``; the body is read and dropped."""
        self._writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._headers)
        head = await self._reader.readuntil(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
        await self._reader.readexactly(length)
        return int(head[9:12])

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def _round(connections: Sequence[_KeepAlive], paths: list[str], pid: int) -> dict[str, Any]:
    queue = iter(paths)
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def worker(connection: _KeepAlive) -> None:
        for path in queue:
            began = time.perf_counter()
            status = await connection.get(path)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1

    cpu_before = _cpu_seconds(pid)
    began = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - began
    cpu_after = _cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "count": len(paths),
        "seconds": elapsed,
        "cpu": cpu,
        "latencies": latencies,
        "errors": errors,
    }


def _round_result(settings: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    seconds = settings["seconds"] + view["seconds"]
    latencies = sorted(settings["latencies"] + view["latencies"])
    cpu = None if settings["cpu"] is None or view["cpu"] is None else settings["cpu"] + view["cpu"]
    errors = dict(settings["errors"])
    for status, n in view["errors"].items():
        errors[status] = errors.get(status, 0) + n
    return {
        "gets_per_second": (settings["count"] + view["count"]) / seconds,
        "mailbox_settings_per_second": settings["count"] / settings["seconds"],
        "calendar_view_per_second": view["count"] / view["seconds"],
        "server_cpu_utilisation": None if cpu is None else cpu / seconds,
        "gets_per_server_cpu_second": None
        if not cpu
        else (settings["count"] + view["count"]) / cpu,
        "latency_ms_p50": 1000 * latencies[len(latencies) // 2],
        "latency_ms_p99": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
    }


# -- the operating system ----------------------------------------------------------------------


def _split_cpus() -> tuple[int | None, set[int] | None]:
    """One CPU for the server, the others for the load generator (None: no affinity API)."""
    allowed = _affinity()
    if not allowed:
        return None, None
    server = max(allowed)
    others = allowed - {server}
    return server, others or allowed


def _affinity() -> set[int] | None:
    getter = getattr(os, "sched_getaffinity", None)
    return set(getter(0)) if getter else None


def _pin(cpus: set[int] | None) -> None:
    setter = getattr(os, "sched_setaffinity", None)
    if setter and cpus:
        setter(0, cpus)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux ``/proc``; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _rss_bytes() -> int | None:
    """This process's resident set size (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None
