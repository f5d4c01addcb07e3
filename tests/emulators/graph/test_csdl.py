"""The CSDL validator's own tests, then a walk over every resource kind the emulator serves.

The walk calls each endpoint the way a client would and validates what comes back against the
CSDL explicitly (the ``graph`` fixture's hook does so too, for every test in this directory).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.csdl import (
    check_response,
    error_problems,
    response_problems,
    schema,
    validate,
    validate_collection,
)
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.seeds import ADELE, ROOM_100

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-03-15T00:00:00Z"}
HOOK = "https://hooks.contoso.test/graph"

# -- the validator ---------------------------------------------------------------------------


def test_a_valid_room_has_no_problems() -> None:
    room = {
        "id": ROOM_100,
        "displayName": "Conf Room 100",
        "nickname": "Conf Room",
        "capacity": 12,
        "bookingType": "standard",
        "tags": ["bean bags"],
        "geoCoordinates": {"latitude": 47.64, "longitude": -122.13},
        "teamsEnabledState": "unknown",
    }
    assert validate("room", room) == []


def test_unknown_property_is_a_problem_unless_the_type_is_open() -> None:
    assert validate("room", {"id": "x", "colour": "red"}) == [
        "$.colour: no such property on microsoft.graph.room"
    ]
    assert validate("event", {"id": "x", "colour": "red"}) == []  # event is an OpenType
    assert validate("event", {"id": "x", "colour": "red"}, allow_dynamic=False) == [
        "$.colour: no such property on microsoft.graph.event"
    ]


def test_inherited_properties_are_known() -> None:
    # changeKey comes from outlookItem, id from entity
    assert validate("event", {"id": "x", "changeKey": "k", "subject": "s"}) == []


@pytest.mark.parametrize(
    ("type_name", "obj", "problem"),
    [
        ("room", {"capacity": "50"}, "$.capacity: expected an integer (Edm.Int32)"),
        ("room", {"capacity": 2**31}, "$.capacity: 2147483648 is out of range for Edm.Int32"),
        ("room", {"floorNumber": 1.5}, "$.floorNumber: expected an integer"),
        ("event", {"isAllDay": "true"}, "$.isAllDay: expected a boolean"),
        ("event", {"subject": 7}, "$.subject: expected a string (Edm.String)"),
        ("event", {"createdDateTime": "2026-03-02T08:00:00"}, "is not a valid Edm.DateTimeOffset"),
        ("event", {"createdDateTime": "2026-02-30T08:00:00Z"}, "is not a valid Edm.DateTimeOffset"),
        ("workingHours", {"startTime": "8am"}, "is not a valid Edm.TimeOfDay"),
        ("subscription", {"applicationId": 5}, "$.applicationId: expected a string"),
        ("changeNotification", {"subscriptionId": "not-a-guid"}, "is not a valid Edm.Guid"),
        ("meetingTimeSuggestionsResult", {"emptySuggestionsReason": 3}, "expected a string"),
        ("outlookGeoCoordinates", {"latitude": "47"}, "$.latitude: expected a number"),
        ("recurrenceRange", {"startDate": "2026-3-2"}, "is not a valid Edm.Date"),
    ],
)
def test_wrong_primitive_types_are_problems(type_name: str, obj: Any, problem: str) -> None:
    problems = validate(type_name, obj)
    assert len(problems) == 1
    assert problem in problems[0]


@pytest.mark.parametrize(
    ("type_name", "obj"),
    [
        ("event", {"createdDateTime": "2026-03-02T08:00:00Z"}),
        ("event", {"createdDateTime": "2026-03-02T08:00:00.1234567Z"}),
        ("event", {"originalStart": "2026-03-02T09:00:00+01:00"}),
        ("workingHours", {"startTime": "08:00:00.0000000"}),
        ("changeNotification", {"subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"}),
        ("recurrenceRange", {"startDate": "2026-03-02"}),
        ("outlookGeoCoordinates", {"latitude": 47, "longitude": -122.13}),
        ("automaticRepliesMailTips", {"scheduledEndTime": {"dateTime": "2026-03-02T08:00:00"}}),
    ],
)
def test_well_formed_primitives_pass(type_name: str, obj: Any) -> None:
    assert validate(type_name, obj) == []


@pytest.mark.parametrize(
    ("duration", "valid"),
    [("PT1H30M", True), ("P1DT2H", True), ("PT0.5S", True), ("90 minutes", False), ("P", False)],
)
def test_durations_are_iso_8601(duration: str, valid: bool) -> None:
    assert (validate("expirationPattern", {"duration": duration}) == []) is valid


def test_enum_members_are_case_sensitive() -> None:
    assert validate("event", {"showAs": "busy"}) == []
    assert validate("event", {"showAs": "Busy"}) == [
        "$.showAs: 'Busy' is not a member of microsoft.graph.freeBusyStatus"
    ]
    assert validate("event", {"showAs": 2}) == [
        "$.showAs: enum microsoft.graph.freeBusyStatus needs a string, got int 2"
    ]


def test_null_for_a_non_nullable_property_is_a_problem() -> None:
    assert validate("room", {"displayName": None, "tags": None}) == [
        "$.displayName: null, but the property is non-nullable",
        "$.tags: null, but the property is non-nullable",
    ]
    assert validate("event", {"recurrence": None, "location": None}) == []


def test_collections_must_be_lists_of_valid_items() -> None:
    assert validate("room", {"tags": "bean bags"}) == [
        '$.tags: expected a collection (list), got str "bean bags"'
    ]
    attendees = [{"type": "required"}, {"type": "chairperson"}]
    assert validate("event", {"attendees": attendees}) == [
        "$.attendees[1].type: 'chairperson' is not a member of microsoft.graph.attendeeType"
    ]


def test_nested_complex_types_are_validated() -> None:
    event = {"start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": 0}}
    assert validate("event", event) == [
        "$.start.timeZone: expected a string (Edm.String), got int 0"
    ]
    assert validate("event", {"start": "2026-03-02"}) == [
        '$.start: microsoft.graph.dateTimeTimeZone needs an object, got str "2026-03-02"'
    ]


def test_derived_types_follow_odata_type() -> None:
    room = {"@odata.type": "#microsoft.graph.room", "id": "x", "capacity": 4, "tags": []}
    assert validate("place", room) == []
    assert validate("place", {"id": "x"}) == [
        "$: microsoft.graph.place is abstract; @odata.type is required"
    ]
    assert validate("place", {"@odata.type": "#microsoft.graph.event"}) == [
        "$.@odata.type: microsoft.graph.event does not derive from microsoft.graph.place"
    ]
    assert validate("place", {"@odata.type": "#microsoft.graph.nothing"}) == [
        "$.@odata.type: unknown type '#microsoft.graph.nothing'"
    ]
    custom = {"@odata.type": "#microsoft.graph.customTimeZone", "name": "Custom", "bias": 60}
    assert validate("workingHours", {"timeZone": custom}) == []
    assert validate("workingHours", {"timeZone": {"name": "UTC", "bias": 60}}) == [
        "$.timeZone.bias: no such property on microsoft.graph.timeZoneBase"
    ]


def test_annotations() -> None:
    event = {
        "@odata.etag": 'W/"abc"',
        "@odata.type": "#microsoft.graph.event",
        "attendees@odata.type": "#Collection(microsoft.graph.attendee)",
        "id": "x",
    }
    assert validate("event", event) == []
    assert validate("room", {"@odata.count": "3"}) == ['$: @odata.count must be int, got str "3"']
    assert validate("room", {"@vendor.flag": True}) == ["$: unknown annotation '@vendor.flag'"]
    assert validate("room", {"colour@odata.type": "#x"}) == [
        "$.colour@odata.type: annotates unknown property 'colour'"
    ]


def test_removed_entries_of_a_delta_round() -> None:
    removed = {
        "@odata.type": "#microsoft.graph.event",
        "id": "x",
        "@removed": {"reason": "deleted"},
    }
    assert validate("event", removed) == []
    assert validate("event", {"id": "x", "@removed": {"reason": "gone"}}) == [
        "$.@removed: expected {'reason': 'deleted' | 'changed'}"
    ]


def test_collection_envelope() -> None:
    body = {"@odata.context": "c", "@odata.count": 1, "value": [{"id": "x", "tags": []}]}
    assert validate_collection("room", body) == []
    assert validate_collection("room", {"value": [{"tags": None}], "items": []}) == [
        "$.items: not part of a collection response",
        "$.value[0].tags: null, but the property is non-nullable",
    ]
    assert validate_collection("room", {"@odata.context": "c"}) == [
        "$: a collection response needs 'value'"
    ]


def test_graph_error_shape() -> None:
    good = {
        "error": {
            "code": "ErrorItemNotFound",
            "message": "The specified object was not found in the store.",
            "innerError": {
                "date": "2026-03-02T08:00:00",
                "request-id": "a",
                "client-request-id": "b",
            },
        }
    }
    assert error_problems(good) == []
    assert error_problems({"detail": "Not Found"}) != []
    zulu = {
        "error": {
            **good["error"],
            "innerError": {**good["error"]["innerError"], "date": "2026-03-02T08:00:00Z"},
        }
    }
    assert error_problems(zulu) == [
        "error.innerError.date must be UTC without Z, got '2026-03-02T08:00:00Z'"
    ]


def test_the_type_of_a_response_comes_from_its_path() -> None:
    bad_event = {"id": "x", "showAs": "Busy"}
    path = f"/v1.0/users/{ADELE}/calendars/c1/events/e1"
    assert response_problems("GET", path, 200, bad_event) != []
    assert (
        response_problems(
            "GET", f"/v1.0/users/{ADELE}/calendarView/delta?x=1", 200, {"value": [bad_event]}
        )
        != []
    )
    part = f"/v1.0/users/{ADELE}/mailboxSettings/timeZone"
    assert response_problems("GET", part, 200, {"value": 5}) == [
        "$.value: expected a string (Edm.String), got int 5"
    ]
    assert response_problems("GET", "/v1.0/places/x", 200, {"id": "x"}) != []  # abstract place
    assert response_problems("GET", "/v1.0/unknown/thing", 200, {"anything": 1}) == []
    assert response_problems("POST", "/common/oauth2/v2.0/token", 400, {"error": "x"}) == []
    batch_request = {
        "requests": [{"id": "1", "method": "GET", "url": "/places/microsoft.graph.room"}]
    }
    batch = {"responses": [{"id": "1", "status": 200, "body": {"value": [{"tags": None}]}}]}
    assert response_problems("POST", "/v1.0/$batch", 200, batch, batch_request) == [
        "$batch item 1 (/v1.0/places/microsoft.graph.room): "
        "$.value[0].tags: null, but the property is non-nullable"
    ]


async def test_the_response_hook_fails_on_a_bad_body() -> None:
    request = httpx.Request("GET", "http://graph.emu.test/v1.0/places/microsoft.graph.room")
    response = httpx.Response(200, json={"value": [{"capacity": "many"}]}, request=request)
    with pytest.raises(AssertionError, match=r"capacity: expected an integer"):
        await check_response(response)
    fine = httpx.Response(200, json={"value": []}, request=request)
    await check_response(fine)


# -- the walk: every resource kind the emulator serves ------------------------------------------


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _assert_valid(type_name: str, body: Any) -> None:
    problems = validate(type_name, body, allow_dynamic=False)
    assert problems == [], problems


def _assert_valid_collection(type_name: str, body: Any) -> None:
    problems = validate_collection(type_name, body, allow_dynamic=False)
    assert problems == [], problems


def _event(subject: str, start_hour: int, **extra: Any) -> dict[str, Any]:
    start = START.replace(hour=start_hour)
    return {
        "subject": subject,
        "body": {"contentType": "html", "content": "<p>Agenda</p>"},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        },
        **extra,
    }


WEEKLY = {
    "pattern": {
        "type": "weekly",
        "interval": 1,
        "daysOfWeek": ["monday"],
        "firstDayOfWeek": "sunday",
    },
    "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 4},
}


async def _events(graph: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    single = _ok(
        await graph.post(
            "/users/adele@contoso.test/events",
            json=_event(
                "Planning",
                10,
                attendees=[
                    {
                        "emailAddress": {"address": "alex@contoso.test", "name": "Alex"},
                        "type": "required",
                    },
                    {"emailAddress": {"address": "cf100@contoso.test"}, "type": "resource"},
                ],
                location={
                    "displayName": "Conf Room 100",
                    "locationEmailAddress": "cf100@contoso.test",
                },
                isOnlineMeeting=True,
                onlineMeetingProvider="teamsForBusiness",
                singleValueExtendedProperties=[
                    {
                        "id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name calhub",
                        "value": "x",
                    }
                ],
            ),
        ),
        201,
    )
    series = _ok(
        await graph.post(
            "/users/adele@contoso.test/events", json=_event("Weekly", 14, recurrence=WEEKLY)
        ),
        201,
    )
    return single, series


async def test_walk_events(graph: httpx.AsyncClient) -> None:
    single, series = await _events(graph)
    _assert_valid("event", single)
    _assert_valid("event", series)
    base = "/users/adele@contoso.test"
    _assert_valid("event", _ok(await graph.get(f"{base}/events/{single['id']}")))
    _assert_valid(
        "event", _ok(await graph.patch(f"{base}/events/{single['id']}", json={"subject": "Moved"}))
    )
    _assert_valid_collection("event", _ok(await graph.get(f"{base}/events")))
    _assert_valid_collection("event", _ok(await graph.get(f"{base}/calendar/events")))
    expanded = await graph.get(
        f"{base}/events/{single['id']}",
        params={
            "$expand": "singleValueExtendedProperties($filter=id eq "
            "'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name calhub')"
        },
    )
    _assert_valid("event", _ok(expanded))
    in_zone = await graph.get(
        f"{base}/events/{single['id']}",
        headers={
            "Prefer": 'outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"'
        },
    )
    _assert_valid("event", _ok(in_zone))


async def test_walk_calendar_view_and_instances(graph: httpx.AsyncClient) -> None:
    _, series = await _events(graph)
    base = "/users/adele@contoso.test"
    view = _ok(await graph.get(f"{base}/calendarView", params=WINDOW))
    _assert_valid_collection("event", view)
    assert {item["type"] for item in view["value"]} >= {"singleInstance", "occurrence"}
    _assert_valid_collection(
        "event", _ok(await graph.get(f"{base}/calendar/calendarView", params=WINDOW))
    )
    instances = _ok(await graph.get(f"{base}/events/{series['id']}/instances", params=WINDOW))
    _assert_valid_collection("event", instances)
    assert instances["value"]


async def test_walk_delta_with_removed_entries(graph: httpx.AsyncClient) -> None:
    single, _ = await _events(graph)
    base = "/users/adele@contoso.test"
    page = _ok(await graph.get(f"{base}/calendarView/delta", params=WINDOW))
    while "@odata.nextLink" in page:
        _assert_valid_collection("event", page)
        page = _ok(await graph.get(page["@odata.nextLink"]))
    _assert_valid_collection("event", page)
    delta_link = page["@odata.deltaLink"]
    assert (await graph.delete(f"{base}/events/{single['id']}")).status_code == 204
    changes = _ok(await graph.get(delta_link))
    _assert_valid_collection("event", changes)
    assert any("@removed" in item for item in changes["value"])


async def test_walk_calendars(graph: httpx.AsyncClient) -> None:
    base = "/users/adele@contoso.test"
    calendar = _ok(await graph.get(f"{base}/calendar"))
    _assert_valid("calendar", calendar)
    calendars = _ok(await graph.get(f"{base}/calendars"))
    _assert_valid_collection("calendar", calendars)
    _assert_valid("calendar", _ok(await graph.get(f"{base}/calendars/{calendar['id']}")))
    _assert_valid_collection(
        "event",
        _ok(await graph.get(f"{base}/calendars/{calendar['id']}/calendarView", params=WINDOW)),
    )


async def test_walk_subscriptions(graph: httpx.AsyncClient, graph_state: GraphState) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("validationToken")
        if token is not None:
            return httpx.Response(200, text=token, headers={"Content-Type": "text/plain"})
        return httpx.Response(202)

    graph_state.subscriptions.transport = httpx.MockTransport(echo)
    expiry = (START + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = _ok(
        await graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": HOOK,
                "lifecycleNotificationUrl": HOOK,
                "resource": f"users/{ADELE}/events",
                "expirationDateTime": expiry,
                "clientState": "secret",
            },
        ),
        201,
    )
    _assert_valid("subscription", created)
    _assert_valid_collection("subscription", _ok(await graph.get("/subscriptions")))
    _assert_valid("subscription", _ok(await graph.get(f"/subscriptions/{created['id']}")))
    renewed = await graph.patch(
        f"/subscriptions/{created['id']}", json={"expirationDateTime": expiry}
    )
    _assert_valid("subscription", _ok(renewed))


async def test_walk_places(graph: httpx.AsyncClient) -> None:
    rooms = _ok(await graph.get("/places/microsoft.graph.room"))
    _assert_valid_collection("room", rooms)
    lists = _ok(await graph.get("/places/microsoft.graph.roomList"))
    _assert_valid_collection("roomList", lists)
    address = lists["value"][0]["emailAddress"]
    _assert_valid_collection(
        "room", _ok(await graph.get(f"/places/{address}/microsoft.graph.roomList/rooms"))
    )
    _assert_valid("place", _ok(await graph.get(f"/places/{ROOM_100}")))
    _assert_valid("place", _ok(await graph.get(f"/places/{address}")))
    _assert_valid("room", _ok(await graph.get(f"/places/{ROOM_100}/microsoft.graph.room")))


async def test_walk_mailbox_settings(graph: httpx.AsyncClient) -> None:
    base = "/users/adele@contoso.test/mailboxSettings"
    _assert_valid(
        "mailboxSettings",
        {k: v for k, v in _ok(await graph.get(base)).items() if k != "@odata.context"},
    )
    parts = schema().properties("microsoft.graph.mailboxSettings")
    for name, declared in parts.items():
        body = _ok(await graph.get(f"{base}/{name}"))
        body.pop("@odata.context")
        if declared.type in schema().structured:
            _assert_valid(declared.type, body)
        else:
            assert set(body) == {"value"}
    patched = await graph.patch(base, json={"workingHours": {"startTime": "09:00:00.0000000"}})
    _assert_valid(
        "mailboxSettings", {k: v for k, v in _ok(patched).items() if k != "@odata.context"}
    )


async def test_walk_get_schedule(graph: httpx.AsyncClient) -> None:
    await _events(graph)
    schedule = _ok(
        await graph.post(
            "/users/adele@contoso.test/calendar/getSchedule",
            json={
                "schedules": ["adele@contoso.test", "cf100@contoso.test", "nobody@contoso.test"],
                "startTime": {"dateTime": "2026-03-02T08:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2026-03-02T18:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 60,
            },
        )
    )
    _assert_valid_collection("scheduleInformation", schedule)
    assert any("error" in item for item in schedule["value"])


async def test_walk_batch_and_errors(graph: httpx.AsyncClient) -> None:
    requests = [
        {"id": "1", "method": "GET", "url": "/users/adele@contoso.test/mailboxSettings"},
        {"id": "2", "method": "GET", "url": "/places/microsoft.graph.room"},
        {"id": "3", "method": "GET", "url": "/users/adele@contoso.test/events/AAMkAGVmMDEz"},
    ]
    body = _ok(await graph.post("/$batch", json={"requests": requests}))
    assert response_problems("POST", "/v1.0/$batch", 200, body, {"requests": requests}) == []
    assert sorted(item["id"] for item in body["responses"]) == ["1", "2", "3"]
    for path in ("/users/nobody@contoso.test/events", "/users/adele@contoso.test/events/bogus"):
        response = await graph.get(path)
        assert response.status_code >= 400
        assert error_problems(response.json()) == []
