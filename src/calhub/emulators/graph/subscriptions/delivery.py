"""At-least-once delivery of notification POSTs, batched per URL and retried (graph.md §4.4, §4.5).

``Deliverer.queue`` puts one notification item into the outbox of its URL and channel
(change notifications and lifecycle events never share a POST). One asyncio task per busy
outbox, started on first use and ended when the outbox is empty, POSTs every item that is due
as one ``{"value": [...]}`` body, so items queued together (in one request's changes) arrive
together. A receiver that answers non-2xx, fails to connect or takes longer than
``DeliveryPolicy.answer_timeout`` (3 s) gets the items again after a doubling back-off
(``first_retry_delay`` up to ``max_retry_delay``) until ``retry_window`` (4 h) has passed since
they were queued, counted on wall time and on the emulator clock (whichever passes first, so a
test can advance the clock instead of waiting); then they are dropped and ``on_give_up`` hears.

Real waits (back-off, timeouts, delay faults) use the monotonic wall clock; Graph's schedule is
undocumented (graph.md §4.5 UNVERIFIED), so these are the emulator's choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from calhub.emulators.graph.subscriptions.model import DeliveryStats

Channel = Literal["notifications", "lifecycle"]
OutboxKey = tuple[str, Channel]
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(slots=True)
class DeliveryPolicy:
    """The timings of the handshake, delivery and lifecycle ticker; tests shorten them.

    Seconds are wall time; ``retry_window`` also runs on the emulator clock (see module doc).
    """

    validation_timeout: float = 10.0  # the handshake's answer (graph.md §4.3)
    answer_timeout: float = 3.0  # a notification POST's answer; slower counts as failed (§4.5)
    retry_window: timedelta = timedelta(hours=4)  # then undelivered items are dropped (§4.5)
    first_retry_delay: float = 1.0  # doubled after each failure ...
    max_retry_delay: float = 300.0  # ... up to this
    tick_interval: float = 1.0  # how often expiry and reauthorization are checked
    max_batch: int = 100  # items per POST


@dataclass(slots=True, eq=False)
class Pending:
    """One notification item waiting for (re)delivery."""

    subscription_id: str
    channel: Channel
    payload: dict[str, Any]
    stats: DeliveryStats
    queued_wall: float
    queued_at: datetime
    not_before: float
    dedupe_key: str | None = None
    failures: int = 0


@dataclass(slots=True, eq=False)
class _Outbox:
    url: str
    items: list[Pending] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)


class Deliverer:
    """Outboxes per (URL, channel), their worker tasks and the one HTTP client they share."""

    def __init__(
        self,
        policy: DeliveryPolicy,
        now: Callable[[], datetime],
        on_give_up: Callable[[Pending], None],
    ) -> None:
        self.policy = policy
        self.transport: httpx.AsyncBaseTransport | None = None
        self._now = now
        self._on_give_up = on_give_up
        self._outboxes: dict[OutboxKey, _Outbox] = {}
        self._workers: dict[OutboxKey, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._client_transport: httpx.AsyncBaseTransport | None = None
        self._retired: list[httpx.AsyncClient] = []

    def client(self) -> httpx.AsyncClient:
        """The client for every outbound POST (handshakes too), over ``transport`` if set."""
        if self._client is None or self._client_transport is not self.transport:
            if self._client is not None:
                self._retired.append(self._client)  # it may be mid-request: closed by close()
            # A backstop only: each call runs under the policy's own asyncio timeout.
            backstop = httpx.Timeout(60.0)
            self._client = httpx.AsyncClient(transport=self.transport, timeout=backstop)
            self._client_transport = self.transport
        return self._client

    def queue(
        self,
        url: str,
        channel: Channel,
        subscription_id: str,
        payload: dict[str, Any],
        stats: DeliveryStats,
        *,
        delay: float = 0.0,
        dedupe_key: str | None = None,
    ) -> bool:
        """Queue one item; False if an item with the same ``dedupe_key`` is already waiting."""
        outbox = self._outboxes.setdefault((url, channel), _Outbox(url))
        if dedupe_key is not None:
            if dedupe_key in outbox.keys:
                return False
            outbox.keys.add(dedupe_key)
        wall = time.monotonic()
        outbox.items.append(
            Pending(
                subscription_id=subscription_id,
                channel=channel,
                payload=payload,
                stats=stats,
                queued_wall=wall,
                queued_at=self._now(),
                not_before=wall + delay,
                dedupe_key=dedupe_key,
            )
        )
        outbox.wakeup.set()
        self._start_worker((url, channel), outbox)
        return True

    def start_workers(self) -> None:
        """Start a worker for every outbox with items (some may have been queued outside a loop)."""
        for key, outbox in self._outboxes.items():
            self._start_worker(key, outbox)

    def _start_worker(self, key: OutboxKey, outbox: _Outbox) -> None:
        if not outbox.items or key in self._workers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (a change made while seeding): the next tick starts it
        self._workers[key] = loop.create_task(
            self._work(key, outbox), name=f"graph-notify {key[1]} {outbox.url}"
        )

    async def drain(self) -> None:
        """Wait until every queued item is delivered or dropped, retries included."""
        while self._workers:
            await asyncio.wait(set(self._workers.values()))

    def reset(self) -> None:
        """Forget every queued item (a new seed); running workers are cancelled."""
        for task in self._workers.values():
            task.cancel()
        self._workers.clear()
        self._outboxes.clear()

    async def close(self) -> None:
        workers = list(self._workers.values())
        self.reset()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        clients = [*self._retired, *([self._client] if self._client is not None else [])]
        self._client = None
        self._retired.clear()
        for client in clients:
            await client.aclose()

    async def _work(self, key: OutboxKey, outbox: _Outbox) -> None:
        try:
            while outbox.items:
                now = time.monotonic()
                due = [item for item in outbox.items if item.not_before <= now]
                if not due:
                    outbox.wakeup.clear()
                    wait = min(item.not_before for item in outbox.items) - now
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await outbox.wakeup.wait()
                    continue
                batch = due[: self.policy.max_batch]
                sending = {id(item) for item in batch}
                outbox.items = [item for item in outbox.items if id(item) not in sending]
                await self._post(outbox, batch)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
            if self._outboxes.get(key) is outbox and not outbox.items:
                del self._outboxes[key]

    async def _post(self, outbox: _Outbox, batch: list[Pending]) -> None:
        body = json.dumps({"value": [item.payload for item in batch]}).encode()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.policy.answer_timeout):
                response = await self.client().post(outbox.url, content=body, headers=JSON_HEADERS)
            status = response.status_code
        except TimeoutError:
            error = f"no answer within {self.policy.answer_timeout:g} s"
        except Exception as exc:  # any failure of the receiver is a failed attempt, retried
            error = f"{type(exc).__name__}: {exc}"
        delivered = status is not None and 200 <= status < 300
        for item in batch:
            item.stats.last_status = status
            item.stats.last_error = error
            if delivered:
                item.stats.delivered += 1
                self._settle(outbox, item)
            elif self._expired(item):
                item.stats.dropped += 1
                self._settle(outbox, item)
                self._on_give_up(item)
            else:
                item.stats.retried += 1
                item.failures += 1
                backoff = self.policy.first_retry_delay * 2 ** (item.failures - 1)
                item.not_before = time.monotonic() + min(backoff, self.policy.max_retry_delay)
                outbox.items.append(item)

    def _expired(self, item: Pending) -> bool:
        window = self.policy.retry_window
        waited_wall = time.monotonic() - item.queued_wall
        return waited_wall >= window.total_seconds() or self._now() - item.queued_at >= window

    @staticmethod
    def _settle(outbox: _Outbox, item: Pending) -> None:
        if item.dedupe_key is not None:
            outbox.keys.discard(item.dedupe_key)
