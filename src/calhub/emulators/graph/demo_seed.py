"""The world ``calhub demo`` shows a newcomer: one tenant with a busy week that is always current.

``demo_seed(now)`` returns a seed in ``seed.py``'s format: the Northwind tenant with ten users,
four rooms and a week of meetings from ``now``'s day on (UTC): stand-ups, one-to-ones and an
all-hands as recurring series, one-off meetings with rooms as attendees, focus time and a day
off. Times are given relative to ``now`` so the demo always shows this week, whenever it runs
(issue 4, "Proof": a seeded tenant "so a newcomer sees real data"). The app starts with consent
pending, so the demo's admin-consent round trip matters; its secret is the emulator's only and
opens nothing real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

DEMO_TENANT_ID: Final = "4f1c2b7a-8d3e-4a6f-9b1c-0e2d3f4a5b6c"
DEMO_DOMAIN: Final = "northwind.example"
DEMO_APP_ID: Final = "a7e3c1d9-5b2f-4e8a-9c6d-1f0b2e3d4c5a"
DEMO_APP_SECRET: Final = "northwind-demo-secret"  # noqa: S105 - the emulator's, public on purpose
WEEK_DAYS: Final = 7

BERLIN: Final = "W. Europe Standard Time"
SEATTLE: Final = "Pacific Standard Time"
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Person:
    alias: str
    name: str
    time_zone: str = BERLIN

    @property
    def address(self) -> str:
        return f"{self.alias}@{DEMO_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Room:
    alias: str
    name: str
    capacity: int
    floor: int

    @property
    def address(self) -> str:
        return f"{self.alias}@{DEMO_DOMAIN}"


PEOPLE: Final = (
    Person("adele", "Adele Vance"),
    Person("alex", "Alex Wilber"),
    Person("megan", "Megan Bowen", SEATTLE),
    Person("lee", "Lee Gu"),
    Person("nestor", "Nestor Wilke"),
    Person("patti", "Patti Fernandez"),
    Person("pradeep", "Pradeep Gupta"),
    Person("isaiah", "Isaiah Langer", SEATTLE),
    Person("johanna", "Johanna Lorenz"),
    Person("lidia", "Lidia Holloway"),
)
ADELE, ALEX, MEGAN, LEE, NESTOR, PATTI, PRADEEP, ISAIAH, JOHANNA, LIDIA = PEOPLE
ROOMS: Final = (
    Room("adams", "Conf Room Adams", capacity=8, floor=1),
    Room("baker", "Conf Room Baker", capacity=16, floor=2),
    Room("crystal", "Conf Room Crystal", capacity=4, floor=2),
    Room("boardroom", "Board Room", capacity=24, floor=5),
)
ADAMS, BAKER, CRYSTAL, BOARDROOM = ROOMS


STARTING_SOON: Final = timedelta(minutes=7)  # a join prompt (5 minutes ahead) two minutes in


def demo_seed(now: datetime) -> dict[str, Any]:
    """The demo tenant with a week of meetings starting on ``now``'s day (UTC), and one
    ``@webex`` meeting in the Board Room starting ``STARTING_SOON`` after ``now``."""
    today = now.astimezone(UTC).date()
    workdays = [d for d in (today + timedelta(days=n) for n in range(WEEK_DAYS)) if d.weekday() < 5]
    return {
        "tenants": [
            {
                "id": DEMO_TENANT_ID,
                "domain": DEMO_DOMAIN,
                "apps": [
                    {
                        "client_id": DEMO_APP_ID,
                        "client_secret": DEMO_APP_SECRET,
                        "consent": "pending",
                    }
                ],
                "access_policy": None,
                "users": [_user(index, person) for index, person in enumerate(PEOPLE)],
                "rooms": [_room(index, room) for index, room in enumerate(ROOMS)],
                "events": [
                    *_series(today, workdays),
                    *_meetings(workdays),
                    _starting_soon(now),
                ],
            }
        ]
    }


def _user(index: int, person: Person) -> dict[str, Any]:
    return {
        "id": f"0d3e5f7a-1b2c-4d4e-8f6a-7b8c9d0e{index:04x}",
        "userPrincipalName": person.address,
        "displayName": person.name,
        "mailboxSettings": {"timeZone": person.time_zone},
    }


def _room(index: int, room: Room) -> dict[str, Any]:
    return {
        "id": f"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7{index:04x}",
        "emailAddress": room.address,
        "displayName": room.name,
        "capacity": room.capacity,
        "building": "Northwind HQ",
        "floorNumber": room.floor,
        "floorLabel": f"Floor {room.floor}",
        "bookingType": "standard",
        "roomList": f"hq@{DEMO_DOMAIN}",
        "hidden": False,
    }


def _series(today: date, workdays: list[date]) -> list[dict[str, Any]]:
    """Recurring meetings: every workday, weekly and a short run of sessions."""
    every_workday = {"type": "weekly", "interval": 1, "daysOfWeek": list(WEEKDAYS[:5])}
    one_to_one_day, all_hands_day = workdays[1], workdays[-1]
    return [
        _meeting(
            ADELE, "Daily stand-up", today, "09:00", minutes=15,
            people=[ALEX, LEE, NESTOR, JOHANNA], room=CRYSTAL,
            recurrence=_recurrence(every_workday, today, {"type": "noEnd"}),
        ),
        _meeting(
            PATTI, "Patti / Pradeep 1:1", one_to_one_day, "14:00", minutes=30,
            people=[PRADEEP],
            recurrence=_recurrence(
                _weekly_on(one_to_one_day), one_to_one_day, {"type": "noEnd"}
            ),
        ),
        _meeting(
            NESTOR, "All hands", all_hands_day, "16:00", minutes=60,
            people=[p for p in PEOPLE if p is not NESTOR], room=BOARDROOM,
            recurrence=_recurrence(
                _weekly_on(all_hands_day), all_hands_day,
                {"type": "numbered", "numberOfOccurrences": 8},
            ),
            online=True,
        ),
        _meeting(
            JOHANNA, "Onboarding: calhub basics", workdays[0], "13:00", minutes=45,
            people=[LIDIA, ISAIAH], room=ADAMS,
            recurrence=_recurrence(
                {"type": "daily", "interval": 1}, workdays[0],
                {"type": "numbered", "numberOfOccurrences": 3},
            ),
        ),
    ]  # fmt: skip


def _meetings(workdays: list[date]) -> list[dict[str, Any]]:
    """One-off meetings spread over the week's workdays."""

    def day(n: int) -> date:
        return workdays[n % len(workdays)]

    return [
        _meeting(ADELE, "Design review", day(0), "14:00", minutes=60,
                 people=[ALEX, MEGAN], room=BAKER, online=True),
        _meeting(ALEX, "Focus time", day(1), "10:00", minutes=120, show_as="busy"),
        _meeting(MEGAN, "Customer call: Fabrikam", day(1), "08:30", minutes=45,
                 people=[ISAIAH], online=True),
        _meeting(LEE, "Interview: backend engineer", day(2), "11:00", minutes=60,
                 people=[PRADEEP], room=ADAMS),
        _meeting(PRADEEP, "Budget planning", day(2), "15:00", minutes=90,
                 people=[NESTOR, PATTI, ADELE], room=BOARDROOM),
        _meeting(LIDIA, "Team lunch", day(3), "12:00", minutes=60,
                 people=[JOHANNA, ISAIAH, LEE], location="Canteen"),
        _meeting(ISAIAH, "Sprint planning", day(3), "10:00", minutes=60,
                 people=[MEGAN, ALEX, LEE], room=BAKER, online=True),
        _meeting(NESTOR, "Vendor demo", day(4), "11:00", minutes=45,
                 people=[PATTI], room=CRYSTAL),
        _meeting(JOHANNA, "Retrospective", day(4), "14:30", minutes=60,
                 people=[ADELE, ALEX, LEE, NESTOR], room=ADAMS),
        _day_off(LIDIA, day(4)),
    ]  # fmt: skip


