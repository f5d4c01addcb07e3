"""``/api/v1/users/{email}/meetings`` and ``/api/v1/devices/{id}/bookings``: meetings lists
(issue 6, "Meetings list"; ARCHITECTURE.md §6 "meetings").

A person's list needs a tenant API key; a device's bookings take the key or that device's own
token (another device's token gets 404, as if the device did not exist). The bookings answer is
the RoomOS ``Bookings List`` result (shared/reference/joinlinks.md §4.2) as a device would get it
from ``xCommand Bookings List``. A bad window is a 422 whose ``errors`` name the query parameter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from calhub.api.callers import CallerDep
from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.events import EventTime
from calhub.domain.ids import DeviceId
from calhub.domain.meetings.model import Meeting
from calhub.services import meetings
from calhub.services.meetings import DeviceNotFound, InvalidWindow, UnknownAddress

router = APIRouter(prefix="/api/v1", tags=["meetings"])


class JoinOut(BaseModel):
    provider: str = Field(description="webex, zoom, teams, google_meet, ..., sip, h323, tel.")
    join_url: str | None
    sip_uri: str | None
    meeting_id: str | None
    passcode: str | None
    dial_string: str | None = Field(description="Only for h323 and tel.")


class SeriesOut(BaseModel):
    series_id: UUID | None = Field(description="The series master; null for a single meeting.")
    recurring: bool
    exception: bool = Field(description="This occurrence was changed from the series.")


class MeetingOut(BaseModel):
    booking_id: str = Field(description="Stable per occurrence; the RoomOS booking Id.")
    event_id: UUID
    calendar_id: UUID = Field(description="The calendar whose copy of the meeting is shown.")
    start: str = Field(description="ISO 8601 in the requested zone; a date when all-day.")
    end: str = Field(description="Exclusive; a date (the day after) when all-day.")
    all_day: bool
    title: str = Field(description="'Private meeting' for a private one, unless you organise it.")
    private: bool
    organizer_name: str
    attendee_count: int = Field(description="People invited, organizer included, rooms not.")
    show_as: str
    join: JoinOut | None
    join_button: bool = Field(description="Join info present, not cancelled, not all-day.")
    series: SeriesOut


class MeetingList(BaseModel):
    start: datetime
    end: datetime
    meetings: list[MeetingOut]


def _time_text(value: EventTime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat() if isinstance(value, datetime) else value.isoformat()


def meeting_out(meeting: Meeting, zone: ZoneInfo) -> MeetingOut:
    join = meeting.join
    return MeetingOut(
        booking_id=meeting.booking_id,
        event_id=meeting.event_id,
        calendar_id=meeting.calendar_id,
        start=_time_text(meeting.start, zone),
        end=_time_text(meeting.end, zone),
        all_day=meeting.is_all_day,
        title=meeting.title,
        private=meeting.is_private,
        organizer_name=meeting.organizer_name,
        attendee_count=meeting.attendee_count,
        show_as=meeting.show_as.value,
        join=None
        if join is None
        else JoinOut(
            provider=join.provider,
            join_url=join.join_url,
            sip_uri=join.sip_uri,
            meeting_id=join.meeting_id,
            passcode=join.passcode,
            dial_string=join.dial_string,
        ),
        join_button=meeting.join_button,
        series=SeriesOut(
            series_id=meeting.series_id,
            recurring=meeting.is_recurring,
            exception=meeting.is_exception,
        ),
    )


@contextlib.contextmanager
def _problems() -> Iterator[None]:
    try:
        yield
    except InvalidWindow as exc:
        raise Problem(
            "validation-failed",
            f"{exc.parameter}: {exc.reason}.",
            errors=[{"location": ["query", exc.parameter], "message": exc.reason}],
        ) from exc
    except UnknownAddress as exc:
        raise Problem(
            "not-found", "No calendar or meeting is known for this address in your tenant."
        ) from exc
    except DeviceNotFound as exc:
        raise Problem("not-found", "No such device in your tenant.") from exc


@router.get(
    "/users/{email}/meetings",
    response_model=MeetingList,
    summary="A person's meetings in a window",
)
async def list_person_meetings(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    email: Annotated[str, Path(description="The person's address, any case.")],
    start: Annotated[
        str | None,
        Query(description="ISO 8601 date or date-time; default today 00:00 in 'tz'."),
    ] = None,
    end: Annotated[
        str | None, Query(description="Exclusive; default 7 days after 'start'; at most 62 days.")
    ] = None,
    tz: Annotated[str, Query(description="IANA zone for dates and local times.")] = "UTC",
) -> MeetingList:
    with _problems():
        found = await meetings.person_meetings(
            runtime.hub, api_key.tenant_id, email, start=start, end=end, tz=tz
        )
    return MeetingList(
        start=found.start,
        end=found.end,
        meetings=[meeting_out(meeting, found.zone) for meeting in found.meetings],
    )


@router.get(
    "/devices/{device_id}/bookings",
    response_model=dict[str, Any],
    summary="A device's bookings, as RoomOS 'Bookings List' returns them",
    description="From now (meetings in progress included) to the end of the device's day plus "
    "8 hours, in its time zone; 'days' reaches further. Each record follows the RoomOS Booking: "
    "Id, MeetingId, Title, Privacy, Organizer, Time (StartTime, StartTimeBuffer = join-prompt "
    "lead time in seconds, EndTime, EndTimeBuffer), MeetingPlatform, DialInfo (Calls, "
    "ConnectMode OBTP|Manual), Webex, BookingStatus.",
)
async def list_device_bookings(
    runtime: RuntimeDep,
    caller: CallerDep,
    device_id: Annotated[UUID, Path(description="The device's id.")],
    days: Annotated[
        int, Query(ge=1, le=7, description="Days from today the list covers (then + 8 h).")
    ] = 1,
) -> dict[str, Any]:
    if not caller.may_read_device(DeviceId(device_id)):
        raise Problem("not-found", "No such device in your tenant.")
    with _problems():
        found = await meetings.device_bookings(
            runtime.hub, caller.tenant_id, DeviceId(device_id), days=days
        )
    return found.result
