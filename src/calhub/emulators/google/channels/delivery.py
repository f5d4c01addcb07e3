"""Delivery of watch-channel messages: body-less POSTs with Google's headers (google.md §4.3, §4.4).

``Deliverer.queue`` takes one ``Message`` (a ``sync`` or ``exists`` notification of one channel).
One background task per deliverer, started on the running loop at the first message, sends every
due message; a channel's messages go out one at a time and in order (its ``sync`` before its
``exists`` messages), different channels' concurrently, at most ``max_in_flight`` at once, each
over a kept-alive connection of its own (``calhub.emulators.http1``: Google's senders are not on
calhub's machine, the emulator is, and httpx spent more CPU per message than the intake that
took it). Each message is a ``POST`` with no body (``Content-Length: 0``), the ``APIs-Google``
user agent and the ``X-Goog-*`` headers.

The receiver's answer decides (§4.4): 200, 201, 202, 204 and 102 are success; 500, 502, 503 and
504 are retried after an exponential back-off (``first_retry_delay`` doubling) for at most
``max_attempts`` attempts in all; every other status is a failure, never retried. A receiver that
cannot be reached or does not answer within ``answer_timeout`` is treated like a 503 (Google's
schedule and its handling of unreachable receivers are undocumented: the emulator's choice). A
message whose channel was stopped or has expired by the time it is due is not sent.

``https`` addresses get certificate verification by the ``ssl`` module's default context
(``SSL_CERT_FILE`` names a CA bundle, e.g. the emulator's own ``ca.pem``); real Google refuses
untrusted certificates too.
Waits (back-off, timeouts, delay faults) run on the monotonic wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from calhub.emulators.http1 import HttpFailure, KeepAlivePool

ResourceState = Literal["sync", "exists"]
SUCCESS = frozenset({200, 201, 202, 204, 102})
RETRIED = frozenset({500, 502, 503, 504})
USER_AGENT = "APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)"
CONTENT_TYPE = "application/json; utf-8"  # what Google's own example shows, body or not


@dataclass(slots=True)
class DeliveryPolicy:
    """Delivery timings in wall-clock seconds; tests shorten them."""

    answer_timeout: float = 10.0  # a slower answer counts as a failed attempt
    first_retry_delay: float = 1.0  # doubled after each retried failure
    max_attempts: int = 5  # the first attempt and four retries
    max_in_flight: int = 100  # messages being sent at once, over as many connections


@dataclass(slots=True)
class DeliveryStats:
    """What became of one channel's messages, for ``GET /_emulator/state``."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0  # by the drop_notifications fault
    duplicated: int = 0  # by the duplicate_notifications fault
    last_status: int | None = None
    last_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "dropped": self.dropped,
            "duplicated": self.duplicated,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
        }


@dataclass(slots=True, eq=False)
class Message:
    """One notification to one address; ``lane`` keeps a channel's messages in order."""

    lane: int
    address: str
    headers: dict[str, str]
    stats: DeliveryStats
    not_before: float
    attempts: int = 0


class Deliverer:
    """The queue of messages, the task that sends them and the HTTP client it uses."""

    def __init__(self, policy: DeliveryPolicy, wanted: Callable[[Message], bool]) -> None:
        self.policy = policy
        self._wanted = wanted
        self._pending: list[Message] = []
        self._busy: set[int] = set()  # lanes with a message in flight
        self._sends: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._client: KeepAlivePool | None = None

    def queue(self, message: Message) -> None:
        self._pending.append(message)
        self._wakeup.set()
        self._start()

    async def drain(self) -> None:
        """Wait until every queued message is delivered, failed or given up (retries included)."""
        self._start()
        while self._pending or self._sends:
            if self._sends:
                await asyncio.wait(set(self._sends))
            else:  # only messages waiting for their back-off or delay: the worker wakes for them
                due = min(message.not_before for message in self._pending)
                await asyncio.sleep(max(0.0, due - time.monotonic()) + 0.005)

    def reset(self) -> None:
        """Forget every queued message (a new seed); sends in flight are cancelled."""
        self._pending.clear()
        for task in self._sends:
            task.cancel()

    async def close(self) -> None:
        self.reset()
        tasks = [*self._sends, *([self._worker] if self._worker is not None else [])]
        self._worker = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _start(self) -> None:
        """Start the worker on the running loop; a message queued outside one waits for it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        worker = self._worker
        if worker is not None and not worker.done() and worker.get_loop() is loop:
            return
        if worker is not None and worker.get_loop() is not loop:
            # The old loop is gone (a new test, a new server): so are its tasks and sockets.
            self._sends.clear()
            self._busy.clear()
            self._client = None
        self._wakeup = asyncio.Event()
        self._worker = loop.create_task(self._work(), name="google-channel-delivery")

    async def _work(self) -> None:
        while True:
            self._wakeup.clear()
            next_due = self._dispatch_due()
            wait = None if next_due is None else max(0.0, next_due - time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()

    def _dispatch_due(self) -> float | None:
        """Send each lane's first message if it is due; when the next waiting one is due."""
        now = time.monotonic()
        seen: set[int] = set()
        next_due: float | None = None
        for message in list(self._pending):
            if len(self._busy) >= self.policy.max_in_flight:
                return next_due  # a send's end wakes the worker again
            if message.lane in seen or message.lane in self._busy:
                continue
            seen.add(message.lane)
            if message.not_before > now:
                next_due = (
                    message.not_before if next_due is None else min(next_due, message.not_before)
                )
                continue
            self._pending.remove(message)
            self._busy.add(message.lane)
            task = asyncio.get_running_loop().create_task(self._send(message))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        return next_due

    async def _send(self, message: Message) -> None:
        try:
            if self._wanted(message):
                await self._attempt(message)
        finally:
            self._busy.discard(message.lane)
            self._wakeup.set()

    async def _attempt(self, message: Message) -> None:
        status: int | None = None
        error: str | None = None
        message.attempts += 1
        try:
            async with asyncio.timeout(self.policy.answer_timeout):
                status = await self._http().post(message.address, message.headers)
        except TimeoutError:
            error = f"no answer within {self.policy.answer_timeout:g} s"
        except HttpFailure as exc:  # refused, reset, TLS failure: like a 503, retried
            error = str(exc)
        stats = message.stats
        stats.last_status, stats.last_error = status, error
        if status in SUCCESS:
            stats.delivered += 1
        elif (status is None or status in RETRIED) and message.attempts < self.policy.max_attempts:
            stats.retried += 1
            backoff = self.policy.first_retry_delay * 2 ** (message.attempts - 1)
            message.not_before = time.monotonic() + backoff
            self._pending.insert(0, message)  # still the first of its lane
        else:
            stats.failed += 1

    def _http(self) -> KeepAlivePool:
        if self._client is None:
            self._client = KeepAlivePool()
        return self._client
