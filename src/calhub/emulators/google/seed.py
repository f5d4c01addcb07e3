"""Seed files: the JSON that ``--seed`` and ``POST /_emulator/reset`` load (issue 7's format).

``{"customers": [{"id", "domain", "service_accounts": [{"client_email", "public_key_pem",
"scopes": [...], "state": "granted" | "revoked"}], "users": [{"email", "name", "timeZone"}],
"buildings": [Building], "resources": [CalendarResource], "events": [{"calendarId",
"event": {...Calendar event JSON as for insert...}}]}]}``

Buildings and resources are in Directory's shape (google.md §7.3–7.4); the emulator fills in
what Directory generates: ``kind``, ``etags``, a resource's ``resourceEmail``
(``c_<resourceId>@resource.calendar.google.com`` unless given) and ``generatedResourceName``
(``building-floor-name (capacity)``). Optional extensions: a user's ``id`` (Directory's numeric
id; derived from the address when absent) and ``isAdmin``. Events are inserted through
``CalendarStore.seed_event`` with insert semantics.

A bad seed raises ``SeedInvalid`` naming the offending path (``customers[0].users[2].timeZone``)
and loads nothing: the world is built and its events inserted on a scratch state first.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from calhub.emulators.google.errors import SeedInvalid
from calhub.emulators.google.state import Customer, GoogleState, ServiceAccount, User

RESOURCE_KIND = "admin#directory#resources#calendars#CalendarResource"
BUILDING_KIND = "admin#directory#resources#buildings#Building"
RESOURCE_FIELDS = frozenset(
    {
        "resourceId", "resourceName", "resourceEmail", "resourceType", "resourceCategory",
        "capacity", "buildingId", "floorName", "floorSection", "featureInstances",
        "userVisibleDescription", "resourceDescription", "generatedResourceName",
    }
)  # fmt: skip
BUILDING_FIELDS = frozenset(
    {"buildingId", "buildingName", "description", "floorNames", "coordinates", "address"}
)
ADDRESS_FIELDS = frozenset(
    {
        "addressLines", "administrativeArea", "languageCode", "locality", "postalCode",
        "regionCode", "sublocality",
    }
)  # fmt: skip
CATEGORIES = ("CONFERENCE_ROOM", "OTHER", "CATEGORY_UNKNOWN")


@dataclass(slots=True)
class _Parsed:
    customer: Customer
    events: list[tuple[str, Mapping[str, Any], str]] = field(default_factory=list)


def load_seed(state: GoogleState, seed: Any) -> None:
    """Replace the state's world with ``seed``; on error the state is left as it was."""
    parsed = _parse(seed)
    scratch = GoogleState(state.clock)
    _install(scratch, parsed)
    state.reset()
    _install(state, parsed)


def _parse(seed: Any) -> list[_Parsed]:
    parsed = [_customer(raw, f"customers[{i}]") for i, raw in enumerate(_list(seed, "customers"))]
    seen_ids: set[str] = set()
    seen_calendars: dict[str, str] = {}
    for i, entry in enumerate(parsed):
        customer = entry.customer
        if customer.id in seen_ids:
            raise SeedInvalid(f"customers[{i}].id: {customer.id} is used twice")
        seen_ids.add(customer.id)
        addresses = [u.email for u in customer.users.values()]
        addresses += [r["resourceEmail"] for r in customer.resources.values()]
        for address in addresses:
            owner = seen_calendars.setdefault(address.lower(), customer.id)
            if owner != customer.id or addresses.count(address) > 1:
                raise SeedInvalid(f"customers[{i}]: the address {address} is used twice")
    return parsed


def _install(state: GoogleState, parsed: list[_Parsed]) -> None:
    state.customers = {entry.customer.id: entry.customer for entry in parsed}
    for entry in parsed:
        for calendar_id, event, where in entry.events:
            info = state.calendar_info(calendar_id)
            if info is None or info.customer_id != entry.customer.id:
                raise SeedInvalid(f"{where}.calendarId: no calendar {calendar_id} in this customer")
            try:
                state.calendar.seed_event(info.id, event)
            except ValueError as refused:
                raise SeedInvalid(f"{where}.event: {refused}") from refused


def _customer(raw: Any, where: str) -> _Parsed:
    data = _mapping(raw, where)
    customer = Customer(id=_str(data, "id", where), domain=_str(data, "domain", where))
    for i, item in enumerate(_list(data, "service_accounts", where, optional=True)):
        account = _service_account(item, f"{where}.service_accounts[{i}]")
        customer.service_accounts[account.client_email.lower()] = account
    for i, item in enumerate(_list(data, "users", where, optional=True)):
        user = _user(item, f"{where}.users[{i}]")
        if user.email.lower() in customer.users:
            raise SeedInvalid(f"{where}.users[{i}]: the address {user.email} is used twice")
        customer.users[user.email.lower()] = user
    for i, item in enumerate(_list(data, "buildings", where, optional=True)):
        building = _building(item, f"{where}.buildings[{i}]")
        if building["buildingId"] in customer.buildings:
            raise SeedInvalid(f"{where}.buildings[{i}].buildingId is used twice")
        customer.buildings[building["buildingId"]] = building
    for i, item in enumerate(_list(data, "resources", where, optional=True)):
        resource = _resource(item, customer, f"{where}.resources[{i}]")
        if resource["resourceId"] in customer.resources:
            raise SeedInvalid(f"{where}.resources[{i}].resourceId is used twice")
        customer.resources[resource["resourceId"]] = resource
    parsed = _Parsed(customer)
    for i, item in enumerate(_list(data, "events", where, optional=True)):
        entry = _mapping(item, f"{where}.events[{i}]")
        calendar_id = _str(entry, "calendarId", f"{where}.events[{i}]")
        event = _mapping(entry.get("event"), f"{where}.events[{i}].event")
        parsed.events.append((calendar_id, event, f"{where}.events[{i}]"))
    return parsed


