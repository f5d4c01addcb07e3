"""Queue pings: an operator's end-to-end check that the job queue and the workers run.

``request_ping`` records the request and defers ``calhub.ping``; a worker answers it by recording
the answer (idempotently: a retried job answers once); ``ping_status`` tells which happened. The
same path every background job takes, API -> queue -> worker -> database, proven in one call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from calhub.domain.clock import Clock
from calhub.domain.ids import TenantId, new_id
from calhub.services.jobs import PING_TASK, JobQueue
from calhub.storage.unit_of_work import UnitOfWorkFactory

REQUESTED = "ping.requested"
ANSWERED = "ping.answered"


@dataclass(frozen=True, slots=True)
class PingStatus:
    id: uuid.UUID
    requested_at: datetime
    answered_at: datetime | None
    note: str

    @property
    def state(self) -> Literal["queued", "answered"]:
        return "answered" if self.answered_at is not None else "queued"


async def request_ping(
    uow_factory: UnitOfWorkFactory, queue: JobQueue, clock: Clock, tenant_id: TenantId, note: str
) -> PingStatus:
    now = clock.now()
    ping_id = new_id(now)
    payload = {"ping_id": str(ping_id), "at": now.isoformat(), "note": note}
    async with uow_factory() as uow:
        await uow.task_effects.add(tenant_id, REQUESTED, payload)
        await uow.commit()
    await queue.defer(PING_TASK, tenant_id=str(tenant_id), ping_id=str(ping_id))
    return PingStatus(id=ping_id, requested_at=now, answered_at=None, note=note)


async def answer_ping(
    uow_factory: UnitOfWorkFactory, clock: Clock, tenant_id: str, ping_id: str
) -> None:
    tenant = TenantId(uuid.UUID(tenant_id))
    async with uow_factory() as uow:
        answered = await uow.task_effects.find(tenant, ANSWERED, "ping_id", ping_id)
        if answered:
            return
        payload = {"ping_id": ping_id, "at": clock.now().isoformat()}
        await uow.task_effects.add(tenant, ANSWERED, payload)
        await uow.commit()


async def ping_status(
    uow_factory: UnitOfWorkFactory, tenant_id: TenantId, ping_id: uuid.UUID
) -> PingStatus | None:
    async with uow_factory() as uow:
        requests = await uow.task_effects.find(tenant_id, REQUESTED, "ping_id", str(ping_id))
        if not requests:
            return None
        answers = await uow.task_effects.find(tenant_id, ANSWERED, "ping_id", str(ping_id))
    request = requests[0].payload
    return PingStatus(
        id=ping_id,
        requested_at=datetime.fromisoformat(str(request["at"])),
        answered_at=datetime.fromisoformat(str(answers[0].payload["at"])) if answers else None,
        note=str(request.get("note", "")),
    )
