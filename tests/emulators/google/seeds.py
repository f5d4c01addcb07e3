"""The worlds the Google emulator tests share, and a service-account key pair made once.

Northwind (``northwind.test``): five users (Ada is an administrator), two buildings, three rooms
and a service account granted Calendar and Directory scopes; Fabrikam (``fabrikam.test``): one
user and its own service account, a neighbour for isolation checks. The RSA key pair is generated
once per test session; ``key_file`` is it in Google's service-account key-file format.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

NORTHWIND = "C01northwind"
FABRIKAM = "C02fabrikam"
SERVICE_ACCOUNT = "calhub-sync@calhub-test.iam.gserviceaccount.com"
FABRIKAM_ACCOUNT = "fabrikam-sync@fabrikam-test.iam.gserviceaccount.com"
ADA = "ada@northwind.test"
BEN = "ben@northwind.test"
CHLOE = "chloe@northwind.test"
DEV = "dev@northwind.test"
EMMA = "emma@northwind.test"
FRANK = "frank@fabrikam.test"
ROOM_ATLAS = "c_atlas@resource.calendar.google.com"
ROOM_BOREAS = "c_boreas@resource.calendar.google.com"
ROOM_CAIRO = "c_cairo@resource.calendar.google.com"

SCOPE = "https://www.googleapis.com/auth/"
CALENDAR = SCOPE + "calendar"
CALENDAR_READONLY = SCOPE + "calendar.readonly"
CALENDAR_EVENTS = SCOPE + "calendar.events"
FREEBUSY = SCOPE + "calendar.freebusy"
RESOURCES_READONLY = SCOPE + "admin.directory.resource.calendar.readonly"
USERS_READONLY = SCOPE + "admin.directory.user.readonly"
GRANTED_SCOPES = (
    CALENDAR,
    CALENDAR_READONLY,
    CALENDAR_EVENTS,
    FREEBUSY,
    RESOURCES_READONLY,
    USERS_READONLY,
)


@cache
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_private_key() -> rsa.RSAPrivateKey:
    """A key the emulator does not know: signatures made with it must be refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    return (
        (key or private_key())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_key_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    return (
        (key or private_key())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_file(token_uri: str, client_email: str = SERVICE_ACCOUNT) -> dict[str, str]:
    """The service account's key in Google's JSON key-file format."""
    return {
        "type": "service_account",
        "project_id": "calhub-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private_key_pem(),
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


def delegated_service_account(client_email: str = SERVICE_ACCOUNT) -> dict[str, Any]:
    """A seeded service account with domain-wide delegation granted for ``GRANTED_SCOPES``."""
    return {
        "client_email": client_email,
        "public_key_pem": public_key_pem(),
        "scopes": list(GRANTED_SCOPES),
        "state": "granted",
    }


def northwind_seed() -> dict[str, Any]:
    return {
        "customers": [
            {
                "id": NORTHWIND,
                "domain": "northwind.test",
                "service_accounts": [delegated_service_account()],
                "users": [
                    {
                        "email": ADA,
                        "name": "Ada Lovelace",
                        "timeZone": "Europe/London",
                        "isAdmin": True,
                    },
                    {"email": BEN, "name": "Ben Okafor", "timeZone": "Europe/Berlin"},
                    {"email": CHLOE, "name": "Chloe Martin", "timeZone": "America/New_York"},
                    {"email": DEV, "name": "Dev Patel", "timeZone": "Asia/Kolkata"},
                    {"email": EMMA, "name": "Emma Berg", "timeZone": "Europe/Stockholm"},
                ],
                "buildings": [
                    {
                        "buildingId": "LON-1",
                        "buildingName": "London Wharf",
                        "floorNames": ["G", "1", "2"],
                        "coordinates": {"latitude": 51.5033, "longitude": -0.0195},
                        "address": {
                            "addressLines": ["1 Wharf Road"],
                            "locality": "London",
                            "postalCode": "E14 5AB",
                            "regionCode": "GB",
                        },
                    },
                    {"buildingId": "BER-1", "buildingName": "Berlin Hof", "floorNames": ["EG"]},
                ],
                "resources": [
                    {
                        "resourceId": "atlas",
                        "resourceName": "Atlas",
                        "capacity": 8,
                        "buildingId": "LON-1",
                        "floorName": "1",
                        "featureInstances": [{"feature": {"name": "Display"}}],
                    },
                    {
                        "resourceId": "boreas",
                        "resourceName": "Boreas",
                        "capacity": 4,
                        "buildingId": "LON-1",
                        "floorName": "2",
                    },
                    {
                        "resourceId": "cairo",
                        "resourceName": "Cairo",
                        "capacity": 12,
                        "buildingId": "BER-1",
                        "floorName": "EG",
                    },
                ],
                "events": [],
            },
            {
                "id": FABRIKAM,
                "domain": "fabrikam.test",
                "service_accounts": [
                    {
                        "client_email": FABRIKAM_ACCOUNT,
                        "public_key_pem": public_key_pem(other_private_key()),
                        "scopes": [CALENDAR],
                    }
                ],
                "users": [
                    {
                        "email": FRANK,
                        "name": "Frank Ito",
                        "timeZone": "Asia/Tokyo",
                        "isAdmin": True,
                    },
                ],
            },
        ]
    }
