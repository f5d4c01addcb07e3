"""What an event stream sends next: a tenant's (or one device's) messages after a cursor
(docs/feeds.md, "Stream").

Outbox ids are handed out when a transaction inserts its events, not when it commits, so two
transactions can commit out of id order: the stream may have sent event 11 when event 10
becomes visible. ``FeedReader`` therefore keeps re-reading the ids above its *floor*, which
trails the newest id sent by ``SETTLE_S`` seconds, and sends only those it has not sent yet.
An event whose transaction commits within ``SETTLE_S`` of a later-numbered one still reaches
the stream (after it, out of id order); ids alone are read first, from the index, so a re-read
of events already sent costs little.

    reader = FeedReader(uow_factory, tenant_id, device_id=None, after=0)
    messages = await reader.read()      # at most BATCH, oldest first

A stream started without a cursor begins after the newest event (``start_after``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from calhub.domain.ids import DeviceId, TenantId
from calhub.services.feed_messages import FeedMessage, render_messages
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory

SETTLE_S: Final = 15.0
BATCH: Final = 100
_ID_PAGE: Final = 1000


async def start_after(
    uow_factory: UnitOfWorkFactory, tenant_id: TenantId, device_id: DeviceId | None
) -> int:
    """The cursor of a stream that wants only what happens from now on."""
    async with uow_factory.reading() as uow:
        return await uow.outbox.last_id(tenant_id, device_id=device_id)


class FeedReader:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        tenant_id: TenantId,
        *,
        device_id: DeviceId | None,
        after: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow_factory
        self._tenant_id = tenant_id
        self._device_id = device_id
        self._floor = after
        self._monotonic = monotonic
        self._recent: dict[int, float] = {}  # ids above the floor already sent, and when

    def _settle(self, now: float) -> None:
        settled = [i for i, sent in self._recent.items() if sent <= now - SETTLE_S]
        for event_id in settled:
            del self._recent[event_id]
        self._floor = max([self._floor, *settled])

    async def _unsent_ids(self, uow: UnitOfWork) -> list[int]:
        unsent: list[int] = []
        after = self._floor
        while len(unsent) < BATCH:
            ids = await uow.outbox.ids_after(
                self._tenant_id, after, device_id=self._device_id, limit=_ID_PAGE
            )
            unsent.extend(i for i in ids if i not in self._recent)
            if len(ids) < _ID_PAGE:
                break
            after = ids[-1]
        return unsent[:BATCH]

    async def read(self) -> list[FeedMessage]:
        """Messages not sent yet, oldest first, at most ``BATCH``."""
        now = self._monotonic()
        self._settle(now)
        async with self._uow.reading() as uow:
            unsent = await self._unsent_ids(uow)
            if not unsent:
                return []
            events = await uow.outbox.get_many(self._tenant_id, unsent)
            messages = await render_messages(uow, self._tenant_id, events)
        for message in messages:
            self._recent[message.event_id] = now
        return messages