def _service_account(raw: Any, where: str) -> ServiceAccount:
    data = _mapping(raw, where)
    pem = _str(data, "public_key_pem", where)
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as unreadable:
        raise SeedInvalid(f"{where}.public_key_pem is not a PEM public key") from unreadable
    if not isinstance(key, RSAPublicKey):
        raise SeedInvalid(f"{where}.public_key_pem must be an RSA key (tokens are RS256)")
    scopes = _list(data, "scopes", where)
    if not all(isinstance(s, str) and s for s in scopes):
        raise SeedInvalid(f"{where}.scopes must be non-empty strings")
    state = data.get("state", "granted")
    if state not in ("granted", "revoked"):
        raise SeedInvalid(f"{where}.state must be granted or revoked")
    return ServiceAccount(_address(data, "client_email", where), pem, frozenset(scopes), state)


def _user(raw: Any, where: str) -> User:
    data = _mapping(raw, where)
    email = _address(data, "email", where)
    time_zone = _str(data, "timeZone", where)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SeedInvalid(f"{where}.timeZone: {time_zone!r} is not an IANA time zone") from None
    user_id = data.get("id") or _numeric_id(email)
    if not isinstance(user_id, str) or not user_id.isdigit():
        raise SeedInvalid(f"{where}.id must be a string of digits")
    is_admin = data.get("isAdmin", False)
    if not isinstance(is_admin, bool):
        raise SeedInvalid(f"{where}.isAdmin must be true or false")
    return User(email, _str(data, "name", where), time_zone, user_id, is_admin)


def _building(raw: Any, where: str) -> dict[str, Any]:
    data = dict(_mapping(raw, where))
    _only(data, BUILDING_FIELDS, where)
    for name in ("buildingId", "buildingName"):
        if len(_str(data, name, where)) > 100:
            raise SeedInvalid(f"{where}.{name} is longer than 100 characters")
    floors = _list(data, "floorNames", where)
    if not floors or not all(isinstance(f, str) and f for f in floors):
        raise SeedInvalid(f"{where}.floorNames must list at least one floor name")
    if "coordinates" in data:
        coordinates = _mapping(data["coordinates"], f"{where}.coordinates")
        _only(coordinates, frozenset({"latitude", "longitude"}), f"{where}.coordinates")
        if not all(_is_number(coordinates.get(k)) for k in ("latitude", "longitude")):
            raise SeedInvalid(f"{where}.coordinates needs numeric latitude and longitude")
    if "address" in data:
        address = _mapping(data["address"], f"{where}.address")
        _only(address, ADDRESS_FIELDS, f"{where}.address")
        _str(address, "regionCode", f"{where}.address")
    return {"kind": BUILDING_KIND, "etags": _etag(data), **data}


def _resource(raw: Any, customer: Customer, where: str) -> dict[str, Any]:
    data = dict(_mapping(raw, where))
    _only(data, RESOURCE_FIELDS, where)
    resource_id = _str(data, "resourceId", where)
    name = _str(data, "resourceName", where)
    data.setdefault("resourceCategory", "CONFERENCE_ROOM")
    if data["resourceCategory"] not in CATEGORIES:
        raise SeedInvalid(f"{where}.resourceCategory must be one of {', '.join(CATEGORIES)}")
    capacity = data.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
        raise SeedInvalid(f"{where}.capacity must be an integer")
    building_id = data.get("buildingId")
    if building_id is not None:
        building = customer.buildings.get(str(building_id))
        if building is None:
            raise SeedInvalid(f"{where}.buildingId: no building {building_id} in this customer")
        floor = data.get("floorName")
        if floor is not None and floor not in building["floorNames"]:
            raise SeedInvalid(f"{where}.floorName: {floor} is not a floor of {building_id}")
    data.setdefault("resourceEmail", f"c_{resource_id.lower()}@resource.calendar.google.com")
    _address(data, "resourceEmail", where)
    prefix = "-".join(str(data[k]) for k in ("buildingId", "floorName") if data.get(k))
    generated = f"{prefix}-{name}" if prefix else name
    data.setdefault("generatedResourceName", f"{generated} ({capacity})" if capacity else generated)
    return {"kind": RESOURCE_KIND, "etags": _etag(data), **data}


def _numeric_id(email: str) -> str:
    """A stable 21-digit id like Directory's, derived from the address."""
    digest = int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:8], "big")
    return f"1{digest:020d}"[:21]


def _etag(data: Mapping[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).digest()  # noqa: S324
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def _only(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SeedInvalid(f"{where}.{unknown[0]} is not a field of this Directory resource")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SeedInvalid(f"{where} must be a JSON object")
    return cast(Mapping[str, Any], raw)


def _list(data: Any, key: str, where: str = "seed", *, optional: bool = False) -> list[Any]:
    value = _mapping(data, where).get(key)
    if value is None and optional:
        return []
    if not isinstance(value, list):
        path = key if where == "seed" else f"{where}.{key}"
        raise SeedInvalid(f"{path} must be a JSON array")
    return value


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise SeedInvalid(f"{where}.{key} must be a non-empty string")
    return value


def _address(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(data, key, where)
    local, _, domain = value.partition("@")
    if not local or "." not in domain:
        raise SeedInvalid(f"{where}.{key}: {value!r} is not an email address")
    return value
