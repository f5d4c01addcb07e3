"""Room resources as attendees: accept when free, decline when taken (google.md §1.5)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.google.seeds import BEN, ROOM_ATLAS, ROOM_BOREAS

EVENTS = "/calendar/v3/calendars/primary/events"
ROOM_EVENTS = f"/calendar/v3/calendars/{ROOM_ATLAS}/events"


def booking(start: str, end: str, *rooms: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": "Review",
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        "attendees": [{"email": BEN}, *({"email": room, "resource": True} for room in rooms)],
        **extra,
    }


def status(event: dict[str, Any], email: str) -> str:
    return str(next(a for a in event["attendees"] if a["email"] == email)["responseStatus"])


async def test_free_room_accepts_and_holds_a_copy(google: httpx.AsyncClient) -> None:
    event = (
        await google.post(
            EVENTS, json=booking("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", ROOM_ATLAS)
        )
    ).json()
    assert status(event, ROOM_ATLAS) == "accepted"
    room = next(a for a in event["attendees"] if a["email"] == ROOM_ATLAS)
    assert room["resource"] is True
    assert room["displayName"]
    held = (await google.get(ROOM_EVENTS)).json()["items"]
    assert [e["id"] for e in held] == [event["id"]]
    ben_copy = (await google.get(f"/calendar/v3/calendars/{BEN}/events/{event['id']}")).json()
    assert status(ben_copy, ROOM_ATLAS) == "accepted"


async def test_taken_room_declines_on_every_copy(google: httpx.AsyncClient) -> None:
    first = await google.post(
        EVENTS, json=booking("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", ROOM_ATLAS)
    )
    clash = (
        await google.post(
            EVENTS,
            json=booking("2026-03-03T10:30:00Z", "2026-03-03T11:30:00Z", ROOM_ATLAS, ROOM_BOREAS),
        )
    ).json()
    assert status(clash, ROOM_ATLAS) == "declined"
    assert status(clash, ROOM_BOREAS) == "accepted"
    ben_copy = (await google.get(f"/calendar/v3/calendars/{BEN}/events/{clash['id']}")).json()
    assert status(ben_copy, ROOM_ATLAS) == "declined"
    held = (await google.get(ROOM_EVENTS)).json()["items"]
    assert [e["id"] for e in held] == [first.json()["id"]]
    # Back-to-back is fine.
    after = (
        await google.post(
            EVENTS, json=booking("2026-03-03T11:00:00Z", "2026-03-03T12:00:00Z", ROOM_ATLAS)
        )
    ).json()
    assert status(after, ROOM_ATLAS) == "accepted"


async def test_freed_room_accepts_and_moving_into_a_clash_declines(
    google: httpx.AsyncClient,
) -> None:
    first = (
        await google.post(
            EVENTS, json=booking("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", ROOM_ATLAS)
        )
    ).json()
    second = (
        await google.post(
            EVENTS, json=booking("2026-03-03T14:00:00Z", "2026-03-03T15:00:00Z", ROOM_ATLAS)
        )
    ).json()
    assert status(second, ROOM_ATLAS) == "accepted"
    moved = await google.patch(
        f"{EVENTS}/{second['id']}",
        json={
            "start": {"dateTime": "2026-03-03T10:30:00Z"},
            "end": {"dateTime": "2026-03-03T11:30:00Z"},
        },
    )
    assert status(moved.json(), ROOM_ATLAS) == "declined"
    room_copy = (await google.get(f"{ROOM_EVENTS}/{second['id']}")).json()
    assert room_copy["status"] == "cancelled"  # the room let go of it
    await google.delete(f"{EVENTS}/{first['id']}")
    again = await google.post(
        EVENTS, json=booking("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", ROOM_ATLAS)
    )
    assert status(again.json(), ROOM_ATLAS) == "accepted"


async def test_recurring_booking_declines_when_any_instance_clashes(
    google: httpx.AsyncClient,
) -> None:
    await google.post(
        EVENTS, json=booking("2026-03-17T10:00:00Z", "2026-03-17T11:00:00Z", ROOM_ATLAS)
    )
    weekly = booking("2026-03-03T10:00:00", "2026-03-03T11:00:00", ROOM_ATLAS)
    weekly["start"]["timeZone"] = weekly["end"]["timeZone"] = "UTC"
    weekly["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4"]
    event = (await google.post(EVENTS, json=weekly)).json()
    assert status(event, ROOM_ATLAS) == "declined"
