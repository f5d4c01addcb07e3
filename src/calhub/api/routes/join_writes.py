"""``/api/v1/join-writes``: what became of the tenant's join-block writes (docs/joinlinks.md,
"Write-back"), so an admin sees the ones that failed and why.

Writes come newest first, a page at a time: ``next`` is the ``after`` of the next page and null
on the last. A write shows ids, state, attempts, the outcome in words and times, never invite
content or addresses. Query values out of range are a 422 ``validation-failed`` problem naming
the parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.service_errors import problems_from_services
from calhub.services.join_write_status import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    JoinWriteState,
    JoinWriteStatus,
    list_join_writes,
)

router = APIRouter(prefix="/api/v1", tags=["join writes"])


class JoinWriteOut(BaseModel):
    id: int
    calendar_id: UUID
    event_id: UUID = Field(description="calhub's id of the invite.")
    state: JoinWriteState = Field(
        description="pending: due at not_before; done: written, removed or nothing to do; "
        "failed: given up."
    )
    attempts: int = Field(description="Times a worker tried it.")
    outcome: str | None = Field(
        description="What happened, in words: what was written, or why it is retried or failed.",
        examples=[
            "@webex asks for webex_personal_room meetings: the backend is not configured in "
            "the tenant's join settings"
        ],
    )
    created_at: datetime
    updated_at: datetime
    not_before: datetime = Field(description="A pending write is not tried before this.")


class JoinWriteList(BaseModel):
    writes: list[JoinWriteOut] = Field(description="Newest first.")
    next: int | None = Field(
        description="Pass as 'after' for the next page; null on the last page."
    )


def _out(write: JoinWriteStatus) -> JoinWriteOut:
    return JoinWriteOut(
        id=write.id,
        calendar_id=write.calendar_id,
        event_id=write.event_id,
        state=write.state,
        attempts=write.attempts,
        outcome=write.outcome,
        created_at=write.created_at,
        updated_at=write.updated_at,
        not_before=write.not_before,
    )


@router.get(
    "/join-writes",
    response_model=JoinWriteList,
    summary="The tenant's join-block writes, newest first",
    responses={
        401: {"description": "No or a wrong API key (problem+json)."},
        422: {"description": "A query parameter has a wrong value; 'errors' names it."},
    },
)
async def read_join_writes(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    state: Annotated[JoinWriteState | None, Query(description="Only writes in this state.")] = None,
    after: Annotated[
        int | None,
        Query(ge=1, description="The 'next' of the previous page."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Writes per page.")
    ] = DEFAULT_PAGE_SIZE,
) -> JoinWriteList:
    with problems_from_services():
        page = await list_join_writes(
            runtime.uow, api_key.tenant_id, state=state, after=after, limit=limit
        )
    return JoinWriteList(writes=[_out(write) for write in page.writes], next=page.next_after)
