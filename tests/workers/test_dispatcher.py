"""The dispatcher loop: it runs its ticks again at once while they find work, sleeps until the
next due time (at most one tick), outlives a failing tick, and stops when cancelled."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta
from typing import cast

import structlog
import structlog.testing

from calhub.domain.clock import SystemClock
from calhub.services.context import HubContext
from calhub.workers.dispatcher import run_dispatcher
from tests.hub_fixtures import RecordingJobQueue


class Hub:
    clock = SystemClock()
    jobs = RecordingJobQueue()


HUB = cast(HubContext, Hub())


async def test_it_goes_again_while_there_is_work_and_wakes_for_the_next_due_time() -> None:
    calls: list[float] = []
    work = [3, 2, 0]
    six_rounds = asyncio.Event()

    async def tick(hub: HubContext) -> int:
        calls.append(time.monotonic())
        if len(calls) == 6:
            six_rounds.set()
        return work.pop(0) if work else 0

    async def wakeup(hub: HubContext) -> datetime | None:
        return hub.clock.now() + timedelta(milliseconds=50)

    task = asyncio.create_task(run_dispatcher(HUB, tick_s=10, ticks=[tick], wakeups=[wakeup]))
    # Three idle rounds take 10 s each (one tick) if it does not wake for the due time.
    await asyncio.wait_for(six_rounds.wait(), timeout=5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert calls[2] - calls[0] < 0.05  # two rounds with work: no sleep between them
    # What the rounds with work did is in the outbox: one webhook delivery run is queued.
    assert [name for name, _ in Hub.jobs.take()] == ["calhub.deliver_webhooks"]
    idle_gaps = [later - earlier for earlier, later in itertools.pairwise(calls[2:6])]
    assert all(gap >= 0.045 for gap in idle_gaps), idle_gaps  # then sleeps until the due time


async def test_a_failing_tick_is_logged_waited_out_and_the_loop_goes_on() -> None:
    outcomes: list[int | Exception] = [RuntimeError("database went away"), 1, 0]
    done = asyncio.Event()

    async def tick(hub: HubContext) -> int:
        outcome = outcomes.pop(0) if outcomes else 0
        if isinstance(outcome, Exception):
            raise outcome
        if not outcomes:
            done.set()
        return outcome

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(run_dispatcher(HUB, tick_s=0.01, ticks=[tick], wakeups=[]))
        await asyncio.wait_for(done.wait(), timeout=5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert outcomes == []
    # The error's type only: a database error's text may carry statement parameters.
    assert logs == [
        {
            "event": "dispatcher_failed",
            "error": "RuntimeError",
            "retry_in_s": 0.5,
            "log_level": "warning",
        }
    ]
