"""The dispatcher: a loop beside Procrastinate in every worker process that does work due at a
moment to the second: firing join prompts (issue 6, "OBTP"; docs/obtp.md, "Firing") and
flipping out-of-office presence when a scheduled window starts or ends (docs/presence.md).

Each round runs every tick function (``Tick``: takes the ``HubContext``, returns how much it
did). While any did something it queues a webhook delivery run (what they did is in the outbox)
and goes round again at once; otherwise it asks each wake-up
function (``Wakeup``) when its next work is due and sleeps until the earliest of those, or at
most ``tick_s`` (``CALHUB_DISPATCH_TICK_S``, 0.25 s by default). Every worker runs one; the tick
functions claim their rows with ``SKIP LOCKED``, so any number share the work without
double-sending. A database error is logged (by type only: messages may carry parameters),
waited out with backoff (0.5 s doubling to 30 s) and the loop goes on; cancelling the task stops
it cleanly (an open transaction rolls back).

Why not Procrastinate's own scheduling: its workers look for scheduled jobs every 5 seconds by
default (``fetch_job_polling_interval``) and its periodic tasks have cron's minute resolution,
while the issue asks for join prompts fired within a second of their time (p99 ≤ 1 s). Deferring
a job at fire time would add a queue round trip per prompt on top. The prompt table is its own
schedule, indexed by fire time (``ix_join_prompts_due``), so the dispatcher needs one indexed
query per wake-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Final

import structlog

from calhub.services import obtp, presence
from calhub.services.context import HubContext
from calhub.services.jobs import defer_webhook_delivery

Tick = Callable[[HubContext], Awaitable[int]]
Wakeup = Callable[[HubContext], Awaitable[datetime | None]]

DISPATCH_TICKS: tuple[Tick, ...] = (obtp.fire_due_prompts, presence.flip_due_presence)
DISPATCH_WAKEUPS: tuple[Wakeup, ...] = (obtp.next_prompt_due,)
FIRST_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0

log = structlog.get_logger("calhub.dispatcher")


async def run_dispatcher(
    hub: HubContext,
    *,
    tick_s: float,
    ticks: Sequence[Tick] = DISPATCH_TICKS,
    wakeups: Sequence[Wakeup] = DISPATCH_WAKEUPS,
) -> None:
    """Run until cancelled (module docstring)."""
    failures = 0
    while True:
        try:
            done = 0
            for tick in ticks:
                done += await tick(hub)
            if done:  # what fired is in the outbox: webhook subscribers hear of it now
                await defer_webhook_delivery(hub.jobs)
            delay = 0.0 if done else await _sleep_s(hub, tick_s, wakeups)
        except Exception as exc:  # the loop must outlive any one failure
            failures += 1
            delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** min(failures - 1, 16))
            log.warning("dispatcher_failed", error=type(exc).__name__, retry_in_s=delay)
        else:
            failures = 0
        await asyncio.sleep(delay)


async def _sleep_s(hub: HubContext, tick_s: float, wakeups: Sequence[Wakeup]) -> float:
    """How long to sleep: until the earliest next due time, at most ``tick_s``."""
    delay = tick_s
    for wakeup in wakeups:
        due = await wakeup(hub)
        if due is not None:
            delay = min(delay, max(0.0, (due - hub.clock.now()).total_seconds()))
    return delay
