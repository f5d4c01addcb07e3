"""Recurring events: expansion across DST, instance ids, events.instances and exceptions."""

from __future__ import annotations

from typing import Any

import httpx

EVENTS = "/calendar/v3/calendars/primary/events"


def series(rule: str = "RRULE:FREQ=WEEKLY;COUNT=6", **extra: Any) -> dict[str, Any]:
    return {
        "id": "standup01",
        "summary": "Standup",
        "start": {"dateTime": "2026-03-17T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-17T09:15:00", "timeZone": "Europe/Berlin"},
        "recurrence": [rule],
        **extra,
    }


async def instances(google: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await google.get(f"{EVENTS}/standup01/instances", params=params)
    assert response.status_code == 200, response.text
    assert "nextSyncToken" not in response.json()
    return list(response.json()["items"])


async def test_expansion_keeps_wall_clock_across_dst(google: httpx.AsyncClient) -> None:
    await google.post(EVENTS, json=series())
    items = await instances(google)
    # Berlin moves to summer time on 2026-03-29: 09:00 stays 09:00, the UTC hour moves.
    assert [i["start"]["dateTime"] for i in items[:3]] == [
        "2026-03-17T09:00:00+01:00",
        "2026-03-24T09:00:00+01:00",
        "2026-03-31T09:00:00+02:00",
    ]
    assert [i["id"] for i in items[:3]] == [
        "standup01_20260317T080000Z",
        "standup01_20260324T080000Z",
        "standup01_20260331T070000Z",
    ]
    assert len(items) == 6
    first = items[0]
    assert first["recurringEventId"] == "standup01"
    assert first["originalStartTime"] == first["start"]
    assert first["iCalUID"] == "standup01@google.com"
    assert "recurrence" not in first


async def test_exdate_rdate_and_all_day_ids(google: httpx.AsyncClient) -> None:
    body = series("RRULE:FREQ=DAILY;COUNT=3")
    body["recurrence"] += ["EXDATE;TZID=Europe/Berlin:20260318T090000", "RDATE:20260325T080000Z"]
    await google.post(EVENTS, json=body)
    assert [i["id"] for i in await instances(google)] == [
        "standup01_20260317T080000Z",
        "standup01_20260319T080000Z",
        "standup01_20260325T080000Z",
    ]
    all_day = {
        "id": "feast0001",
        "start": {"date": "2026-04-06"},
        "end": {"date": "2026-04-07"},
        "recurrence": ["RRULE:FREQ=YEARLY;COUNT=2"],
    }
    await google.post(EVENTS, json=all_day)
    listed = await google.get(
        EVENTS, params={"singleEvents": "true", "iCalUID": "feast0001@google.com"}
    )
    assert [i["id"] for i in listed.json()["items"]] == ["feast0001_20260406", "feast0001_20270406"]
    assert listed.json()["items"][1]["start"] == {"date": "2027-04-06"}


async def test_instances_window_original_start_and_paging(google: httpx.AsyncClient) -> None:
    await google.post(EVENTS, json=series())
    windowed = await instances(
        google, timeMin="2026-03-20T00:00:00Z", timeMax="2026-04-08T00:00:00Z"
    )
    assert [i["id"][-16:] for i in windowed] == [
        "20260324T080000Z",
        "20260331T070000Z",
        "20260407T070000Z",
    ]
    one = await instances(google, originalStart="2026-03-31T09:00:00+02:00")
    assert [i["id"] for i in one] == ["standup01_20260331T070000Z"]
    page = (await google.get(f"{EVENTS}/standup01/instances", params={"maxResults": 4})).json()
    assert len(page["items"]) == 4
    rest = await instances(google, maxResults=4, pageToken=page["nextPageToken"])
    assert len(rest) == 2
    assert (await google.get(f"{EVENTS}/nothing99/instances")).status_code == 404


async def test_exceptions_from_patch_and_delete(google: httpx.AsyncClient) -> None:
    await google.post(EVENTS, json=series())
    moved_id = "standup01_20260324T080000Z"
    moved = await google.patch(
        f"{EVENTS}/{moved_id}",
        json={
            "summary": "Late standup",
            "start": {"dateTime": "2026-03-24T11:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-24T11:15:00", "timeZone": "Europe/Berlin"},
        },
    )
    assert moved.status_code == 200
    exception = moved.json()
    assert exception["id"] == moved_id
    assert exception["recurringEventId"] == "standup01"
    assert exception["originalStartTime"]["dateTime"] == "2026-03-24T09:00:00+01:00"
    assert (await google.get(f"{EVENTS}/{moved_id}")).json()["summary"] == "Late standup"
    unchanged = await google.get(f"{EVENTS}/standup01_20260331T070000Z")
    assert unchanged.status_code == 200
    assert unchanged.json()["summary"] == "Standup"
    assert (await google.get(f"{EVENTS}/standup01_20260325T080000Z")).status_code == 404
    assert (await google.delete(f"{EVENTS}/standup01_20260407T070000Z")).status_code == 204
    assert (await google.delete(f"{EVENTS}/standup01_20260407T070000Z")).status_code == 410
    items = await instances(google)
    assert [i["summary"] for i in items[:2]] == ["Standup", "Late standup"]
    assert items[1]["start"]["dateTime"] == "2026-03-24T11:00:00+01:00"
    assert "standup01_20260407T070000Z" not in [i["id"] for i in items]
    shown = await instances(google, showDeleted="true")
    assert [i["status"] for i in shown if i["id"].endswith("20260407T070000Z")] == ["cancelled"]
    # Without singleEvents the list holds the series and its exceptions, not plain instances.
    listed = (await google.get(EVENTS)).json()["items"]
    assert sorted(i["id"] for i in listed) == sorted(
        ["standup01", moved_id, "standup01_20260407T070000Z"]
    )


async def test_deleting_the_series_cancels_every_instance(google: httpx.AsyncClient) -> None:
    await google.post(EVENTS, json=series())
    assert (await google.delete(f"{EVENTS}/standup01")).status_code == 204
    listed = await google.get(EVENTS, params={"singleEvents": "true"})
    assert listed.json()["items"] == []
    assert (await google.get(f"{EVENTS}/standup01")).json()["status"] == "cancelled"
