"""Seed loading: what the emulator fills in, and a bad seed named by the path of its problem."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from calhub.emulators.google.errors import SeedInvalid
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from tests.emulators.google import discovery
from tests.emulators.google.conftest import FROZEN_NOW
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    NORTHWIND,
    ROOM_ATLAS,
    ROOM_BOREAS,
    northwind_seed,
)


def fresh_state() -> GoogleState:
    return GoogleState(EmulatorClock(FROZEN_NOW, frozen=True))


def with_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    seed = northwind_seed()
    seed["customers"][0]["events"] = events
    return seed


def meeting(event_id: str, *attendees: str, hour: int = 9) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": f"meeting {event_id}",
        "start": {"dateTime": f"2026-03-03T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2026-03-03T{hour:02d}:30:00Z"},
        "attendees": [{"email": email} for email in attendees],
    }


def test_directory_resources_get_what_directory_generates() -> None:
    state = fresh_state()
    load_seed(state, northwind_seed())
    northwind = state.customers[NORTHWIND]
    atlas = northwind.resources["atlas"]
    assert atlas["resourceEmail"] == ROOM_ATLAS
    assert atlas["generatedResourceName"] == "LON-1-1-Atlas (8)"
    assert atlas["kind"] == "admin#directory#resources#calendars#CalendarResource"
    for resource in northwind.resources.values():
        discovery.check_resource("directory", "CalendarResource", resource)
    for building in northwind.buildings.values():
        discovery.check_resource("directory", "Building", building)
    given = northwind_seed()
    given["customers"][0]["resources"][0]["resourceEmail"] = (
        "atlas-room@resource.calendar.google.com"
    )
    load_seed(state, given)
    assert state.calendar_info("ATLAS-ROOM@resource.calendar.google.com") is not None


def test_calendars_exist_for_users_and_rooms() -> None:
    state = fresh_state()
    load_seed(state, northwind_seed())
    ada = state.calendar_info(ADA.upper())
    assert ada is not None
    assert (ada.id, ada.time_zone, ada.is_resource) == (ADA, "Europe/London", False)
    room = state.calendar_info(ROOM_BOREAS)
    assert room is not None
    assert (room.summary, room.time_zone, room.is_resource) == (
        "LON-1-2-Boreas (4)",
        "Europe/London",  # the customer's first user's
        True,
    )
    assert state.calendar_info("nobody@northwind.test") is None


def test_events_are_inserted_with_insert_semantics() -> None:
    state = fresh_state()
    load_seed(
        state, with_events([{"calendarId": ADA, "event": meeting("kickoff", BEN, ROOM_ATLAS)}])
    )
    summary = state.calendar.summary()
    assert {ADA, BEN, ROOM_ATLAS} <= set(summary)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda s: s.pop("customers"), "customers must be a JSON array"),
        (lambda s: s["customers"][0].pop("domain"), "customers[0].domain"),
        (lambda s: s["customers"][1].update(id=NORTHWIND), "customers[1].id"),
        (lambda s: s["customers"][0]["users"][2].update(timeZone="Mars/Olympus"),
         "customers[0].users[2].timeZone"),
        (lambda s: s["customers"][0]["users"][2].update(email="not-an-address"),
         "customers[0].users[2].email"),
        (lambda s: s["customers"][0]["users"][1].update(email=ADA.upper()), "used twice"),
        (lambda s: s["customers"][1]["users"][0].update(email=ADA), "used twice"),
        (lambda s: s["customers"][0]["service_accounts"][0].update(public_key_pem="xyz"),
         "customers[0].service_accounts[0].public_key_pem"),
        (lambda s: s["customers"][0]["service_accounts"][0].update(state="paused"),
         "customers[0].service_accounts[0].state"),
        (lambda s: s["customers"][0]["buildings"][0].update(floorNames=[]),
         "customers[0].buildings[0].floorNames"),
        (lambda s: s["customers"][0]["buildings"][0].update(colour="red"),
         "customers[0].buildings[0].colour"),
        (lambda s: s["customers"][0]["buildings"][0]["address"].pop("regionCode"),
         "customers[0].buildings[0].address.regionCode"),
        (lambda s: s["customers"][0]["resources"][0].update(buildingId="PAR-1"),
         "customers[0].resources[0].buildingId"),
        (lambda s: s["customers"][0]["resources"][0].update(floorName="9"),
         "customers[0].resources[0].floorName"),
        (lambda s: s["customers"][0]["resources"][1].update(capacity="four"),
         "customers[0].resources[1].capacity"),
        (lambda s: s["customers"][0]["resources"][1].update(resourceCategory="ROOM"),
         "customers[0].resources[1].resourceCategory"),
        (lambda s: s["customers"][0]["resources"][1].update(resourceId="atlas"),
         "customers[0].resources[1].resourceId"),
        (lambda s: s["customers"][0]["events"].append({"calendarId": "frank@fabrikam.test",
                                                       "event": meeting("x")}),
         "customers[0].events[0].calendarId"),
        (lambda s: s["customers"][0]["events"].append({"calendarId": ADA, "event": []}),
         "customers[0].events[0].event"),
        (lambda s: s["customers"][0]["events"].append(
            {"calendarId": ADA, "event": {"summary": "no times"}}), "customers[0].events[0].event"),
    ],
)  # fmt: skip
def test_a_bad_seed_names_where_and_loads_nothing(mutate: Any, where: str) -> None:
    state = fresh_state()
    load_seed(state, northwind_seed())
    before = state.dump()
    seed = copy.deepcopy(northwind_seed())
    mutate(seed)
    with pytest.raises(SeedInvalid, match=where.replace("[", r"\[").replace("]", r"\]")):
        load_seed(state, seed)
    assert state.dump() == before


def test_a_duplicate_event_id_is_reported_as_insert_would() -> None:
    seed = with_events(
        [
            {"calendarId": ADA, "event": meeting("dupe00001")},
            {"calendarId": ADA, "event": meeting("dupe00001")},
        ]
    )
    with pytest.raises(SeedInvalid, match=r"customers\[0\]\.events\[1\]\.event: .*already exists"):
        load_seed(fresh_state(), seed)


def test_the_example_seed_loads() -> None:
    text = (resources.files("calhub.emulators.google") / "data/seed.json").read_text()
    state = GoogleState(EmulatorClock())
    load_seed(state, json.loads(text))
    customer = next(iter(state.customers.values()))
    assert len(customer.users) == 5
    assert (len(customer.buildings), len(customer.resources)) == (2, 3)
    summary = state.calendar.summary()
    assert sum(counts["events"] for counts in summary.values()) >= 5
    assert any(state.calendar_info(calendar) and state.calendar_info(calendar).is_resource  # type: ignore[union-attr]
               for calendar in summary)  # fmt: skip
