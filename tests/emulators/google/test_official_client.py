"""Google's own client (google-api-python-client + google-auth) against the emulator, unchanged
but for the endpoints.

The services are built from the discovery documents bundled in the wheel
(``static_discovery=True``) with ``client_options.api_endpoint`` pointed at the emulator, which
uvicorn serves on a loopback port; credentials are a service-account key file whose
``token_uri`` is the emulator's ``/token``, impersonating Ada with ``with_subject`` (domain-wide
delegation, google.md §8.2). Every body the client hands back is checked against the discovery
documents as well. Watch messages go to a loopback receiver (``receiver.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from tests.emulators.google import discovery
from tests.emulators.google.receiver import Receiver, new_hook, serving
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    CALENDAR,
    RESOURCES_READONLY,
    ROOM_ATLAS,
    key_file,
    northwind_seed,
)
from tests.emulators.graph.servers import serve_in_thread

DAY = "2026-03-03"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, GoogleState]]:
    """The emulator on the real clock (google-auth signs its JWTs with the real time)."""
    state = GoogleState(seed=11)
    load_seed(state, northwind_seed())
    with serve_in_thread(create_app(state)) as base_url:
        yield base_url, state


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[Receiver, str]]:
    with serving() as pair:
        yield pair


def credentials(base_url: str, *scopes: str) -> service_account.Credentials:
    info = key_file(token_uri=f"{base_url}/token")
    signed: service_account.Credentials = service_account.Credentials.from_service_account_info(
        info, scopes=list(scopes)
    ).with_subject(ADA)
    return signed


@pytest.fixture(scope="module")
def calendar(served: tuple[str, GoogleState]) -> Iterator[Resource]:
    base_url, _ = served
    service = build(
        "calendar",
        "v3",
        credentials=credentials(base_url, CALENDAR),
        static_discovery=True,
        client_options={"api_endpoint": f"{base_url}/calendar/v3/"},
    )
    with service:  # closes its keep-alive connections
        yield service


@pytest.fixture(scope="module")
def directory(served: tuple[str, GoogleState]) -> Iterator[Resource]:
    base_url, _ = served
    service = build(
        "admin",
        "directory_v1",
        credentials=credentials(base_url, RESOURCES_READONLY),
        static_discovery=True,
        client_options={"api_endpoint": f"{base_url}/"},
    )
    with service:
        yield service


def checked(api: str, method_id: str, body: Any) -> Any:
    """``body`` after checking it against the method's response schema."""
    discovery.check_response(api, method_id, 200, body)
    return body


