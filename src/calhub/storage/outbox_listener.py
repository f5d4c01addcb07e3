"""Wake a process's event streams when their tenant's outbox events commit
(docs/feeds.md, "Stream").

Each API process holds one PostgreSQL connection that ``LISTEN``s on ``calhub_outbox``; every
``add`` to the outbox notifies it with the tenant id at commit. The listener sets a wake-up for
each stream of that tenant in this process, so a new event reaches a connected stream within
milliseconds of its commit, whichever process or worker committed it, and no stream polls.

Streams still re-read every ``FALLBACK_S`` seconds (``wait`` times out), which covers
notifications lost while the listening connection was down; the listener reconnects with
backoff and wakes every stream after reconnecting. The connection is opened on the first
subscription, so processes that serve no stream hold none.

    async with listener.subscribe(tenant_id) as wakeup:
        await wakeup.wait(at_most_s=5.0)   # True when woken, False on timeout
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Final

import psycopg
import structlog

from calhub.domain.ids import TenantId
from calhub.storage.database import libpq_url
from calhub.storage.repositories.outbox import OUTBOX_CHANNEL

RECONNECT_MIN_S: Final = 0.5
RECONNECT_MAX_S: Final = 30.0

log = structlog.get_logger("calhub.stream")


class Wakeup:
    """One stream's wake-up flag; set by the listener, cleared by ``wait``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, at_most_s: float) -> bool:
        """Until set (True) or ``at_most_s`` seconds have passed (False)."""
        try:
            async with asyncio.timeout(at_most_s):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class OutboxListener:
    def __init__(self, database_url: str) -> None:
        self._url = libpq_url(database_url)
        self._waiting: defaultdict[TenantId, set[Wakeup]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while LISTEN is in place
        self.stopping = False  # the process is shutting down: streams end their responses

    async def __aenter__(self) -> OutboxListener:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def stop_streams(self) -> None:
        """End every open stream now (the server is shutting down): its client reconnects,
        to another process, and resumes with ``Last-Event-ID``; without this, shutdown would
        wait out its grace period for responses that never end."""
        self.stopping = True
        self._wake(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: TenantId) -> AsyncIterator[Wakeup]:
        """A wake-up set whenever ``tenant_id``'s outbox events commit, while in the block."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="calhub outbox listener")
        wakeup = Wakeup()
        self._waiting[tenant_id].add(wakeup)
        try:
            yield wakeup
        finally:
            waiting = self._waiting[tenant_id]
            waiting.discard(wakeup)
            if not waiting:
                del self._waiting[tenant_id]

    def _wake(self, tenant_id: TenantId | None) -> None:
        groups = self._waiting.values() if tenant_id is None else [self._waiting.get(tenant_id, ())]
        for group in groups:
            for wakeup in group:
                wakeup.set()

    async def _listen(self) -> None:
        pause = RECONNECT_MIN_S
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    self.connected.set()
                    pause = RECONNECT_MIN_S
                    self._wake(None)  # anything committed while not listening
                    async for notify in conn.notifies():
                        self._wake(_tenant(notify.payload))
            except (psycopg.Error, OSError) as exc:
                log.warning("outbox_listener_lost", error_type=type(exc).__name__, retry_in_s=pause)
            self.connected.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_S)


def _tenant(payload: str) -> TenantId | None:
    """The tenant a notification names; None (wake everyone) for one that names none."""
    try:
        return TenantId(uuid.UUID(payload))
    except ValueError:
        return None
