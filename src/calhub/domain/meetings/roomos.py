"""Meetings as Cisco RoomOS bookings: the record ``xCommand Bookings List`` returns
(shared/reference/joinlinks.md §4.2), mapped from our join details as §4.7 recommends.

- ``roomos_booking(meeting, start_buffer_s=..., end_buffer_s=0)``: one Booking record, JSON-ready.
- ``bookings_list(bookings, last_updated)``: the list result (``ResultInfo.TotalRows``,
  ``LastUpdated``, ``Booking``).
- ``booking_id``: the stable per-occurrence ``Id`` (from ``calhub.domain.meetings.model``).

How join details become ``MeetingPlatform`` and ``DialInfo.Calls`` (§4.7, §1.10):

| provider | platform | calls |
|---|---|---|
| webex | Webex | SIP to the video address when known, else Spark to the join URL |
| teams | MicrosoftTeams | SIP to the CVI direct dial when known, then WebRTC to the join URL |
| google_meet | GoogleMeet | WebRTC to the join URL |
| zoom | Zoom | SIP ``<id>[.<numeric passcode>]@zoomcrc.com`` (the invite's CRC address if any) |
| anything else | Other | SIP to a video address, else H323 to an H.323 dial string |
| none | None | none |

A booking with calls and a Join button has ``ConnectMode`` ``OBTP``; anything else (no join info,
a link a device cannot open, an all-day event) is ``Manual`` and the room still shows it.
Private meetings carry ``Privacy: Private`` and the title ``Private meeting``; ``Agenda`` is never
sent. The organizer appears by name only (``FirstName`` holds the full name, as Hybrid Calendar
does): a room device is a shared screen, RoomOS shows only the name, and the address is personal
data the device has no use for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from calhub.domain.events import EventTime
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import Meeting, booking_id
from calhub.domain.timezones import UnknownTimeZone, local_midnight, resolve_zone

__all__ = ["booking_id", "bookings_list", "dial_calls", "meeting_platform", "roomos_booking"]

_PLATFORMS = {
    "webex": "Webex",
    "teams": "MicrosoftTeams",
    "google_meet": "GoogleMeet",
    "zoom": "Zoom",
}
_ZOOM_CRC_DOMAIN = "zoomcrc.com"  # RoomOS ``Zoom DefaultDomain`` (§1.10)


def utc_text(value: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``, the RoomOS time format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: EventTime, time_zone: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        zone = resolve_zone(time_zone)
    except UnknownTimeZone:  # read the date in UTC, as the mirror stores it then
        zone = ZoneInfo("UTC")
    return local_midnight(value, zone)


def meeting_platform(join: JoinDetails | None) -> str:
    if join is None:
        return "None"
    return _PLATFORMS.get(join.provider, "Other")


def _address(sip_uri: str) -> str:
    """A SIP URI as RoomOS dials it: without the ``sip:`` scheme."""
    scheme, _, rest = sip_uri.partition(":")
    return rest if scheme.lower() in ("sip", "sips") and rest else sip_uri


def _call(number: str, protocol: str) -> dict[str, str]:
    return {"Number": number, "Protocol": protocol, "CallType": "Video"}


def _zoom_address(join: JoinDetails) -> str | None:
    if join.sip_uri and _address(join.sip_uri).lower().endswith("@" + _ZOOM_CRC_DOMAIN):
        return _address(join.sip_uri)
    if join.meeting_id is None:
        return None
    number = join.meeting_id.replace(" ", "")
    if not number.isdigit():
        return None
    passcode = join.passcode if join.passcode and join.passcode.isdigit() else None
    user = f"{number}.{passcode}" if passcode else number
    return f"{user}@{_ZOOM_CRC_DOMAIN}"


def dial_calls(join: JoinDetails | None) -> list[dict[str, str]]:
    """The ``DialInfo.Calls.Call`` entries a device can place for ``join`` (module table)."""
    if join is None:
        return []
    sip = _address(join.sip_uri) if join.sip_uri else None
    if join.provider == "webex":
        if sip:
            return [_call(sip, "SIP")]
        return [_call(join.join_url, "Spark")] if join.join_url else []
    if join.provider == "teams":
        calls = [_call(sip, "SIP")] if sip else []
        return calls + ([_call(join.join_url, "WebRTC")] if join.join_url else [])
    if join.provider == "google_meet":
        return [_call(join.join_url, "WebRTC")] if join.join_url else []
    if join.provider == "zoom":
        address = _zoom_address(join)
        return [_call(address, "SIP")] if address else []
    if sip:
        return [_call(sip, "SIP")]
    if join.provider == "h323" and join.dial_string:
        return [_call(join.dial_string, "H323")]
    return []


def _webex_block(join: JoinDetails) -> dict[str, Any]:
    block: dict[str, Any] = {"Enabled": "True"}
    if join.meeting_id:
        block["MeetingNumber"] = join.meeting_id.replace(" ", "")
    if join.join_url:
        block["Url"] = join.join_url
    if join.passcode:
        block["Password"] = join.passcode
    return block


def roomos_booking(
    meeting: Meeting, *, start_buffer_s: int, end_buffer_s: int = 0
) -> dict[str, Any]:
    """One RoomOS Booking record for ``meeting`` (§4.2), JSON-ready. ``start_buffer_s`` is how
    long before the start the Join button shows (the lead time, §1.7)."""
    if start_buffer_s < 0 or end_buffer_s < 0:
        raise ValueError("booking buffers are seconds and cannot be negative")
    calls = dial_calls(meeting.join)
    record: dict[str, Any] = {
        "Id": meeting.booking_id,
        "MeetingId": str(meeting.event_id),
        "Title": meeting.title,
        "Privacy": "Private" if meeting.is_private else "Public",
        "Organizer": {"FirstName": meeting.organizer_name, "LastName": "", "Id": ""},
        "Time": {
            "StartTime": utc_text(_instant(meeting.start, meeting.time_zone)),
            "StartTimeBuffer": start_buffer_s,
            "EndTime": utc_text(_instant(meeting.end, meeting.time_zone)),
            "EndTimeBuffer": end_buffer_s,
        },
        "MeetingPlatform": meeting_platform(meeting.join),
        "DialInfo": {
            "Calls": {"Call": calls},
            "ConnectMode": "OBTP" if calls and meeting.join_button else "Manual",
        },
        "BookingStatus": "OK",
    }
    if meeting.join is not None and meeting.join.provider == "webex":
        record["Webex"] = _webex_block(meeting.join)
    return record


def bookings_list(bookings: Sequence[dict[str, Any]], last_updated: datetime) -> dict[str, Any]:
    """The ``Bookings List`` result around ``bookings`` (§4.2, list level)."""
    return {
        "ResultInfo": {"TotalRows": len(bookings)},
        "LastUpdated": utc_text(last_updated),
        "Booking": list(bookings),
    }
