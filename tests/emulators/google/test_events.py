"""events.insert/get/patch/update/delete over HTTP: ids, times, errors, copies, conferences."""

from __future__ import annotations

from typing import Any

import httpx

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.conftest import token_for
from tests.emulators.google.seeds import ADA, BEN, CALENDAR_READONLY, FRANK

EVENTS = "/calendar/v3/calendars/primary/events"


def timed(start: str = "2026-03-03T10:00:00Z", end: str = "2026-03-03T11:00:00Z") -> dict[str, Any]:
    return {"summary": "Planning", "start": {"dateTime": start}, "end": {"dateTime": end}}


async def test_insert_fills_the_server_fields(google: httpx.AsyncClient) -> None:
    response = await google.post(EVENTS, json={**timed(), "id": "planning01"})
    assert response.status_code == 200
    event = response.json()
    assert event["id"] == "planning01"
    assert event["iCalUID"] == "planning01@google.com"
    assert event["status"] == "confirmed"
    assert event["etag"].startswith('"')
    assert event["etag"][1:-1].isdigit()
    assert event["created"] == "2026-03-02T08:00:00.000Z"
    assert event["organizer"] == {"email": ADA, "self": True}
    assert event["creator"] == {"email": ADA, "self": True}
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    fetched = await google.get(f"{EVENTS}/planning01")
    assert fetched.json() == event


async def test_server_generates_a_base32hex_id(google: httpx.AsyncClient) -> None:
    event = (await google.post(EVENTS, json=timed())).json()
    assert set(event["id"]) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(event["id"]) <= 1024


async def test_bad_ids_and_duplicates(google: httpx.AsyncClient) -> None:
    for bad in ("abc", "UPPERCASE", "with-dash", "wxyz12345"):
        response = await google.post(EVENTS, json={**timed(), "id": bad})
        assert response.status_code == 400, bad
    assert (await google.post(EVENTS, json={**timed(), "id": "dup0001"})).status_code == 200
    again = await google.post(EVENTS, json={**timed(), "id": "dup0001"})
    assert again.status_code == 409
    assert again.json()["error"]["errors"][0] == {
        "domain": "global",
        "reason": "duplicate",
        "message": "The requested identifier already exists.",
    }


