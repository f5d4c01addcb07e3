"""Every worker keeps Procrastinate's job table vacuumed beside the queue.

Every ``VACUUM_EVERY_S`` each worker looks at the table's dead-row count and vacuums it from
``DEAD_ROWS_TO_VACUUM`` on (``calhub.storage.queue.vacuum_job_queue`` says why: the fetch reads
past what vacuum has not yet removed, and autovacuum comes by once a minute at best). With
several workers one vacuums and the others find the count low again, or the table being
vacuumed, and move on. A failure is logged by type and the loop goes on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

import procrastinate
import structlog

from calhub.storage.queue import vacuum_job_queue

VACUUM_EVERY_S: Final = 10.0
DEAD_ROWS_TO_VACUUM: Final = 1_000

log = structlog.get_logger("calhub.queue_vacuum")


async def run_queue_vacuum(
    app: procrastinate.App,
    *,
    every_s: float = VACUUM_EVERY_S,
    dead_rows_at_least: int = DEAD_ROWS_TO_VACUUM,
) -> None:
    """Run until cancelled (module docstring)."""
    while True:
        await asyncio.sleep(every_s)
        started = time.monotonic()
        try:
            dead_rows = await vacuum_job_queue(app, dead_rows_at_least=dead_rows_at_least)
        except Exception as exc:  # the loop must outlive any one failure
            log.warning("queue_vacuum_failed", error=type(exc).__name__)
            continue
        if dead_rows:
            took_ms = round((time.monotonic() - started) * 1000)
            log.debug("queue_vacuumed", dead_rows=dead_rows, took_ms=took_ms)
