"""The job-queue port services defer background work through.

Task names are the contract between the deferring side (API, intake, services) and the workers;
they live here so both sides spell them one way.
"""

from __future__ import annotations

from typing import Any, Protocol

PING_TASK = "calhub.ping"


class JobQueue(Protocol):
    async def defer(
        self,
        task_name: str,
        *,
        lock: str | None = None,
        queueing_lock: str | None = None,
        **arguments: Any,
    ) -> int | None:
        """Queue ``task_name``; returns the job id, or None when an equal job is already queued."""
        ...

    async def is_reachable(self) -> bool: ...
