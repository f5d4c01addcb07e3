"""When subscriptions expire and when they ask for reauthorization (graph.md §4.6, §4.7).

``LifecycleSchedule`` keeps each live subscription's expiry and reauthorization time on the
emulator clock in two heaps, so a tick costs only the entries that fall due. A subscription
gets ``reauthorizationRequired`` once per expiry, when less than 15 minutes or a tenth of its
lifetime (whichever is shorter) remains; renewing starts a new lifetime. Expired subscriptions
stop delivering and disappear (Graph deletes them).

``tick_while_alive`` is the background ticker: it calls the store's ``tick`` every
``tick_interval`` seconds of wall time, holding the store only weakly so an emulator that is
dropped without its lifespan ending (an in-process test) does not live on in its ticker.
"""

from __future__ import annotations

import asyncio
import heapq
import weakref
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

from calhub.emulators.graph.subscriptions.delivery import DeliveryPolicy
from calhub.emulators.graph.subscriptions.model import Subscription

REAUTHORIZATION_LEAD = timedelta(minutes=15)

_Entry = tuple[datetime, str, datetime]  # (when, subscription id, the expiry it was set for)


def reauthorization_time(subscription: Subscription) -> datetime:
    lifetime = subscription.expiration - subscription.renewed_at
    return subscription.expiration - min(REAUTHORIZATION_LEAD, lifetime / 10)


class LifecycleSchedule:
    """Expiries and reauthorization times, soonest first; stale entries are skipped lazily."""

    def __init__(self) -> None:
        self._expiries: list[_Entry] = []
        self._reauthorizations: list[_Entry] = []

    def add(self, subscription: Subscription) -> None:
        """Schedule ``subscription``'s current lifetime (on creation and on every renewal)."""
        expiration = subscription.expiration
        heapq.heappush(self._expiries, (expiration, subscription.id, expiration))
        heapq.heappush(
            self._reauthorizations,
            (reauthorization_time(subscription), subscription.id, expiration),
        )

    def expired(
        self, now: datetime, subscriptions: Mapping[str, Subscription]
    ) -> list[Subscription]:
        return _pop_due(self._expiries, now, subscriptions)

    def needing_reauthorization(
        self, now: datetime, subscriptions: Mapping[str, Subscription]
    ) -> list[Subscription]:
        return _pop_due(self._reauthorizations, now, subscriptions)

    def clear(self) -> None:
        self._expiries.clear()
        self._reauthorizations.clear()


def _pop_due(
    heap: list[_Entry], now: datetime, subscriptions: Mapping[str, Subscription]
) -> list[Subscription]:
    due = []
    while heap and heap[0][0] <= now:
        _, subscription_id, expiration = heapq.heappop(heap)
        subscription = subscriptions.get(subscription_id)
        if subscription is not None and subscription.expiration == expiration:
            due.append(subscription)
    return due


class Ticking(Protocol):
    policy: DeliveryPolicy

    async def tick(self) -> bool:
        """Do what is due; False when there is nothing left to watch."""
        ...


async def tick_while_alive(store_ref: weakref.ref[Ticking]) -> None:
    """Tick the store until it is gone or says there is nothing left to watch."""
    while (store := store_ref()) is not None:
        interval = store.policy.tick_interval
        del store
        await asyncio.sleep(interval)
        store = store_ref()
        if store is None or not await store.tick():
            return
        del store
