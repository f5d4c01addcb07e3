"""What every provider's HTTP client shares (``msgraph.client``, ``google.client``): JSON
answers read as objects, retries with full-jitter back-off, and a concurrency limit per key
(a mailbox, an impersonated user).
"""

from __future__ import annotations

import asyncio
import json
import random as random_module
from collections.abc import Awaitable, Callable
from typing import Any

from calhub.providers.base import InvalidResponse, ProviderError, RateLimited


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """A response body that must be a JSON object, or ``InvalidResponse``."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidResponse(f"{what}: the answer is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidResponse(f"{what}: the answer is not a JSON object")
    return value


class Retries:
    """``max_attempts`` tries; between them the provider's wait, else full jitter:
    ``random() * min(cap, base * 2**(attempt - 1))``. ``sleep`` and ``random`` are injectable."""

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        base: float = 0.5,
        cap: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._base = base
        self._cap = cap
        self._random = random

    def step(self, attempt: int) -> float:
        """The capped exponential step after ``attempt`` (the longest back-off)."""
        step: float = min(self._cap, self._base * 2 ** (attempt - 1))
        return step

    def backoff(self, attempt: int) -> float:
        """Full jitter: anywhere between 0 and the step."""
        return self._random() * self.step(attempt)

    async def wait_or_raise(
        self,
        attempt: int,
        failure: ProviderError,
        *,
        cause: BaseException | None = None,
        wait: float | None = None,
    ) -> None:
        """Raise ``failure`` when ``attempt`` was the last; else wait ``wait`` (the provider's
        ``Retry-After``) or the back-off."""
        if attempt >= self.max_attempts:
            if cause is None or isinstance(failure, RateLimited):
                raise failure
            raise failure from cause
        await self.sleep(wait if wait is not None else self.backoff(attempt))


class LimitPerKey:
    """At most ``limit`` requests in flight per lower-cased key (one semaphore per key)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def __call__(self, key: str) -> asyncio.Semaphore:
        folded = key.lower()
        semaphore = self._semaphores.get(folded)
        if semaphore is None:
            semaphore = self._semaphores[folded] = asyncio.Semaphore(self._limit)
        return semaphore
