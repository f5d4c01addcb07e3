"""Events CRUD as a Graph client sees it: ids, etags, defaults, Prefer, validation errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.emulators.graph.clock import EmulatorClock
from tests.emulators.graph.seeds import ADELE

ADELE_EVENTS = "/users/adele@contoso.test/events"


def event_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Design review",
        "body": {"contentType": "html", "content": "<p>Agenda: <b>layout</b></p>"},
        "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "W. Europe Standard Time"},
    }
    body.update(extra)
    return body


async def create(graph: httpx.AsyncClient, path: str = ADELE_EVENTS, **extra: Any) -> Any:
    response = await graph.post(path, json=event_body(**extra))
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_get_patch_delete_round_trip(
    graph: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    created = await create(graph)
    event_id = created["id"]
    assert event_id.startswith("AAMk")
    assert len(event_id) >= 140
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"'
    assert created["type"] == "singleInstance"
    assert created["createdDateTime"] == "2026-03-02T08:00:00.0000000Z"
    assert created["start"] == {"dateTime": "2026-03-03T09:00:00.0000000", "timeZone": "UTC"}
    assert created["originalStartTimeZone"] == "W. Europe Standard Time"
    assert created["iCalUId"].startswith("040000008200E00074C5B7101A82E008")
    assert created["isOrganizer"] is True
    assert created["responseStatus"] == {"response": "organizer", "time": "0001-01-01T00:00:00Z"}
    assert created["organizer"]["emailAddress"] == {
        "name": "Adele Vance",
        "address": "adele@contoso.test",
    }
    assert created["bodyPreview"] == "Agenda: layout"

    fetched = (await graph.get(f"{ADELE_EVENTS}/{event_id}")).json()
    assert fetched["@odata.context"].endswith("/events/$entity")
    assert fetched["changeKey"] == created["changeKey"]

    clock.advance(60)
    patched = await graph.patch(f"{ADELE_EVENTS}/{event_id}", json={"subject": "Final review"})
    assert patched.status_code == 200
    assert patched.json()["subject"] == "Final review"
    assert patched.json()["changeKey"] != created["changeKey"]
    assert patched.json()["lastModifiedDateTime"] == "2026-03-02T08:01:00.0000000Z"
    assert patched.json()["createdDateTime"] == created["createdDateTime"]

    assert (await graph.delete(f"{ADELE_EVENTS}/{event_id}")).status_code == 204
    gone = await graph.get(f"{ADELE_EVENTS}/{event_id}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "ErrorItemNotFound")


async def test_every_documented_property_is_present_with_defaults(
    graph: httpx.AsyncClient,
) -> None:
    created = await create(graph)
    for name, value in {
        "categories": [],
        "transactionId": None,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "recurrence": None,
        "attendees": [],
        "onlineMeeting": None,
        "locations": [],
        "cancelledOccurrences": [],
    }.items():
        assert created[name] == value, name
    assert created["location"]["displayName"] == ""
    assert created["webLink"].startswith("https://outlook.office365.com/owa/?itemid=AAMk")
    assert "originalStart" not in created


async def test_event_paths_share_one_calendar(graph: httpx.AsyncClient) -> None:
    calendar = (await graph.get("/users/adele@contoso.test/calendar")).json()
    assert calendar["name"] == "Calendar"
    assert calendar["isDefaultCalendar"] is True
    assert calendar["owner"]["address"] == "adele@contoso.test"
    listed = (await graph.get("/users/adele@contoso.test/calendars")).json()["value"]
    assert [c["id"] for c in listed] == [calendar["id"]]
    by_id = f"/users/{ADELE}/calendars/{calendar['id']}/events"
    created = await create(graph, by_id)
    for path in (ADELE_EVENTS, "/users/adele@contoso.test/calendar/events", by_id):
        response = await graph.get(f"{path}/{created['id']}")
        assert response.status_code == 200, path
    wrong = await graph.get("/users/adele@contoso.test/calendars/nope/events")
    assert wrong.json()["error"]["code"] == "ErrorInvalidIdMalformed"


async def test_list_events_pages_with_next_link(graph: httpx.AsyncClient) -> None:
    for hour in range(12):
        start = f"2026-03-04T{hour:02d}:00:00"
        await graph.post(
            ADELE_EVENTS,
            json=event_body(
                subject=f"e{hour}",
                start={"dateTime": start, "timeZone": "UTC"},
                end={"dateTime": start, "timeZone": "UTC"},
            ),
        )
    first = (await graph.get(ADELE_EVENTS)).json()
    assert len(first["value"]) == 10
    assert first["@odata.nextLink"].startswith("http://graph.emu.test/v1.0/users/")
    second = (await graph.get(first["@odata.nextLink"])).json()
    assert len(second["value"]) == 2
    assert "@odata.nextLink" not in second
    top = (await graph.get(ADELE_EVENTS, params={"$top": "5", "$skip": "10"})).json()
    assert [e["subject"] for e in top["value"]] == ["e10", "e11"]


async def test_prefer_time_zone_windows_and_iana(graph: httpx.AsyncClient) -> None:
    created = await create(graph)
    url = f"{ADELE_EVENTS}/{created['id']}"
    for zone, wall in (
        ("Pacific Standard Time", "2026-03-03T01:00:00.0000000"),
        ("Asia/Tokyo", "2026-03-03T18:00:00.0000000"),
    ):
        response = await graph.get(url, headers={"Prefer": f'outlook.timezone="{zone}"'})
        assert response.json()["start"] == {"dateTime": wall, "timeZone": zone}
        assert response.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'


async def test_prefer_text_body_and_immutable_ids(graph: httpx.AsyncClient) -> None:
    created = await create(graph)
    assert created["body"]["contentType"] == "html"
    assert created["body"]["content"].startswith("<html>")
    response = await graph.get(
        f"{ADELE_EVENTS}/{created['id']}",
        headers={"Prefer": 'outlook.body-content-type="text", IdType="ImmutableId"'},
    )
    assert response.json()["body"] == {"contentType": "text", "content": "Agenda: layout"}
    assert response.json()["id"] == created["id"]
    applied = response.headers["Preference-Applied"]
    assert 'outlook.body-content-type="text"' in applied
    assert 'IdType="ImmutableId"' in applied


async def test_if_match_mismatch_is_412(graph: httpx.AsyncClient) -> None:
    created = await create(graph)
    url = f"{ADELE_EVENTS}/{created['id']}"
    stale = await graph.patch(url, json={"subject": "x"}, headers={"If-Match": 'W/"stale"'})
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "ErrorIrresolvableConflict")
    fresh = await graph.patch(
        url, json={"subject": "x"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert fresh.status_code == 200


async def test_transaction_id_makes_post_idempotent(graph: httpx.AsyncClient) -> None:
    first = await create(graph, transactionId="retry-1")
    again = await create(graph, transactionId="retry-1")
    assert again["id"] == first["id"]
    assert again["transactionId"] == "retry-1"
    listed = (await graph.get(ADELE_EVENTS)).json()["value"]
    assert len(listed) == 1


async def test_extended_properties_round_trip(graph: httpx.AsyncClient) -> None:
    prop_id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name CalhubBookingId"
    created = await create(graph, singleValueExtendedProperties=[{"id": prop_id, "value": "b-1"}])
    assert "singleValueExtendedProperties" not in created
    url = f"{ADELE_EVENTS}/{created['id']}"
    expand = f"singleValueExtendedProperties($filter=id eq '{prop_id}')"
    fetched = (await graph.get(url, params={"$expand": expand})).json()
    assert fetched["singleValueExtendedProperties"] == [{"id": prop_id, "value": "b-1"}]
    other = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Other"
    missing = (
        await graph.get(
            url, params={"$expand": f"singleValueExtendedProperties($filter=id eq '{other}')"}
        )
    ).json()
    assert "singleValueExtendedProperties" not in missing
    marked = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq 'b-1')"
    found = await graph.get(ADELE_EVENTS, params={"$filter": marked})
    assert [e["id"] for e in found.json()["value"]] == [created["id"]]


async def test_teams_meeting_fills_online_meeting_and_body(graph: httpx.AsyncClient) -> None:
    created = await create(graph, isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    meeting = created["onlineMeeting"]
    assert meeting["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
    assert "%40thread.v2/0?context=" in meeting["joinUrl"]
    assert meeting["conferenceId"].isdigit()
    assert meeting["tollNumber"]
    assert meeting["joinUrl"] in created["body"]["content"]
    patched = await graph.patch(f"{ADELE_EVENTS}/{created['id']}", json={"isOnlineMeeting": False})
    assert patched.json()["onlineMeeting"]["joinUrl"] == meeting["joinUrl"]


async def test_select_returns_chosen_properties(graph: httpx.AsyncClient) -> None:
    created = await create(graph)
    response = await graph.get(
        f"{ADELE_EVENTS}/{created['id']}", params={"$select": "subject,start"}
    )
    assert set(response.json()) == {"@odata.context", "@odata.etag", "id", "subject", "start"}
    bad = await graph.get(f"{ADELE_EVENTS}/{created['id']}", params={"$select": "nope"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BadRequest")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"start": None}, 400, "ErrorInvalidRequest"),
        (
            {"start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "Mars/Olympus"}},
            400,
            "TimeZoneNotSupportedException",
        ),
        (
            {"end": {"dateTime": "2026-03-03T09:00:00", "timeZone": "W. Europe Standard Time"}},
            400,
            "ErrorInvalidRequest",
        ),
        ({"start": {"dateTime": "tomorrow", "timeZone": "UTC"}}, 400, "ErrorInvalidRequest"),
        ({"colour": "red"}, 400, "RequestBodyRead"),
        ({"subject": 7}, 400, "RequestBodyRead"),
        ({"showAs": "sleeping"}, 400, "RequestBodyRead"),
        ({"isAllDay": True}, 400, "ErrorInvalidRequest"),
    ],
)
async def test_bad_input_is_a_graph_shaped_400(
    graph: httpx.AsyncClient, change: dict[str, Any], status: int, code: str
) -> None:
    body = event_body(**change)
    body = {key: value for key, value in body.items() if value is not None}
    response = await graph.post(ADELE_EVENTS, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


async def test_malformed_json_and_ids(graph: httpx.AsyncClient) -> None:
    broken = await graph.post(
        ADELE_EVENTS, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "BadRequest")
    malformed = await graph.get(f"{ADELE_EVENTS}/not-an-id")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (
        400,
        "ErrorInvalidIdMalformed",
    )
    alex_event = await create(graph, "/users/alex@contoso.test/events")
    foreign = await graph.get(f"{ADELE_EVENTS}/{alex_event['id']}")
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "ErrorItemNotFound")


async def test_all_day_event(graph: httpx.AsyncClient) -> None:
    created = await create(
        graph,
        isAllDay=True,
        start={"dateTime": "2026-03-05T00:00:00", "timeZone": "Pacific Standard Time"},
        end={"dateTime": "2026-03-06T00:00:00", "timeZone": "Pacific Standard Time"},
    )
    assert created["isAllDay"] is True
    assert created["start"] == {"dateTime": "2026-03-05T00:00:00.0000000", "timeZone": "UTC"}
    assert created["end"]["dateTime"] == "2026-03-06T00:00:00.0000000"
