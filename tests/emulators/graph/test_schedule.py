"""getSchedule: availabilityView digits, schedule items, working hours, limits and
per-schedule errors inside a 200."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.graph.test_events import create

SCHEDULE = "/users/adele@contoso.test/calendar/getSchedule"


def utc(hour: int, minute: int = 0) -> dict[str, str]:
    return {"dateTime": f"2026-03-03T{hour:02d}:{minute:02d}:00", "timeZone": "UTC"}


def request(schedules: list[str], **extra: Any) -> dict[str, Any]:
    return {"schedules": schedules, "startTime": utc(9), "endTime": utc(18),
            "availabilityViewInterval": 60, **extra}  # fmt: skip


async def test_availability_view_and_items(graph: httpx.AsyncClient) -> None:
    await create(graph, "/users/alex@contoso.test/events", subject="Lunch",
                 start=utc(12), end=utc(14), location={"displayName": "Harry's Bar"})  # fmt: skip
    await create(graph, "/users/alex@contoso.test/events", subject="Maybe",
                 start=utc(13, 30), end=utc(15, 30), showAs="tentative")  # fmt: skip
    await create(graph, "/users/alex@contoso.test/events", subject="Secret",
                 start=utc(16), end=utc(16, 30), sensitivity="private", showAs="oof")  # fmt: skip
    response = await graph.post(SCHEDULE, json=request(["alex@contoso.test"]))
    assert response.status_code == 200
    info = response.json()["value"][0]
    assert info["scheduleId"] == "alex@contoso.test"
    assert info["availabilityView"] == "000221130"
    lunch, maybe, secret = info["scheduleItems"]
    assert lunch == {
        "isPrivate": False, "status": "busy", "subject": "Lunch", "location": "Harry's Bar",
        "start": {"dateTime": "2026-03-03T12:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-03T14:00:00.0000000", "timeZone": "UTC"},
    }  # fmt: skip
    assert maybe["status"] == "tentative"
    assert secret == {
        "isPrivate": True, "status": "oof",
        "start": {"dateTime": "2026-03-03T16:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-03T16:30:00.0000000", "timeZone": "UTC"},
    }  # fmt: skip
    assert info["workingHours"]["startTime"] == "08:00:00.0000000"


async def test_unknown_address_is_an_error_inside_200(graph: httpx.AsyncClient) -> None:
    response = await graph.post(
        SCHEDULE, json=request(["nobody@contoso.test", "cf100@contoso.test"])
    )
    assert response.status_code == 200
    unknown, room = response.json()["value"]
    assert unknown == {
        "scheduleId": "nobody@contoso.test",
        "error": {
            "message": "Unable to resolve e-mail address nobody@contoso.test to an Active "
            "Directory object.",
            "responseCode": "5009",
        },
    }
    assert room["availabilityView"] == "0" * 9


async def test_pascal_case_keys_default_interval_and_prefer_zone(
    graph: httpx.AsyncClient,
) -> None:
    await create(graph, subject="x", start=utc(9), end=utc(10))
    body = {"Schedules": ["adele@contoso.test"], "StartTime": utc(9), "EndTime": utc(11)}
    response = await graph.post(
        SCHEDULE, json=body, headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    )
    info = response.json()["value"][0]
    assert info["availabilityView"] == "2200"
    assert info["scheduleItems"][0]["start"] == {
        "dateTime": "2026-03-03T01:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }


async def test_limits(graph: httpx.AsyncClient) -> None:
    many = [f"user{i}@contoso.test" for i in range(101)]
    too_many = await graph.post(SCHEDULE, json=request(many))
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "ErrorMailboxDataArrayTooBig"
    assert "actual size = 101" in too_many.json()["error"]["message"]
    assert (await graph.post(SCHEDULE, json=request(many[:100]))).status_code == 200
    tiny = await graph.post(
        SCHEDULE, json=request(["alex@contoso.test"], availabilityViewInterval=4)
    )
    assert tiny.status_code == 400
    long = request(
        ["alex@contoso.test"], endTime={"dateTime": "2026-05-05T00:00:00", "timeZone": "UTC"}
    )
    assert (await graph.post(SCHEDULE, json=long)).status_code == 400
