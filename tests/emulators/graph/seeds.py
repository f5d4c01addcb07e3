"""The seed the Graph emulator tests share: one busy tenant and one neighbour for isolation."""

from __future__ import annotations

from typing import Any

CONTOSO = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
FABRIKAM = "5c4a7b2e-91d3-4f0a-8e77-1f2d3c4b5a69"
APP_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
APP_SECRET = "s3cret-value"
ADELE = "6f0b6e5d-0a3b-4e8e-9c2d-1a2b3c4d5e01"
ALEX = "6f0b6e5d-0a3b-4e8e-9c2d-1a2b3c4d5e02"
MEGAN = "6f0b6e5d-0a3b-4e8e-9c2d-1a2b3c4d5e03"
ONPREM = "6f0b6e5d-0a3b-4e8e-9c2d-1a2b3c4d5e04"
ROOM_100 = "3162f1e1-c4c0-604b-51d8-91da78989eb1"
ROOM_200 = "3162f1e1-c4c0-604b-51d8-91da78989eb2"
ROOM_HIDDEN = "3162f1e1-c4c0-604b-51d8-91da78989eb3"
ROOM_RESERVED = "3162f1e1-c4c0-604b-51d8-91da78989eb4"


def _rooms() -> list[dict[str, Any]]:
    return [
        _room(ROOM_100, "cf100", "Conf Room 100", capacity=12, floor=1),
        _room(ROOM_200, "cf200", "Conf Room 200", capacity=6, floor=2),
        _room(ROOM_HIDDEN, "hidden", "Board Room", capacity=20, floor=9, hidden=True),
        _room(ROOM_RESERVED, "hotdesk", "Hot Desk Room", capacity=4, floor=1, booking="reserved"),
    ]


def contoso_seed() -> dict[str, Any]:
    """Contoso: three users (Megan outside the access policy), one on-premises mailbox, four
    rooms (one hidden, one first-come-first-served); Fabrikam: one user, another app."""
    rooms = _rooms()
    allowed = ["adele@contoso.test", "alex@contoso.test", "onprem@contoso.test"]
    allowed += [room["emailAddress"] for room in rooms]
    return {
        "tenants": [
            {
                "id": CONTOSO,
                "domain": "contoso.test",
                "apps": [{"client_id": APP_ID, "client_secret": APP_SECRET, "consent": "granted"}],
                "access_policy": {"allowed": allowed},
                "users": [
                    {
                        "id": ADELE,
                        "userPrincipalName": "adele@contoso.test",
                        "displayName": "Adele Vance",
                        "mailboxSettings": {
                            "timeZone": "W. Europe Standard Time",
                            "language": {"locale": "de-DE", "displayName": "Deutsch (Deutschland)"},
                        },
                    },
                    {
                        "id": ALEX,
                        "userPrincipalName": "alex@contoso.test",
                        "displayName": "Alex Wilber",
                    },
                    {
                        "id": MEGAN,
                        "userPrincipalName": "megan@contoso.test",
                        "displayName": "Megan Bowen",
                    },
                    {
                        "id": ONPREM,
                        "userPrincipalName": "onprem@contoso.test",
                        "displayName": "On Prem",
                        "mailboxEnabled": False,
                    },
                ],
                "rooms": rooms,
                "events": [],
            },
            {
                "id": FABRIKAM,
                "domain": "fabrikam.test",
                "apps": [
                    {"client_id": "fabrikam-app", "client_secret": "other", "consent": "granted"}
                ],
                "access_policy": None,
                "users": [
                    {
                        "id": "7a1b2c3d-0000-4000-8000-000000000001",
                        "userPrincipalName": "pat@fabrikam.test",
                        "displayName": "Pat",
                    }
                ],
                "rooms": [],
                "events": [],
            },
        ]
    }


def _room(
    room_id: str,
    alias: str,
    name: str,
    *,
    capacity: int,
    floor: int,
    hidden: bool = False,
    booking: str = "standard",
) -> dict[str, Any]:
    return {
        "id": room_id,
        "emailAddress": f"{alias}@contoso.test",
        "displayName": name,
        "capacity": capacity,
        "building": "Building 1",
        "floorNumber": floor,
        "floorLabel": f"Floor {floor}",
        "bookingType": booking,
        "roomList": "building1@contoso.test",
        "hidden": hidden,
    }
