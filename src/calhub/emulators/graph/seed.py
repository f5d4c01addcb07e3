"""Seed files: the JSON that ``--seed`` and ``POST /_emulator/reset`` load (issue 3's format).

``{"tenants": [{"id", "domain", "apps": [{"client_id", "client_secret", "consent"}],
"access_policy": {"allowed": [upn, ...]} | null, "users": [...], "rooms": [...],
"events": [{"mailbox": upn, "event": {...Graph event JSON as for POST...}}]}]}``

Extensions beyond the issue's format, all optional: an app's ``certificate_pem`` (for client
assertions), ``redirect_uris`` and ``client_secret_expires_at`` (ISO instant); a user's
``mailboxEnabled: false`` (no Exchange Online mailbox);
any further Graph ``room`` property on a room (``address``, ``tags``, ``nickname``, ...).
A bad seed raises ``SeedInvalid`` naming the offending path and loads nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from calhub.emulators.graph.errors import SeedInvalid
from calhub.emulators.graph.events.seeding import seed_events
from calhub.emulators.graph.state import App, GraphState, Mailbox, RoomInfo, Tenant

CONSENTS = ("granted", "pending", "denied", "revoked", "deleted")
ROOM_FIELDS = {
    "id", "emailAddress", "displayName", "capacity", "building", "floorNumber", "floorLabel",
    "bookingType", "roomList", "hidden", "mailboxSettings",
}  # fmt: skip


def default_mailbox_settings(kind: str) -> dict[str, Any]:
    return {
        "archiveFolder": None,
        "timeZone": "UTC",
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": kind,
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {
                "dateTime": "2026-01-01T00:00:00.0000000",
                "timeZone": "UTC",
            },
            "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "UTC"},
        },
    }


def load_seed(state: GraphState, seed: Any) -> None:
    """Replace the state's world with ``seed``; on error the state is left as it was.

    Everything is built on a scratch state first (events are seeded as if POSTed, which can
    fail late), and only a complete world replaces the live one."""
    tenants = [_tenant(t, f"tenants[{i}]") for i, t in enumerate(_list(seed, "tenants", "seed"))]
    scratch = GraphState(state.clock)
    scratch.tenants = {tenant.id: tenant for tenant, _ in tenants}
    for tenant, raw in tenants:
        seed_events(scratch, tenant, _list(raw, "events", f"tenant {tenant.id}", optional=True))
    state.reset()
    state.tenants = scratch.tenants
    state.events = scratch.events


def _tenant(raw: Any, where: str) -> tuple[Tenant, Mapping[str, Any]]:
    data = _mapping(raw, where)
    tenant = Tenant(id=_guid(data, "id", where), domain=_str(data, "domain", where))
    for i, app_raw in enumerate(_list(data, "apps", where, optional=True)):
        app = _app(app_raw, f"{where}.apps[{i}]")
        tenant.apps[app.client_id] = app
    policy = data.get("access_policy")
    if policy is not None:
        allowed = _list(_mapping(policy, f"{where}.access_policy"), "allowed", where)
        tenant.allowed = frozenset(str(upn).lower() for upn in allowed)
    for i, user_raw in enumerate(_list(data, "users", where, optional=True)):
        tenant.add_mailbox(_user(user_raw, tenant.id, f"{where}.users[{i}]"))
    for i, room_raw in enumerate(_list(data, "rooms", where, optional=True)):
        room = _room(room_raw, tenant.id, f"{where}.rooms[{i}]")
        if tenant.mailbox(room.upn) is not None:
            raise SeedInvalid(f"{where}.rooms[{i}]: address {room.upn} is already taken")
        tenant.add_mailbox(room)
    return tenant, data


def _app(raw: Any, where: str) -> App:
    data = _mapping(raw, where)
    consent = data.get("consent", "granted")
    if consent not in CONSENTS:
        raise SeedInvalid(f"{where}.consent must be one of {', '.join(CONSENTS)}")
    secret = data.get("client_secret")
    certificate = data.get("certificate_pem")
    if secret is None and certificate is None:
        raise SeedInvalid(f"{where} needs a client_secret or a certificate_pem")
    return App(
        client_id=_str(data, "client_id", where),
        client_secret=None if secret is None else str(secret),
        consent=consent,
        certificate_pem=None if certificate is None else str(certificate),
        redirect_uris=tuple(str(u) for u in _list(data, "redirect_uris", where, optional=True)),
        client_secret_expires_at=_optional_instant(data, "client_secret_expires_at", where),
    )


def _optional_instant(data: Mapping[str, Any], name: str, where: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SeedInvalid(f"{where}.{name} must be an ISO 8601 instant") from exc
    if moment.tzinfo is None:
        raise SeedInvalid(f"{where}.{name} needs a time zone offset")
    return moment


def _user(raw: Any, tenant_id: str, where: str) -> Mailbox:
    data = _mapping(raw, where)
    settings = default_mailbox_settings("user")
    settings.update(_mapping(data.get("mailboxSettings", {}), f"{where}.mailboxSettings"))
    return Mailbox(
        id=_guid(data, "id", where),
        upn=_str(data, "userPrincipalName", where),
        display_name=str(data.get("displayName") or data["userPrincipalName"]),
        tenant_id=tenant_id,
        settings=settings,
        rest_enabled=bool(data.get("mailboxEnabled", True)),
    )


def _room(raw: Any, tenant_id: str, where: str) -> Mailbox:
    data = _mapping(raw, where)
    booking = data.get("bookingType", "standard")
    if booking not in ("standard", "reserved"):
        raise SeedInvalid(f"{where}.bookingType must be standard or reserved")
    settings = default_mailbox_settings("room")
    settings.update(_mapping(data.get("mailboxSettings", {}), f"{where}.mailboxSettings"))
    info = RoomInfo(
        capacity=_optional_int(data, "capacity", where),
        building=_optional_str(data, "building"),
        floor_number=_optional_int(data, "floorNumber", where),
        floor_label=_optional_str(data, "floorLabel"),
        booking_type=booking,
        room_list=_optional_str(data, "roomList"),
        hidden=bool(data.get("hidden", False)),
        extra={k: v for k, v in data.items() if k not in ROOM_FIELDS},
    )
    address = _str(data, "emailAddress", where)
    return Mailbox(
        id=_guid(data, "id", where),
        upn=address,
        display_name=str(data.get("displayName") or address),
        tenant_id=tenant_id,
        kind="room",
        settings=settings,
        room=info,
    )


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SeedInvalid(f"{where} must be a JSON object")
    return cast(Mapping[str, Any], raw)


def _list(data: Any, key: str, where: str, *, optional: bool = False) -> list[Any]:
    value = _mapping(data, where).get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise SeedInvalid(f"{where}.{key} must be a JSON array")
    return value


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise SeedInvalid(f"{where}.{key} must be a non-empty string")
    return value


def _guid(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise SeedInvalid(f"{where}.{key} must be a GUID, got {value!r}") from None


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _optional_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedInvalid(f"{where}.{key} must be an integer")
    return value
