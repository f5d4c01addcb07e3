"""Recurring series: masters, occurrences, exceptions, cancelled occurrences, instances."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulators.graph.test_events import ADELE_EVENTS, create

VIEW = "/users/adele@contoso.test/calendarView"
MARCH = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
WEEKLY = {
    "pattern": {
        "type": "weekly",
        "interval": 1,
        "daysOfWeek": ["Monday"],
        "firstDayOfWeek": "monday",
    },
    "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-30"},
}


async def weekly(graph: httpx.AsyncClient) -> Any:
    return await create(
        graph,
        subject="Weekly sync",
        start={"dateTime": "2026-03-02T09:00:00", "timeZone": "W. Europe Standard Time"},
        end={"dateTime": "2026-03-02T09:30:00", "timeZone": "W. Europe Standard Time"},
        recurrence=WEEKLY,
    )


async def occurrences(graph: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await graph.get(VIEW, params={**MARCH, "$top": "50", **params})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["value"] if e.get("seriesMasterId")]


async def test_master_carries_the_normalised_recurrence(graph: httpx.AsyncClient) -> None:
    master = await weekly(graph)
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"] == {
        "type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
        "daysOfWeek": ["monday"], "firstDayOfWeek": "monday", "index": "first",
    }  # fmt: skip
    assert master["recurrence"]["range"] == {
        "type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-30",
        "recurrenceTimeZone": "W. Europe Standard Time", "numberOfOccurrences": 0,
    }  # fmt: skip
    listed = (await graph.get(ADELE_EVENTS)).json()["value"]
    assert [e["type"] for e in listed] == ["seriesMaster"]


async def test_occurrences_keep_wall_clock_and_have_stable_ids(graph: httpx.AsyncClient) -> None:
    master = await weekly(graph)
    found = await occurrences(graph)
    assert [o["start"]["dateTime"] for o in found] == [
        "2026-03-02T08:00:00.0000000", "2026-03-09T08:00:00.0000000",
        "2026-03-16T08:00:00.0000000", "2026-03-23T08:00:00.0000000",
        "2026-03-30T07:00:00.0000000",  # Berlin is on summer time from 29 March
    ]  # fmt: skip
    assert all(o["type"] == "occurrence" and o["seriesMasterId"] == master["id"] for o in found)
    assert found[1]["originalStart"] == "2026-03-09T08:00:00Z"
    assert found[1]["recurrence"] is None
    assert len({o["iCalUId"] for o in found}) == 5
    again = await occurrences(graph)
    assert [o["id"] for o in again] == [o["id"] for o in found]
    fetched = await graph.get(f"{ADELE_EVENTS}/{found[2]['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["type"] == "occurrence"


async def test_patch_occurrence_makes_exception_and_delete_cancels(
    graph: httpx.AsyncClient,
) -> None:
    master = await weekly(graph)
    second, third = (await occurrences(graph))[1:3]
    moved = await graph.patch(
        f"{ADELE_EVENTS}/{second['id']}",
        json={
            "subject": "Moved sync",
            "start": {"dateTime": "2026-03-10T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-10T15:00:00", "timeZone": "UTC"},
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["type"] == "exception"
    assert moved.json()["id"] == second["id"]
    assert moved.json()["originalStart"] == "2026-03-09T08:00:00Z"
    assert (await graph.delete(f"{ADELE_EVENTS}/{third['id']}")).status_code == 204

    found = await occurrences(graph)
    assert [(o["type"], o["subject"]) for o in found] == [
        ("occurrence", "Weekly sync"), ("exception", "Moved sync"),
        ("occurrence", "Weekly sync"), ("occurrence", "Weekly sync"),
    ]  # fmt: skip
    refreshed = (await graph.get(f"{ADELE_EVENTS}/{master['id']}")).json()
    assert refreshed["cancelledOccurrences"] == [f"OID.{master['id']}.2026-03-16"]
    assert refreshed["changeKey"] != master["changeKey"]
    cancelled = await graph.get(f"{ADELE_EVENTS}/{third['id']}")
    assert cancelled.status_code == 404


async def test_exception_may_not_cross_an_adjacent_occurrence(graph: httpx.AsyncClient) -> None:
    await weekly(graph)
    second = (await occurrences(graph))[1]
    crossing = await graph.patch(
        f"{ADELE_EVENTS}/{second['id']}",
        json={
            "start": {"dateTime": "2026-03-16T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-16T15:00:00", "timeZone": "UTC"},
        },
    )
    assert crossing.status_code == 400
    assert crossing.json()["error"]["code"] == "ErrorOccurrenceCrossingBoundary"


async def test_instances_endpoint(graph: httpx.AsyncClient) -> None:
    master = await weekly(graph)
    response = await graph.get(
        f"{ADELE_EVENTS}/{master['id']}/instances",
        params={"startDateTime": "2026-03-08T00:00:00Z", "endDateTime": "2026-03-20T00:00:00Z"},
    )
    assert [e["originalStart"] for e in response.json()["value"]] == [
        "2026-03-09T08:00:00Z",
        "2026-03-16T08:00:00Z",
    ]
    missing = await graph.get(f"{ADELE_EVENTS}/{master['id']}/instances")
    assert missing.json()["error"]["code"] == "ErrorInvalidParameter"


async def test_numbered_and_monthly_series(graph: httpx.AsyncClient) -> None:
    await create(
        graph,
        subject="Monthly",
        start={"dateTime": "2026-03-31T12:00:00", "timeZone": "UTC"},
        end={"dateTime": "2026-03-31T13:00:00", "timeZone": "UTC"},
        recurrence={
            "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            "range": {"type": "numbered", "startDate": "2026-03-31", "numberOfOccurrences": 3},
        },
    )
    response = await graph.get(
        VIEW,
        params={"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-07-01T00:00:00Z"},
    )
    assert [e["start"]["dateTime"][:10] for e in response.json()["value"]] == [
        "2026-03-31", "2026-04-30", "2026-05-31",
    ]  # fmt: skip


async def test_bad_recurrence_is_400(graph: httpx.AsyncClient) -> None:
    response = await graph.post(
        ADELE_EVENTS,
        json={
            "subject": "x",
            "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1},
                "range": {"type": "noEnd", "startDate": "2026-03-02"},
            },
        },
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "ErrorInvalidRequest")


async def test_changing_master_times_drops_exceptions(graph: httpx.AsyncClient) -> None:
    master = await weekly(graph)
    second = (await occurrences(graph))[1]
    await graph.patch(f"{ADELE_EVENTS}/{second['id']}", json={"subject": "special"})
    await graph.patch(
        f"{ADELE_EVENTS}/{master['id']}",
        json={
            "start": {"dateTime": "2026-03-02T11:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-03-02T12:00:00", "timeZone": "W. Europe Standard Time"},
        },
    )
    found = await occurrences(graph)
    assert {o["type"] for o in found} == {"occurrence"}
    assert found[0]["start"]["dateTime"] == "2026-03-02T10:00:00.0000000"
