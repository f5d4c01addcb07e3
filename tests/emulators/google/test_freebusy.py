"""freebusy.query: busy intervals, limits and per-calendar errors (google.md §5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulators.google.seeds import ADA, BEN, FRANK

FREEBUSY = "/calendar/v3/freeBusy"
EVENTS = "/calendar/v3/calendars/primary/events"
DAY = {"timeMin": "2026-03-03T00:00:00Z", "timeMax": "2026-03-04T00:00:00Z"}


def timed(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


async def test_busy_is_merged_clipped_and_skips_free_time(google: httpx.AsyncClient) -> None:
    await google.post(EVENTS, json=timed("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z"))
    await google.post(EVENTS, json=timed("2026-03-03T09:30:00Z", "2026-03-03T10:30:00Z"))
    await google.post(
        EVENTS,
        json=timed("2026-03-03T12:00:00Z", "2026-03-03T13:00:00Z", transparency="transparent"),
    )
    await google.post(EVENTS, json=timed("2026-03-02T23:00:00Z", "2026-03-03T01:00:00Z"))
    gone = (
        await google.post(EVENTS, json=timed("2026-03-03T15:00:00Z", "2026-03-03T16:00:00Z"))
    ).json()
    await google.delete(f"{EVENTS}/{gone['id']}")
    body = {**DAY, "items": [{"id": ADA}]}
    response = await google.post(FREEBUSY, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["kind"] == "calendar#freeBusy"
    assert answer["calendars"][ADA]["busy"] == [
        {"start": "2026-03-03T00:00:00Z", "end": "2026-03-03T01:00:00Z"},
        {"start": "2026-03-03T09:00:00Z", "end": "2026-03-03T10:30:00Z"},
    ]
    berlin = (await google.post(FREEBUSY, json={**body, "timeZone": "Europe/Berlin"})).json()
    assert berlin["calendars"][ADA]["busy"][1]["start"] == "2026-03-03T10:00:00+01:00"


async def test_declined_invitations_are_not_busy(google: httpx.AsyncClient) -> None:
    event = (
        await google.post(
            EVENTS,
            json=timed("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z", attendees=[{"email": BEN}]),
        )
    ).json()
    body = {**DAY, "items": [{"id": BEN}]}
    assert (await google.post(FREEBUSY, json=body)).json()["calendars"][BEN]["busy"] != []
    await google.patch(
        f"{EVENTS}/{event['id']}",
        json={"attendees": [{"email": BEN, "responseStatus": "declined"}]},
    )
    assert (await google.post(FREEBUSY, json=body)).json()["calendars"][BEN]["busy"] == []


async def test_recurring_events_are_expanded(google: httpx.AsyncClient) -> None:
    weekly = timed(
        "2026-03-03T09:00:00", "2026-03-03T10:00:00", recurrence=["RRULE:FREQ=DAILY;COUNT=3"]
    )
    weekly["start"]["timeZone"] = weekly["end"]["timeZone"] = "Europe/London"
    await google.post(EVENTS, json=weekly)
    body = {
        "timeMin": "2026-03-01T00:00:00Z",
        "timeMax": "2026-03-10T00:00:00Z",
        "items": [{"id": ADA}],
    }
    busy = (await google.post(FREEBUSY, json=body)).json()["calendars"][ADA]["busy"]
    assert [b["start"] for b in busy] == [
        "2026-03-03T09:00:00Z",
        "2026-03-04T09:00:00Z",
        "2026-03-05T09:00:00Z",
    ]


async def test_unknown_and_foreign_calendars_are_errors_inside_200(
    google: httpx.AsyncClient,
) -> None:
    body = {**DAY, "items": [{"id": ADA}, {"id": FRANK}, {"id": "ghost@northwind.test"}]}
    response = await google.post(FREEBUSY, json=body)
    assert response.status_code == 200
    calendars = response.json()["calendars"]
    for missing in (FRANK, "ghost@northwind.test"):
        assert calendars[missing] == {
            "errors": [{"domain": "global", "reason": "notFound"}],
            "busy": [],
        }
    assert calendars[ADA] == {"busy": []}
    limited = await google.post(FREEBUSY, json={**body, "calendarExpansionMax": 1})
    assert limited.json()["calendars"][FRANK]["errors"][0]["reason"] == "tooManyCalendarsRequested"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"timeMax": "2026-03-04T00:00:00Z"}, "required"),
        ({"timeMin": "2026-03-03T00:00:00", "timeMax": "2026-03-04T00:00:00Z"}, "badRequest"),
        ({"timeMin": "2026-03-04T00:00:00Z", "timeMax": "2026-03-03T00:00:00Z"}, "timeRangeEmpty"),
        (
            {"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-06-01T00:00:00Z"},
            "timeRangeTooLong",
        ),
        ({**DAY, "calendarExpansionMax": 51}, "invalid"),
        ({**DAY, "items": [{"id": f"u{i}@northwind.test"} for i in range(51)]}, "invalid"),
    ],
)
async def test_request_limits(google: httpx.AsyncClient, body: dict[str, Any], reason: str) -> None:
    response = await google.post(FREEBUSY, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == reason
