"""``/api/v1/pings``: check the queue and the workers end to end."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.services.pings import PingStatus, ping_status, request_ping

router = APIRouter(prefix="/api/v1", tags=["operations"])


class PingIn(BaseModel):
    note: str = Field(default="", max_length=200, description="Free text echoed back.")


class PingOut(BaseModel):
    id: UUID
    state: Literal["queued", "answered"]
    requested_at: datetime
    answered_at: datetime | None
    note: str


def _out(ping: PingStatus) -> PingOut:
    return PingOut(
        id=ping.id,
        state=ping.state,
        requested_at=ping.requested_at,
        answered_at=ping.answered_at,
        note=ping.note,
    )


@router.post(
    "/pings",
    response_model=PingOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a ping job; a worker answers it",
)
async def create_ping(
    runtime: RuntimeDep, api_key: ApiKeyDep, body: PingIn | None = None
) -> PingOut:
    note = body.note if body else ""
    ping = await request_ping(runtime.uow, runtime.jobs, runtime.clock, api_key.tenant_id, note)
    return _out(ping)


@router.get("/pings/{ping_id}", response_model=PingOut, summary="Whether a worker answered")
async def read_ping(runtime: RuntimeDep, api_key: ApiKeyDep, ping_id: UUID) -> PingOut:
    ping = await ping_status(runtime.uow, api_key.tenant_id, ping_id)
    if ping is None:
        raise Problem("not-found", f"No ping {ping_id} in your tenant.")
    return _out(ping)
