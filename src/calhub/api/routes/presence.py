"""``GET /api/v1/users/{email}/presence``: whether a user is out of office, from their mailbox's
automatic replies (docs/presence.md; ARCHITECTURE.md §6 "presence").

The answer is the state calhub last read (polled every ``CALHUB_PRESENCE_POLL_MINUTES``), with
a scheduled window's start or end applied the moment it comes; ``?refresh=true`` reads the
mailbox first (synchronously, within 10 s). An address the tenant has no calendar for is a 404
``not-found`` problem; a room's address is a 404 too, saying rooms have no out-of-office.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.presence import ReplyStatus, window_problem
from calhub.services.presence import (
    Presence,
    PresenceNotFound,
    RoomHasNoPresence,
    presence_for,
    reply_status,
)

router = APIRouter(prefix="/api/v1", tags=["presence"])


class ScheduledWindow(BaseModel):
    start: datetime | None
    end: datetime | None
    problem: str | None = Field(
        description="Why the window never applies (e.g. it ends before it starts), or null."
    )


class PresenceOut(BaseModel):
    email: str
    out_of_office: bool
    reply_status: str = Field(
        description="The mailbox's automatic replies: disabled, alwaysEnabled or scheduled; "
        "unknown until calhub could read them."
    )
    scheduled: ScheduledWindow | None = Field(
        description="The window of scheduled automatic replies; null unless scheduled."
    )
    until: datetime | None = Field(
        description="When out_of_office flips next on its own (a window's start or end), or null."
    )
    checked_at: datetime = Field(description="When calhub last asked the provider.")
    changed_at: datetime = Field(
        description="When out_of_office last changed (or was first known)."
    )
    last_error: str | None = Field(
        description="Why the last read failed, in words; the state shown is the last one known."
    )


def presence_out(found: Presence) -> PresenceOut:
    state = found.state
    replies = state.replies
    window = None
    if replies is not None and replies.status is ReplyStatus.SCHEDULED:
        window = ScheduledWindow(
            start=replies.start, end=replies.end, problem=window_problem(replies)
        )
    return PresenceOut(
        email=found.email,
        out_of_office=state.out_of_office,
        reply_status=reply_status(state),
        scheduled=window,
        until=state.next_flip_at,
        checked_at=state.checked_at,
        changed_at=state.changed_at,
        last_error=state.last_error,
    )


@router.get(
    "/users/{email}/presence",
    response_model=PresenceOut,
    summary="A user's out-of-office presence",
    responses={
        401: {"description": "No or a wrong API key (problem+json)."},
        404: {"description": "No user with that address in your tenant, or it is a room's."},
    },
)
async def read_presence(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    email: Annotated[str, Path(description="The user's e-mail address (any case).")],
    refresh: Annotated[
        bool, Query(description="Read the mailbox now (within 10 s) before answering.")
    ] = False,
) -> PresenceOut:
    try:
        found = await presence_for(runtime.hub, api_key.tenant_id, email, refresh=refresh)
    except PresenceNotFound as exc:
        raise Problem("not-found", "No user with that address in your tenant.") from exc
    except RoomHasNoPresence as exc:
        raise Problem(
            "not-found",
            "That address is a room's; rooms have no automatic replies, so no presence.",
        ) from exc
    return presence_out(found)
