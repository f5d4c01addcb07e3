"""events.list: paging, sync tokens and their lifecycle, and the parameter rules (google.md §2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.seeds import ADA

EVENTS = "/calendar/v3/calendars/primary/events"
ZONE = "Europe/London"


def timed(day: int, hour: int = 10) -> dict[str, Any]:
    return {
        "summary": f"day {day}",
        "start": {"dateTime": f"2026-03-{day:02d}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2026-03-{day:02d}T{hour + 1:02d}:00:00Z"},
    }


def weekly(count: int = 4) -> dict[str, Any]:
    return {
        "summary": "Weekly",
        "start": {"dateTime": "2026-03-03T09:00:00", "timeZone": ZONE},
        "end": {"dateTime": "2026-03-03T09:30:00", "timeZone": ZONE},
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
    }


async def all_pages(google: httpx.AsyncClient, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = await google.get(
            EVENTS, params={**params, **({"pageToken": token} if token else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert ("nextPageToken" in body) != ("nextSyncToken" in body)
        items += body["items"]
        token = body.get("nextPageToken")
        if token is None:
            return items, body["nextSyncToken"]


async def test_envelope(google: httpx.AsyncClient) -> None:
    body = (await google.get(EVENTS)).json()
    assert body["kind"] == "calendar#events"
    assert body["summary"] == ADA
    assert body["timeZone"] == ZONE
    assert body["accessRole"] == "owner"
    assert body["defaultReminders"] == [{"method": "popup", "minutes": 10}]
    assert body["items"] == []
    zoned = (await google.get(EVENTS, params={"timeZone": "Asia/Tokyo"})).json()
    assert zoned["timeZone"] == "Asia/Tokyo"


async def test_paging_returns_every_event_once(google: httpx.AsyncClient) -> None:
    made = [(await google.post(EVENTS, json=timed(day))).json()["id"] for day in range(3, 10)]
    first = (await google.get(EVENTS, params={"maxResults": 3})).json()
    assert len(first["items"]) == 3
    assert "nextSyncToken" not in first
    # An event added between pages does not make one go missing.
    made.append((await google.post(EVENTS, json=timed(20))).json()["id"])
    items, _ = await all_pages(google, maxResults=3)
    assert sorted(e["id"] for e in items) == sorted(made)
    for bad in ("0", "2501", "many"):
        assert (await google.get(EVENTS, params={"maxResults": bad})).status_code == 400


async def test_order_by_start_time_needs_single_events(google: httpx.AsyncClient) -> None:
    for day in (9, 4, 6):
        await google.post(EVENTS, json=timed(day))
    refused = await google.get(EVENTS, params={"orderBy": "startTime"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "The requested ordering is not available for the particular query."
    )
    ordered = await google.get(EVENTS, params={"orderBy": "startTime", "singleEvents": "true"})
    starts = [e["start"]["dateTime"] for e in ordered.json()["items"]]
    assert starts == sorted(starts)
    assert len(starts) == 3


async def test_time_window_and_filters(google: httpx.AsyncClient) -> None:
    early = (await google.post(EVENTS, json={**timed(3), "location": "Atlas room"})).json()
    late = (await google.post(EVENTS, json=timed(12))).json()
    window = {"timeMin": "2026-03-10T00:00:00Z", "timeMax": "2026-03-20T00:00:00+01:00"}
    listed = (await google.get(EVENTS, params=window)).json()
    assert [e["id"] for e in listed["items"]] == [late["id"]]
    # timeMin is exclusive on the end: an event ending exactly there is out.
    edge = await google.get(EVENTS, params={"timeMin": "2026-03-03T11:00:00Z"})
    assert early["id"] not in [e["id"] for e in edge.json()["items"]]
    assert (await google.get(EVENTS, params={"timeMin": "2026-03-10T00:00:00"})).status_code == 400
    empty = await google.get(
        EVENTS, params={"timeMin": "2026-03-10T00:00:00Z", "timeMax": "2026-03-09T00:00:00Z"}
    )
    assert empty.json()["error"]["errors"][0]["reason"] == "timeRangeEmpty"
    found = (await google.get(EVENTS, params={"q": "atlas"})).json()
    assert [e["id"] for e in found["items"]] == [early["id"]]
    by_uid = (await google.get(EVENTS, params={"iCalUID": late["iCalUID"]})).json()
    assert [e["id"] for e in by_uid["items"]] == [late["id"]]


@pytest.mark.parametrize(
    "extra",
    [
        {"timeMin": "2026-03-01T00:00:00Z"},
        {"timeMax": "2026-03-01T00:00:00Z"},
        {"q": "x"},
        {"iCalUID": "x@google.com"},
        {"orderBy": "updated"},
        {"updatedMin": "2026-03-01T00:00:00Z"},
        {"privateExtendedProperty": "a=b"},
        {"sharedExtendedProperty": "a=b"},
    ],
)
async def test_parameters_forbidden_with_sync_token(
    google: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    _, token = await all_pages(google)
    response = await google.get(EVENTS, params={"syncToken": token, **extra})
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["location"] == next(iter(extra))


async def test_sync_token_lifecycle(google: httpx.AsyncClient, google_state: GoogleState) -> None:
    kept = (await google.post(EVENTS, json=timed(3))).json()
    doomed = (await google.post(EVENTS, json=timed(4))).json()
    series = (await google.post(EVENTS, json=weekly())).json()
    items, token = await all_pages(google)
    assert {e["id"] for e in items} == {kept["id"], doomed["id"], series["id"]}

    nothing = (await google.get(EVENTS, params={"syncToken": token})).json()
    assert nothing["items"] == []
    assert nothing["nextSyncToken"]

    created = (await google.post(EVENTS, json=timed(5))).json()
    await google.patch(f"{EVENTS}/{kept['id']}", json={"summary": "changed"})
    assert (await google.delete(f"{EVENTS}/{doomed['id']}")).status_code == 204
    instance = f"{series['id']}_20260310T090000Z"
    assert (await google.delete(f"{EVENTS}/{instance}")).status_code == 204

    changes, token2 = await all_pages(google, syncToken=token, maxResults=2)
    by_id = {e["id"]: e for e in changes}
    assert set(by_id) == {created["id"], kept["id"], doomed["id"], instance}
    assert by_id[kept["id"]]["summary"] == "changed"
    assert by_id[doomed["id"]]["status"] == "cancelled"
    assert set(by_id[doomed["id"]]) == {"kind", "etag", "id", "status"}
    cancelled = by_id[instance]
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == series["id"]
    assert cancelled["originalStartTime"]["dateTime"] == "2026-03-10T09:00:00Z"

    # Without showDeleted, a full list hides the deleted event but keeps the cancelled instance.
    full, _ = await all_pages(google)
    assert doomed["id"] not in {e["id"] for e in full}
    assert instance in {e["id"] for e in full}
    expanded, _ = await all_pages(google, singleEvents="true")
    assert instance not in {e["id"] for e in expanded}
    with_deleted, _ = await all_pages(google, singleEvents="true", showDeleted="true")
    assert instance in {e["id"] for e in with_deleted}

    google_state.calendar.expire_sync_tokens(ADA)
    gone = await google.get(EVENTS, params={"syncToken": token2})
    assert gone.status_code == 410
    assert gone.json()["error"]["errors"] == [
        {
            "domain": "calendar",
            "reason": "fullSyncRequired",
            "message": "Sync token is no longer valid, a full sync is required.",
            "locationType": "parameter",
            "location": "syncToken",
        }
    ]
    assert (
        gone.json()["error"]["message"] == "Sync token is no longer valid, a full sync is required."
    )
    assert (await google.get(EVENTS, params={"syncToken": "garbage"})).status_code == 410
    _, fresh = await all_pages(google)
    assert (await google.get(EVENTS, params={"syncToken": fresh})).status_code == 200


async def test_sync_token_of_another_calendar_is_refused(google: httpx.AsyncClient) -> None:
    _, token = await all_pages(google)
    other = await google.get(
        "/calendar/v3/calendars/ben@northwind.test/events", params={"syncToken": token}
    )
    assert other.status_code == 410


async def test_updated_min_includes_deletions(google: httpx.AsyncClient) -> None:
    event = (await google.post(EVENTS, json=timed(3))).json()
    await google.delete(f"{EVENTS}/{event['id']}")
    listed = (await google.get(EVENTS, params={"updatedMin": "2026-03-01T00:00:00Z"})).json()
    assert [e["status"] for e in listed["items"]] == ["cancelled"]
