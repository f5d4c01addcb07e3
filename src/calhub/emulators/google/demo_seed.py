"""The Google Workspace half of ``calhub demo``: Fabrikam, Northwind's subsidiary on Google.

``demo_seed(now, service_account)`` returns a seed in ``seed.py``'s format: the Fabrikam customer
(``fabrikam.example``) with six users, one building, three rooms and a week of meetings from
``now``'s day on (UTC): a stand-up series, meetings with rooms and Google Meet conferences, an
out-of-office day and a Meet meeting starting ``STARTING_SOON`` after ``now`` in the Lagoon
room. ``service_account`` is the emulator's example account (its key ships
in ``data/service-account.json``, a development key that opens nothing real); Mia is the
customer's administrator, whom calhub acts as for the Directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

DEMO_CUSTOMER_ID: Final = "C0fabr1kam"
DEMO_DOMAIN: Final = "fabrikam.example"
DEMO_BUILDING: Final = "FAB-LIS"
WEEK_DAYS: Final = 7
STARTING_SOON: Final = timedelta(minutes=12)
LISBON: Final = "Europe/Lisbon"


@dataclass(frozen=True, slots=True)
class Person:
    alias: str
    name: str

    @property
    def address(self) -> str:
        return f"{self.alias}@{DEMO_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Room:
    resource_id: str
    name: str
    capacity: int
    floor: str

    @property
    def address(self) -> str:
        return f"c_{self.resource_id}@resource.calendar.google.com"


PEOPLE: Final = (
    Person("mia", "Mia Costa"),
    Person("rui", "Rui Almeida"),
    Person("ines", "Inês Duarte"),
    Person("tiago", "Tiago Ferreira"),
    Person("sofia", "Sofia Nunes"),
    Person("joao", "João Pires"),
)
MIA, RUI, INES, TIAGO, SOFIA, JOAO = PEOPLE
ROOMS: Final = (
    Room("lagoon", "Lagoon", capacity=10, floor="1"),
    Room("harbour", "Harbour", capacity=6, floor="2"),
    Room("tram", "Tram", capacity=2, floor="2"),
)
LAGOON, HARBOUR, TRAM = ROOMS
ADMIN: Final = MIA


def demo_seed(now: datetime, service_account: dict[str, Any]) -> dict[str, Any]:
    today = now.astimezone(UTC).date()
    workdays = [d for d in (today + timedelta(days=n) for n in range(WEEK_DAYS)) if d.weekday() < 5]
    return {
        "customers": [
            {
                "id": DEMO_CUSTOMER_ID,
                "domain": DEMO_DOMAIN,
                "service_accounts": [service_account],
                "users": [
                    {
                        "email": p.address,
                        "name": p.name,
                        "timeZone": LISBON,
                        "isAdmin": p is ADMIN,
                    }
                    for p in PEOPLE
                ],
                "buildings": [
                    {
                        "buildingId": DEMO_BUILDING,
                        "buildingName": "Fabrikam Lisbon",
                        "floorNames": ["1", "2"],
                        "address": {"locality": "Lisbon", "regionCode": "PT"},
                    }
                ],
                "resources": [
                    {
                        "resourceId": room.resource_id,
                        "resourceName": room.name,
                        "resourceCategory": "CONFERENCE_ROOM",
                        "capacity": room.capacity,
                        "buildingId": DEMO_BUILDING,
                        "floorName": room.floor,
                    }
                    for room in ROOMS
                ],
                "events": _events(now, today, workdays),
            }
        ]
    }


def _events(now: datetime, today: date, workdays: list[date]) -> list[dict[str, Any]]:
    def day(n: int) -> date:
        return workdays[n % len(workdays)]

    soon = (now + STARTING_SOON).astimezone(UTC).replace(second=0, microsecond=0)
    return [
        _event(MIA, "Stand-up", today, "09:30", 15, [RUI, INES, TIAGO], HARBOUR,
               recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"]),
        _event(RUI, "Partner sync: Northwind", day(0), "15:00", 45, [SOFIA], LAGOON, meet=True),
        _event(INES, "Design critique", day(1), "11:00", 60, [MIA, JOAO], HARBOUR, meet=True),
        _event(TIAGO, "Phone screen", day(2), "10:00", 30, [], TRAM),
        _event(SOFIA, "Quarterly planning", day(3), "14:00", 90, [MIA, RUI, INES], LAGOON),
        _out_of_office(JOAO, day(4)),
        {
            "calendarId": MIA.address,
            "event": {
                "summary": "Customer demo",
                "location": "Lagoon",
                "start": {"dateTime": _instant(soon)},
                "end": {"dateTime": _instant(soon + timedelta(minutes=30))},
                "attendees": [{"email": RUI.address}, {"email": LAGOON.address, "resource": True}],
                "conferenceData": _meet_request("demo-soon"),
            },
        },
    ]  # fmt: skip


def _event(
    organizer: Person,
    summary: str,
    on: date,
    at: str,
    minutes: int,
    people: list[Person],
    room: Room | None,
    *,
    recurrence: list[str] | None = None,
    meet: bool = False,
) -> dict[str, Any]:
    start = datetime.fromisoformat(f"{on.isoformat()}T{at}:00")
    end = start + timedelta(minutes=minutes)
    attendees: list[dict[str, Any]] = [{"email": p.address} for p in people]
    if room is not None:
        attendees.append({"email": room.address, "resource": True})
    event: dict[str, Any] = {
        "summary": summary,
        "start": {"dateTime": start.isoformat(), "timeZone": LISBON},
        "end": {"dateTime": end.isoformat(), "timeZone": LISBON},
        "attendees": attendees,
    }
    if room is not None:
        event["location"] = room.name
    if recurrence is not None:
        event["recurrence"] = recurrence
    if meet:
        event["conferenceData"] = _meet_request(f"demo-{summary.lower().replace(' ', '-')}")
    return {"calendarId": organizer.address, "event": event}


def _out_of_office(person: Person, on: date) -> dict[str, Any]:
    return {
        "calendarId": person.address,
        "event": {
            "summary": "Out of office",
            "eventType": "outOfOffice",
            "transparency": "opaque",
            "start": {"dateTime": f"{on.isoformat()}T00:00:00", "timeZone": LISBON},
            "end": {"dateTime": f"{(on + timedelta(days=1)).isoformat()}T00:00:00",
                    "timeZone": LISBON},
            "outOfOfficeProperties": {"autoDeclineMode": "declineOnlyNewConflictingInvitations"},
        },
    }  # fmt: skip


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meet_request(request_id: str) -> dict[str, Any]:
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }
