"""Meetings between mailboxes: attendee copies, accept/tentative/decline, cancel."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.graph.test_events import ADELE_EVENTS, create

ALEX_EVENTS = "/users/alex@contoso.test/events"


async def meeting(graph: httpx.AsyncClient, **extra: Any) -> Any:
    attendees = [{"emailAddress": {"address": "alex@contoso.test"}, "type": "required"}]
    return await create(graph, attendees=attendees, **extra)


async def alex_copy(graph: httpx.AsyncClient) -> Any:
    listed = (await graph.get(ALEX_EVENTS)).json()["value"]
    assert len(listed) == 1
    return listed[0]


def status_of(event: dict[str, Any], address: str) -> dict[str, Any]:
    entry = next(a for a in event["attendees"] if a["emailAddress"]["address"] == address)
    return dict(entry["status"])


async def test_attendee_gets_a_copy(graph: httpx.AsyncClient) -> None:
    organized = await meeting(graph)
    assert organized["attendees"][0]["emailAddress"]["name"] == "Alex Wilber"
    copy = await alex_copy(graph)
    assert copy["id"] != organized["id"]
    assert copy["iCalUId"] == organized["iCalUId"]
    assert copy["isOrganizer"] is False
    assert copy["responseStatus"] == {"response": "notResponded", "time": "0001-01-01T00:00:00Z"}
    assert copy["showAs"] == "tentative"
    assert copy["organizer"]["emailAddress"]["address"] == "adele@contoso.test"


async def test_accept_reaches_the_organizer(graph: httpx.AsyncClient) -> None:
    organized = await meeting(graph)
    copy = await alex_copy(graph)
    response = await graph.post(f"{ALEX_EVENTS}/{copy['id']}/accept", json={"comment": "ok"})
    assert (response.status_code, response.content) == (202, b"")
    mine = (await graph.get(f"{ALEX_EVENTS}/{copy['id']}")).json()
    assert mine["responseStatus"] == {"response": "accepted", "time": "2026-03-02T08:00:00Z"}
    assert mine["showAs"] == "busy"
    theirs = (await graph.get(f"{ADELE_EVENTS}/{organized['id']}")).json()
    assert status_of(theirs, "alex@contoso.test") == {
        "response": "accepted",
        "time": "2026-03-02T08:00:00Z",
    }


async def test_tentative_with_pascal_case_and_silent_response(graph: httpx.AsyncClient) -> None:
    organized = await meeting(graph)
    copy = await alex_copy(graph)
    response = await graph.post(
        f"{ALEX_EVENTS}/{copy['id']}/tentativelyAccept",
        json={"Comment": "maybe", "SendResponse": False},
    )
    assert response.status_code == 202
    mine = (await graph.get(f"{ALEX_EVENTS}/{copy['id']}")).json()
    assert mine["responseStatus"]["response"] == "tentativelyAccepted"
    theirs = (await graph.get(f"{ADELE_EVENTS}/{organized['id']}")).json()
    assert status_of(theirs, "alex@contoso.test")["response"] == "none"


async def test_decline_removes_the_copy_and_tells_the_organizer(
    graph: httpx.AsyncClient,
) -> None:
    organized = await meeting(graph)
    copy = await alex_copy(graph)
    proposal = {
        "start": {"dateTime": "2026-03-03T13:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-03T14:00:00", "timeZone": "UTC"},
    }
    response = await graph.post(
        f"{ALEX_EVENTS}/{copy['id']}/decline",
        json={"sendResponse": True, "proposedNewTime": proposal},
    )
    assert response.status_code == 202
    assert (await graph.get(ALEX_EVENTS)).json()["value"] == []
    theirs = (await graph.get(f"{ADELE_EVENTS}/{organized['id']}")).json()
    alex = next(
        a for a in theirs["attendees"] if a["emailAddress"]["address"] == "alex@contoso.test"
    )
    assert alex["status"]["response"] == "declined"
    assert alex["proposedNewTime"]["start"]["dateTime"].startswith("2026-03-03T13:00:00")
    await graph.patch(f"{ADELE_EVENTS}/{organized['id']}", json={"subject": "Still on"})
    assert (await graph.get(ALEX_EVENTS)).json()["value"] == []


async def test_organizer_cannot_respond_and_attendee_cannot_cancel(
    graph: httpx.AsyncClient,
) -> None:
    organized = await meeting(graph)
    own = await graph.post(f"{ADELE_EVENTS}/{organized['id']}/accept", json={})
    assert (own.status_code, own.json()["error"]["code"]) == (400, "ErrorInvalidRequest")
    copy = await alex_copy(graph)
    cancel = await graph.post(f"{ALEX_EVENTS}/{copy['id']}/cancel", json={"comment": "no"})
    assert (cancel.status_code, cancel.json()["error"]["code"]) == (400, "ErrorInvalidRequest")
    bad = await graph.post(f"{ALEX_EVENTS}/{copy['id']}/accept", json={"proposedNewTime": {}})
    assert bad.status_code == 400


async def test_organizer_updates_and_cancellation_reach_the_copy(
    graph: httpx.AsyncClient,
) -> None:
    organized = await meeting(graph)
    copy = await alex_copy(graph)
    await graph.post(f"{ALEX_EVENTS}/{copy['id']}/accept", json={})
    await graph.patch(f"{ADELE_EVENTS}/{organized['id']}", json={"subject": "Moved review"})
    updated = (await graph.get(f"{ALEX_EVENTS}/{copy['id']}")).json()
    assert updated["subject"] == "Moved review"
    assert updated["responseStatus"]["response"] == "accepted"
    assert updated["changeKey"] != copy["changeKey"]
    cancelled = await graph.post(f"{ADELE_EVENTS}/{organized['id']}/cancel", json={"Comment": "x"})
    assert cancelled.status_code == 202
    assert (await graph.get(f"{ADELE_EVENTS}/{organized['id']}")).status_code == 404
    gone = (await graph.get(f"{ALEX_EVENTS}/{copy['id']}")).json()
    assert gone["isCancelled"] is True
    assert gone["subject"] == "Canceled: Moved review"


async def test_removed_attendee_copy_is_cancelled(graph: httpx.AsyncClient) -> None:
    organized = await meeting(graph)
    copy = await alex_copy(graph)
    await graph.patch(f"{ADELE_EVENTS}/{organized['id']}", json={"attendees": []})
    assert (await graph.get(f"{ALEX_EVENTS}/{copy['id']}")).json()["isCancelled"] is True


async def test_series_meeting_copies_exceptions(graph: httpx.AsyncClient) -> None:
    organized = await meeting(
        graph,
        start={"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
        end={"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
        },
    )
    window = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-03-10T00:00:00Z"}
    instances = (
        await graph.get(f"{ADELE_EVENTS}/{organized['id']}/instances", params=window)
    ).json()["value"]
    await graph.patch(f"{ADELE_EVENTS}/{instances[1]['id']}", json={"subject": "Special"})
    await graph.delete(f"{ADELE_EVENTS}/{instances[2]['id']}")
    view = (await graph.get("/users/alex@contoso.test/calendarView", params=window)).json()
    assert [(e["type"], e["subject"]) for e in view["value"]] == [
        ("occurrence", "Design review"),
        ("exception", "Special"),
    ]
    assert view["value"][1]["iCalUId"] == instances[1]["iCalUId"]