def _starting_soon(now: datetime) -> dict[str, Any]:
    """Adele types ``@webex`` into Location and invites the Board Room: calhub writes the join
    details, and the room's device gets its join prompt five minutes before the start."""
    begins = (now + STARTING_SOON).astimezone(UTC).replace(second=0, microsecond=0)
    meeting = _meeting(
        ADELE, "Project kickoff", begins.date(), begins.strftime("%H:%M"), minutes=30,
        people=[ALEX, LEE], room=BOARDROOM,
    )  # fmt: skip
    meeting["event"]["start"]["timeZone"] = meeting["event"]["end"]["timeZone"] = "UTC"
    meeting["event"]["location"] = {"displayName": "@webex"}
    return meeting


def _weekly_on(day: date) -> dict[str, Any]:
    return {"type": "weekly", "interval": 1, "daysOfWeek": [WEEKDAYS[day.weekday()]]}


def _recurrence(pattern: dict[str, Any], start: date, end: dict[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in end.items() if k != "type"}
    return {
        "pattern": pattern | {"firstDayOfWeek": "monday"},
        "range": {"type": end["type"], "startDate": start.isoformat(), **extra},
    }


def _meeting(
    organizer: Person,
    subject: str,
    day: date,
    start: str,
    *,
    minutes: int,
    people: list[Person] | None = None,
    room: Room | None = None,
    recurrence: dict[str, Any] | None = None,
    online: bool = False,
    show_as: str | None = None,
    location: str | None = None,
) -> dict[str, Any]:
    begins = datetime.fromisoformat(f"{day.isoformat()}T{start}:00")
    ends = begins + timedelta(minutes=minutes)
    attendees = [_attendee(p.address, p.name, "required") for p in people or []]
    event: dict[str, Any] = {
        "subject": subject,
        "body": {"contentType": "text", "content": f"{subject}, organised by {organizer.name}."},
        "start": {"dateTime": begins.isoformat(), "timeZone": organizer.time_zone},
        "end": {"dateTime": ends.isoformat(), "timeZone": organizer.time_zone},
        "attendees": attendees,
    }
    if room is not None:
        attendees.append(_attendee(room.address, room.name, "resource"))
        event["location"] = {"displayName": room.name, "locationEmailAddress": room.address}
    elif location is not None:
        event["location"] = {"displayName": location}
    if recurrence is not None:
        event["recurrence"] = recurrence | {
            "range": recurrence["range"] | {"recurrenceTimeZone": organizer.time_zone}
        }
    if online:
        event |= {"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
    if show_as is not None:
        event["showAs"] = show_as
    return {"mailbox": organizer.address, "event": event}


def _day_off(person: Person, day: date) -> dict[str, Any]:
    return {
        "mailbox": person.address,
        "event": {
            "subject": "Day off",
            "isAllDay": True,
            "showAs": "oof",
            "start": {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": person.time_zone},
            "end": {
                "dateTime": f"{(day + timedelta(days=1)).isoformat()}T00:00:00",
                "timeZone": person.time_zone,
            },
        },
    }


def _attendee(address: str, name: str, kind: str) -> dict[str, Any]:
    return {"emailAddress": {"address": address, "name": name}, "type": kind}
