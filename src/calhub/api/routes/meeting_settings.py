"""``/api/v1/meeting-settings``: how long before a meeting starts its join prompt fires, for the
tenant and per room (issue 6, "OBTP"; docs/obtp.md, "Lead time").

``GET`` answers the whole document, defaults included; ``PUT`` replaces it (fields left out take
their defaults), reconciles the tenant's join prompts and answers what is stored. The models
document the JSON shape of ``calhub.domain.meetings.settings_json`` and check JSON types; the
values (minutes from 0 to 60, room ids naming the tenant's room calendars) are checked by the
service, whose refusal names the field: a 422 ``validation-failed`` problem with the field's
location in ``errors``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.meetings.settings import MeetingSettings
from calhub.domain.meetings.settings_json import MAX_ROOMS, settings_to_json
from calhub.services.meeting_settings import (
    InvalidMeetingSettings,
    UnknownTenant,
    get_meeting_settings,
    set_meeting_settings,
)

router = APIRouter(prefix="/api/v1", tags=["meeting settings"])

_STRICT = ConfigDict(extra="forbid", strict=True)


class RoomLeadDocument(BaseModel):
    model_config = _STRICT

    lead_minutes: int = Field(
        ge=0, le=60, description="This room's join prompts fire this many minutes before start."
    )


class MeetingSettingsDocument(BaseModel):
    """A tenant's meeting settings. In a PUT, fields left out take the defaults shown."""

    model_config = _STRICT

    lead_minutes: int = Field(
        default=5,
        ge=0,
        le=60,
        description="Join prompts fire this many minutes before a meeting starts (0 to 60).",
    )
    rooms: dict[str, RoomLeadDocument] = Field(
        default_factory=dict,
        max_length=MAX_ROOMS,
        description="Room calendars (calhub calendar ids, UUIDs) with a lead time of their own.",
        examples=[{"0190c6d2-7a3e-7b1c-8d2f-3e4a5b6c7d8e": {"lead_minutes": 2}}],
    )


def _document(settings: MeetingSettings) -> MeetingSettingsDocument:
    return MeetingSettingsDocument.model_validate(settings_to_json(settings), strict=False)


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or a wrong API key (problem+json)."},
    422: {
        "description": "A field has the wrong type or value, or a room id names no room calendar "
        "of the tenant; 'detail' and 'errors' name it (problem+json). Nothing is stored."
    },
}


@router.get(
    "/meeting-settings",
    response_model=MeetingSettingsDocument,
    summary="The tenant's join-prompt lead times (defaults if never set)",
    responses={401: _PROBLEMS[401]},
)
async def read_meeting_settings(runtime: RuntimeDep, api_key: ApiKeyDep) -> MeetingSettingsDocument:
    try:
        return _document(await get_meeting_settings(runtime.uow, api_key.tenant_id))
    except UnknownTenant as exc:
        raise Problem("not-found", "The key's tenant no longer exists.") from exc


@router.put(
    "/meeting-settings",
    response_model=MeetingSettingsDocument,
    summary="Replace the tenant's join-prompt lead times; answers what is stored",
    responses=_PROBLEMS,
)
async def replace_meeting_settings(
    document: MeetingSettingsDocument, runtime: RuntimeDep, api_key: ApiKeyDep
) -> MeetingSettingsDocument:
    try:
        settings = await set_meeting_settings(
            runtime.uow,
            runtime.clock,
            api_key.tenant_id,
            document.model_dump(mode="json", exclude_unset=True),
        )
    except InvalidMeetingSettings as exc:
        # The shape of request-validation errors, so a client reads every 422 the same way.
        location = ["body", *(str(part) for part in exc.location)]
        raise Problem(
            "validation-failed", str(exc), errors=[{"location": location, "message": exc.reason}]
        ) from exc
    except UnknownTenant as exc:
        raise Problem("not-found", "The key's tenant no longer exists.") from exc
    return _document(settings)
