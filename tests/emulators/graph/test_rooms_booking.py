"""Rooms answer like Exchange's resource booking attendant: accept when free, decline on conflict
or when not bookable; the organizer's copy shows the answer and the room calendar the booking."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.graph.test_events import ADELE_EVENTS, create

ROOM_VIEW = "/users/cf100@contoso.test/calendarView"
WINDOW = {"startDateTime": "2026-03-03T00:00:00Z", "endDateTime": "2026-03-04T00:00:00Z"}


def utc(hour: int, minute: int = 0) -> dict[str, str]:
    return {"dateTime": f"2026-03-03T{hour:02d}:{minute:02d}:00", "timeZone": "UTC"}


def room(address: str = "cf100@contoso.test") -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": address}, "type": "resource"}]


def room_status(event: dict[str, Any], address: str = "cf100@contoso.test") -> dict[str, Any]:
    entry = next(a for a in event["attendees"] if a["emailAddress"]["address"] == address)
    return dict(entry["status"])


async def room_bookings(graph: httpx.AsyncClient, view: str = ROOM_VIEW) -> list[str]:
    return [e["subject"] for e in (await graph.get(view, params=WINDOW)).json()["value"]]


async def test_free_room_accepts_and_holds_the_booking(graph: httpx.AsyncClient) -> None:
    booked = await create(graph, subject="Planning", start=utc(10), end=utc(11), attendees=room())
    assert room_status(booked) == {"response": "accepted", "time": "2026-03-02T08:00:00Z"}
    assert await room_bookings(graph) == ["Planning"]
    copy = (await graph.get(ROOM_VIEW, params=WINDOW)).json()["value"][0]
    assert copy["responseStatus"]["response"] == "accepted"
    assert copy["isOrganizer"] is False


async def test_conflict_declines(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="First", start=utc(10), end=utc(11), attendees=room())
    second = await create(
        graph, "/users/alex@contoso.test/events", subject="Second",
        start=utc(10, 30), end=utc(11, 30), attendees=room(),
    )  # fmt: skip
    assert room_status(second)["response"] == "declined"
    adjacent = await create(graph, subject="Adjacent", start=utc(11), end=utc(12), attendees=room())
    assert room_status(adjacent)["response"] == "accepted"
    assert await room_bookings(graph) == ["First", "Adjacent"]


async def test_reserved_room_declines(graph: httpx.AsyncClient) -> None:
    booked = await create(graph, start=utc(10), end=utc(11), attendees=room("hotdesk@contoso.test"))
    assert room_status(booked, "hotdesk@contoso.test")["response"] == "declined"
    view = "/users/hotdesk@contoso.test/calendarView"
    assert await room_bookings(graph, view) == []


async def test_room_named_only_as_location_is_booked(graph: httpx.AsyncClient) -> None:
    booked = await create(
        graph,
        start=utc(10),
        end=utc(11),
        location={"displayName": "Conf Room 200", "locationEmailAddress": "cf200@contoso.test"},
    )
    assert booked["location"]["locationEmailAddress"] == "cf200@contoso.test"
    assert booked["attendees"][0]["type"] == "resource"
    assert room_status(booked, "cf200@contoso.test")["response"] == "accepted"
    assert booked["locations"][0]["displayName"] == "Conf Room 200"


async def test_moving_into_a_conflict_declines(graph: httpx.AsyncClient) -> None:
    await create(graph, subject="First", start=utc(10), end=utc(11), attendees=room())
    later = await create(graph, subject="Later", start=utc(14), end=utc(15), attendees=room())
    assert room_status(later)["response"] == "accepted"
    moved = await graph.patch(
        f"{ADELE_EVENTS}/{later['id']}", json={"start": utc(10, 30), "end": utc(11, 30)}
    )
    assert room_status(moved.json())["response"] == "declined"
    assert await room_bookings(graph) == ["First"]
    back = await graph.patch(
        f"{ADELE_EVENTS}/{later['id']}", json={"start": utc(14), "end": utc(15)}
    )
    assert room_status(back.json())["response"] == "accepted"
    assert await room_bookings(graph) == ["First", "Later"]


async def test_series_with_a_conflicting_occurrence_declines(graph: httpx.AsyncClient) -> None:
    await create(
        graph, subject="Blocker", start={"dateTime": "2026-03-05T10:00:00", "timeZone": "UTC"},
        end={"dateTime": "2026-03-05T11:00:00", "timeZone": "UTC"}, attendees=room(),
    )  # fmt: skip
    series = await create(
        graph,
        subject="Daily",
        start=utc(10),
        end=utc(11),
        attendees=room(),
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-03", "numberOfOccurrences": 5},
        },
    )
    assert room_status(series)["response"] == "declined"


async def test_organizer_delete_frees_the_room(graph: httpx.AsyncClient) -> None:
    booked = await create(graph, subject="Planning", start=utc(10), end=utc(11), attendees=room())
    await graph.delete(f"{ADELE_EVENTS}/{booked['id']}")
    assert await room_bookings(graph) == []