def insert(calendar: Resource, summary: str, hour: int, **extra: Any) -> dict[str, Any]:
    event = {
        "summary": summary,
        "start": {"dateTime": f"{DAY}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"{DAY}T{hour:02d}:30:00Z"},
        **extra,
    }
    request = calendar.events().insert(calendarId="primary", body=event, **_params(extra))
    created: dict[str, Any] = checked("calendar", "calendar.events.insert", request.execute())
    return created


def _params(extra: dict[str, Any]) -> dict[str, Any]:
    return {"conferenceDataVersion": 1} if "conferenceData" in extra else {}


def list_all(calendar: Resource, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every page of events.list through the client's own ``list_next``; the items and the
    last page (which carries ``nextSyncToken``)."""
    events = calendar.events()
    request = events.list(calendarId="primary", **params)
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while request is not None:
        page = checked("calendar", "calendar.events.list", request.execute())
        items.extend(page.get("items", []))
        request = events.list_next(request, page)
    return items, page


def test_events_list_pages_then_syncs_incrementally(calendar: Resource) -> None:
    created = [insert(calendar, f"Review {n}", 9 + n) for n in range(5)]
    items, last = list_all(calendar, maxResults=2, singleEvents=True)
    assert {event["id"] for event in created} <= {event["id"] for event in items}
    assert "nextSyncToken" in last
    changed = calendar.events().patch(
        calendarId="primary", eventId=created[0]["id"], body={"summary": "Review (moved)"}
    )
    checked("calendar", "calendar.events.patch", changed.execute())
    calendar.events().delete(calendarId="primary", eventId=created[1]["id"]).execute()
    delta, after = list_all(calendar, syncToken=last["nextSyncToken"])
    by_id = {event["id"]: event for event in delta}
    assert by_id[created[0]["id"]]["summary"] == "Review (moved)"
    assert by_id[created[1]["id"]]["status"] == "cancelled"
    assert set(by_id) == {created[0]["id"], created[1]["id"]}
    assert after["nextSyncToken"] != last["nextSyncToken"]


def test_insert_with_a_meet_request_gets_a_conference(calendar: Resource) -> None:
    request_id = uuid.uuid4().hex
    conference = {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }
    created = insert(calendar, "Kick-off", 14, conferenceData=conference)
    assert created["hangoutLink"].startswith("https://meet.google.com/")
    data = created["conferenceData"]
    assert data["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert data["createRequest"]["requestId"] == request_id
    assert any(point["entryPointType"] == "video" for point in data["entryPoints"])


def test_patch_and_delete_then_deleting_again_is_gone(calendar: Resource) -> None:
    created = insert(calendar, "One-on-one", 16)
    patched = calendar.events().patch(
        calendarId="primary", eventId=created["id"], body={"location": "Atlas"}
    )
    assert checked("calendar", "calendar.events.patch", patched.execute())["location"] == "Atlas"
    calendar.events().delete(calendarId="primary", eventId=created["id"]).execute()
    with pytest.raises(HttpError) as gone:
        calendar.events().delete(calendarId="primary", eventId=created["id"]).execute()
    assert gone.value.resp.status == 410


def test_watch_delivers_then_channels_stop_ends_it(
    calendar: Resource, served: tuple[str, GoogleState], receiver_server: tuple[Receiver, str]
) -> None:
    _, state = served
    hook = new_hook(*receiver_server)
    body = {"id": uuid.uuid4().hex, "type": "web_hook", "address": hook.url, "token": "calhub"}
    channel = checked(
        "calendar",
        "calendar.events.watch",
        calendar.events().watch(calendarId="primary", body=body).execute(),
    )
    assert channel["resourceUri"].endswith("/calendar/v3/calendars/primary/events?alt=json")
    [sync] = hook.receiver.wait_for(hook.path, 1, 5.0)
    assert (sync.state, sync.number, sync.headers["x-goog-channel-token"]) == ("sync", 1, "calhub")
    insert(calendar, "Watched", 17)
    _, exists = hook.receiver.wait_for(hook.path, 2, 5.0)
    assert exists.state == "exists"
    assert exists.headers["x-goog-resource-id"] == channel["resourceId"]
    stopped = calendar.channels().stop(body={"id": body["id"], "resourceId": channel["resourceId"]})
    assert stopped.execute() in ("", None, {})
    assert all(listed["id"] != body["id"] for listed in state.channels.summary()["channels"])
    with pytest.raises(HttpError) as unknown:
        calendar.channels().stop(
            body={"id": body["id"], "resourceId": channel["resourceId"]}
        ).execute()
    assert unknown.value.resp.status == 404


def test_freebusy_query(calendar: Resource) -> None:
    insert(calendar, "Busy block", 20)
    query = {
        "timeMin": f"{DAY}T19:00:00Z",
        "timeMax": f"{DAY}T22:00:00Z",
        "items": [{"id": ADA}, {"id": BEN}, {"id": ROOM_ATLAS}, {"id": "nobody@northwind.test"}],
    }
    answer = checked(
        "calendar", "calendar.freebusy.query", calendar.freebusy().query(body=query).execute()
    )
    calendars = answer["calendars"]
    assert {"start": f"{DAY}T20:00:00Z", "end": f"{DAY}T20:30:00Z"} in calendars[ADA]["busy"]
    assert calendars[BEN]["busy"] == []
    assert calendars["nobody@northwind.test"]["errors"][0]["reason"] == "notFound"


def test_directory_lists_rooms_and_buildings_page_by_page(directory: Resource) -> None:
    calendars = directory.resources().calendars()
    request = calendars.list(customer="my_customer", maxResults=2)
    rooms: list[dict[str, Any]] = []
    pages = 0
    while request is not None:
        page = checked("directory", "directory.resources.calendars.list", request.execute())
        rooms.extend(page.get("items", []))
        pages += 1
        request = calendars.list_next(request, page)
    assert pages == 2
    assert {room["resourceEmail"] for room in rooms} >= {ROOM_ATLAS}
    assert len(rooms) == 3
    buildings_api = directory.resources().buildings()
    request = buildings_api.list(customer="my_customer", maxResults=1)
    buildings: list[str] = []
    while request is not None:
        page = checked("directory", "directory.resources.buildings.list", request.execute())
        buildings.extend(building["buildingId"] for building in page.get("buildings", []))
        request = buildings_api.list_next(request, page)
    assert sorted(buildings) == ["BER-1", "LON-1"]
