"""A per-connection request budget: a token bucket that waits rather than fails.

Providers count requests per app and mailbox (Graph: 10,000 per 10 minutes, graph.md §10.1, and
per tenant for subscriptions, §4.8; Google: per user per minute, google.md §9.3); the bucket
keeps one connection's whole traffic under a configured rate so a storm of syncs slows down
instead of collecting 429s. ``rate`` requests per second refill a bucket of ``burst``;
``acquire`` takes one, sleeping until one is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RequestBudget:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a request budget needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        # One waiter at a time keeps the order fair and the arithmetic simple.
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1

    def _refill(self) -> None:
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