async def test_time_validation(google: httpx.AsyncClient) -> None:
    no_offset = {
        "start": {"dateTime": "2026-03-03T10:00:00"},
        "end": {"dateTime": "2026-03-03T11:00:00"},
    }
    assert (await google.post(EVENTS, json=no_offset)).status_code == 400
    with_zone = {
        "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "Europe/Berlin"},
    }
    event = (await google.post(EVENTS, json=with_zone)).json()
    assert event["start"] == {"dateTime": "2026-03-03T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    backwards = await google.post(
        EVENTS, json=timed("2026-03-03T11:00:00Z", "2026-03-03T10:00:00Z")
    )
    assert backwards.status_code == 400
    assert backwards.json()["error"]["errors"][0]["reason"] == "timeRangeEmpty"
    mixed = {"start": {"date": "2026-03-03"}, "end": {"dateTime": "2026-03-03T11:00:00Z"}}
    assert (await google.post(EVENTS, json=mixed)).status_code == 400
    recurring_no_zone = {**timed(), "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]}
    assert (await google.post(EVENTS, json=recurring_no_zone)).status_code == 400
    with_dtstart = {**with_zone, "recurrence": ["DTSTART:20260303T100000Z", "RRULE:FREQ=DAILY"]}
    assert (await google.post(EVENTS, json=with_dtstart)).status_code == 400
    all_day = {"start": {"date": "2026-03-03"}, "end": {"date": "2026-03-04"}}
    assert (await google.post(EVENTS, json=all_day)).json()["start"] == {"date": "2026-03-03"}


async def test_out_of_office_is_timed_and_opaque(google: httpx.AsyncClient) -> None:
    props = {"autoDeclineMode": "declineAllConflictingInvitations", "declineMessage": "Away"}
    ooo = {**timed(), "eventType": "outOfOffice", "outOfOfficeProperties": props}
    event = (await google.post(EVENTS, json=ooo)).json()
    assert event["eventType"] == "outOfOffice"
    assert event["outOfOfficeProperties"] == props
    all_day = {**ooo, "start": {"date": "2026-03-03"}, "end": {"date": "2026-03-04"}}
    assert (await google.post(EVENTS, json=all_day)).status_code == 400
    free = {**ooo, "transparency": "transparent"}
    assert (await google.post(EVENTS, json=free)).status_code == 400
    changed = await google.patch(f"{EVENTS}/{event['id']}", json={"eventType": "default"})
    assert changed.status_code == 400
    listed = await google.get(EVENTS, params={"eventTypes": "outOfOffice"})
    assert [e["id"] for e in listed.json()["items"]] == [event["id"]]


async def test_patch_update_and_etags(google: httpx.AsyncClient) -> None:
    event = (await google.post(EVENTS, json={**timed(), "location": "Atlas"})).json()
    url = f"{EVENTS}/{event['id']}"
    patched = (await google.patch(url, json={"summary": "Renamed"})).json()
    assert patched["summary"] == "Renamed"
    assert patched["location"] == "Atlas"
    assert patched["etag"] != event["etag"]
    stale = await google.patch(url, json={"summary": "x"}, headers={"If-Match": event["etag"]})
    assert stale.status_code == 412
    assert stale.json()["error"]["errors"][0]["reason"] == "conditionNotMet"
    fresh = await google.patch(url, json={"summary": "y"}, headers={"If-Match": patched["etag"]})
    assert fresh.status_code == 200
    moved = await google.put(url, json=timed("2026-03-03T12:00:00Z", "2026-03-03T13:00:00Z"))
    assert moved.status_code == 200
    body = moved.json()
    assert "location" not in body
    assert "summary" in body
    assert body["sequence"] == 1
    assert body["created"] == event["created"]


async def test_delete_twice_is_gone_and_get_still_answers(google: httpx.AsyncClient) -> None:
    event = (await google.post(EVENTS, json=timed())).json()
    url = f"{EVENTS}/{event['id']}"
    stale = await google.delete(url, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    response = await google.delete(url, params={"sendUpdates": "all"})
    assert response.status_code == 204
    assert response.content == b""
    again = await google.delete(url)
    assert again.status_code == 410
    assert again.json()["error"]["errors"][0] == {
        "domain": "global",
        "reason": "deleted",
        "message": "Resource has been deleted",
    }
    fetched = await google.get(url)
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "cancelled"
    assert (await google.get(f"{EVENTS}/nosuchevent")).status_code == 404


async def test_attendee_copies_share_id_and_keep_private_properties(
    google: httpx.AsyncClient,
) -> None:
    body = {
        **timed(),
        "attendees": [{"email": BEN}, {"email": FRANK}],
        "extendedProperties": {"private": {"mine": "ada"}, "shared": {"booking": "42"}},
    }
    event = (await google.post(EVENTS, json=body)).json()
    assert event["extendedProperties"] == {"private": {"mine": "ada"}, "shared": {"booking": "42"}}
    copy = (await google.get(f"/calendar/v3/calendars/{BEN}/events/{event['id']}")).json()
    assert copy["iCalUID"] == event["iCalUID"]
    assert copy["extendedProperties"] == {"shared": {"booking": "42"}}
    ben = next(a for a in copy["attendees"] if a["email"] == BEN)
    assert ben["self"] is True
    assert ben["responseStatus"] == "needsAction"
    assert "self" not in copy["organizer"]
    assert all("self" not in a for a in event["attendees"])
    # Frank is in another customer: no copy appears anywhere we can see.
    patched = await google.patch(
        f"/calendar/v3/calendars/{BEN}/events/{event['id']}",
        json={"extendedProperties": {"private": {"mine": "ben"}}},
    )
    assert patched.json()["extendedProperties"]["private"] == {"mine": "ben"}
    mine = (await google.get(f"{EVENTS}/{event['id']}")).json()
    assert mine["extendedProperties"]["private"] == {"mine": "ada"}
    found = await google.get(EVENTS, params={"privateExtendedProperty": "mine=ada"})
    assert [e["id"] for e in found.json()["items"]] == [event["id"]]
    # Ben removes the invitation from his calendar: Ada sees him decline.
    assert (
        await google.delete(f"/calendar/v3/calendars/{BEN}/events/{event['id']}")
    ).status_code == 204
    mine = (await google.get(f"{EVENTS}/{event['id']}")).json()
    assert mine["status"] == "confirmed"
    assert next(a for a in mine["attendees"] if a["email"] == BEN)["responseStatus"] == "declined"


async def test_conference_creation(google: httpx.AsyncClient) -> None:
    request = {
        "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    ignored = (await google.post(EVENTS, json={**timed(), "conferenceData": request})).json()
    assert "conferenceData" not in ignored
    assert "hangoutLink" not in ignored
    made = await google.post(
        EVENTS, params={"conferenceDataVersion": 1}, json={**timed(), "conferenceData": request}
    )
    event = made.json()
    data = event["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "success"
    assert data["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    video = next(e for e in data["entryPoints"] if e["entryPointType"] == "video")
    assert video["uri"] == f"https://meet.google.com/{data['conferenceId']}"
    assert event["hangoutLink"] == video["uri"]
    assert any(e["entryPointType"] == "phone" for e in data["entryPoints"])
    url = f"{EVENTS}/{event['id']}"
    same = await google.patch(
        url, params={"conferenceDataVersion": 1}, json={"conferenceData": request}
    )
    assert same.json()["conferenceData"]["conferenceId"] == data["conferenceId"]
    renewed = {"createRequest": {**request["createRequest"], "requestId": "req-2"}}
    other = await google.patch(
        url, params={"conferenceDataVersion": 1}, json={"conferenceData": renewed}
    )
    assert other.json()["conferenceData"]["conferenceId"] != data["conferenceId"]
    kept = await google.patch(url, json={"summary": "no version", "conferenceData": None})
    assert kept.json()["hangoutLink"] == other.json()["hangoutLink"]


async def test_calendars_outside_the_customer_are_not_found(google: httpx.AsyncClient) -> None:
    for calendar in (FRANK, "nobody@northwind.test"):
        response = await google.get(f"/calendar/v3/calendars/{calendar}/events")
        assert response.status_code == 404
        assert response.json()["error"]["errors"][0]["reason"] == "notFound"
        assert (
            await google.post(f"/calendar/v3/calendars/{calendar}/events", json=timed())
        ).status_code == 404


async def test_scopes_per_method(google: httpx.AsyncClient, google_state: GoogleState) -> None:
    reader = {"Authorization": f"Bearer {token_for(google_state, ADA, [CALENDAR_READONLY])}"}
    assert (await google.get(EVENTS, headers=reader)).status_code == 200
    denied = await google.post(EVENTS, json=timed(), headers=reader)
    assert denied.status_code == 403
    assert denied.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    events_only = token_for(google_state, ADA, ["https://www.googleapis.com/auth/calendar.events"])
    freebusy = await google.post(
        "/calendar/v3/freeBusy",
        json={"timeMin": "2026-03-02T00:00:00Z", "timeMax": "2026-03-03T00:00:00Z", "items": []},
        headers={"Authorization": f"Bearer {events_only}"},
    )
    assert freebusy.status_code == 403
