"""Admin SDK Directory: calendar resources, buildings and users (google.md §7).

- ``GET /admin/directory/v1/customer/{customer}/resources/calendars[/{calendarResourceId}]``
  → ``CalendarResources`` (key ``items``) / ``CalendarResource``; ``orderBy`` as Directory spells
  it (``"buildingId, capacity desc"``); ``query`` is not emulated (400 says so).
- ``GET .../customer/{customer}/resources/buildings[/{buildingId}]`` → ``Buildings`` (key
  ``buildings``) / ``Building``.
- ``GET /admin/directory/v1/users?customer=|domain=`` → ``Users`` (key ``users``), ``orderBy``
  ``email|givenName|familyName`` with ``sortOrder``.

``customer`` is the caller's customer id or the alias ``my_customer``; anything else, a domain
not the caller's, or a caller that is not an administrator (seed ``isAdmin``) is 403
"Not Authorized to access this resource/api". Lists page with ``maxResults`` (1..500, default
100) and an opaque ``pageToken``; empty lists omit their key, as Directory does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from calhub.emulators.google.access import Caller, CallerDep, require_scope
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.google.state import Customer, GoogleState, StateDep, User

PREFIX = "/admin/directory/v1"
_SCOPE = "https://www.googleapis.com/auth/admin.directory."
RESOURCE_SCOPES = (_SCOPE + "resource.calendar", _SCOPE + "resource.calendar.readonly")
USER_SCOPES = (
    _SCOPE + "user",
    _SCOPE + "user.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
)
RESOURCE_ORDER_FIELDS = ("resourceId", "resourceName", "capacity", "buildingId", "floorName")
USER_ORDER_FIELDS = {"email": "primaryEmail", "givenName": "givenName", "familyName": "familyName"}
DEFAULT_PAGE_SIZE = 100
MaxResults = Annotated[int | None, Query(alias="maxResults")]
PageToken = Annotated[str | None, Query(alias="pageToken")]

router = APIRouter(prefix=PREFIX)


@router.get("/customer/{customer}/resources/calendars")
async def list_calendar_resources(
    customer: str,
    state: StateDep,
    caller: CallerDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
    order_by: Annotated[str | None, Query(alias="orderBy")] = None,
    query: str | None = None,
) -> dict[str, Any]:
    account = _admin_customer(state, caller, customer, RESOURCE_SCOPES)
    if query is not None:
        raise GoogleError(
            400, "invalid", "The emulator does not support query.", location="query",
            location_type="parameter",
        )  # fmt: skip
    resources = list(account.resources.values())
    if order_by:
        resources = _ordered(resources, order_by)
    return _page(
        "admin#directory#resources#calendars#calendarResourcesList",
        "items",
        resources,
        max_results,
        page_token,
    )


@router.get("/customer/{customer}/resources/calendars/{calendar_resource_id}")
async def get_calendar_resource(
    customer: str, calendar_resource_id: str, state: StateDep, caller: CallerDep
) -> dict[str, Any]:
    account = _admin_customer(state, caller, customer, RESOURCE_SCOPES)
    resource = account.resources.get(calendar_resource_id)
    if resource is None:
        raise GoogleError(404, "notFound", "Resource Not Found: " + calendar_resource_id)
    return resource


@router.get("/customer/{customer}/resources/buildings")
async def list_buildings(
    customer: str,
    state: StateDep,
    caller: CallerDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    account = _admin_customer(state, caller, customer, RESOURCE_SCOPES)
    return _page(
        "admin#directory#resources#buildings#buildingsList",
        "buildings",
        list(account.buildings.values()),
        max_results,
        page_token,
    )


@router.get("/customer/{customer}/resources/buildings/{building_id}")
async def get_building(
    customer: str, building_id: str, state: StateDep, caller: CallerDep
) -> dict[str, Any]:
    account = _admin_customer(state, caller, customer, RESOURCE_SCOPES)
    building = account.buildings.get(building_id)
    if building is None:
        raise GoogleError(404, "notFound", "Resource Not Found: " + building_id)
    return building


@router.get("/users")
async def list_users(
    state: StateDep,
    caller: CallerDep,
    customer: str | None = None,
    domain: str | None = None,
    max_results: MaxResults = None,
    page_token: PageToken = None,
    order_by: Annotated[str | None, Query(alias="orderBy")] = None,
    sort_order: Annotated[str | None, Query(alias="sortOrder")] = None,
) -> dict[str, Any]:
    if customer is None and domain is None:
        raise GoogleError(400, "badRequest", "Bad Request")
    account = _admin_customer(state, caller, customer or "my_customer", USER_SCOPES)
    if domain is not None and domain.lower() != account.domain.lower():
        raise _not_authorized()
    users = [user_resource(account, user) for user in account.users.values()]
    if order_by is not None:
        if order_by not in USER_ORDER_FIELDS or sort_order not in (None, "ASCENDING", "DESCENDING"):
            raise GoogleError(400, "invalid", "Invalid Input: orderBy", location="orderBy",
                              location_type="parameter")  # fmt: skip
        users = sorted(
            users,
            key=_user_sort_key(USER_ORDER_FIELDS[order_by]),
            reverse=sort_order == "DESCENDING",
        )
    return _page("admin#directory#users", "users", users, max_results, page_token)


def user_resource(customer: Customer, user: User) -> dict[str, Any]:
    """A user in Directory's ``User`` shape (the ``basic`` projection's main fields)."""
    given, _, family = user.name.partition(" ")
    body: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": user.id,
        "primaryEmail": user.email,
        "name": {"givenName": given, "familyName": family or given, "fullName": user.name},
        "isAdmin": user.is_admin,
        "isDelegatedAdmin": False,
        "customerId": customer.id,
        "orgUnitPath": "/",
        "isMailboxSetup": True,
        "includeInGlobalAddressList": True,
        "suspended": False,
        "archived": False,
        "emails": [{"address": user.email, "primary": True}],
    }
    return {"etag": _etag(body), **body}


def _admin_customer(
    state: GoogleState, caller: Caller, customer: str, scopes: Iterable[str]
) -> Customer:
    require_scope(caller, scopes)
    if customer not in ("my_customer", caller.customer_id):
        raise _not_authorized()
    account = state.customers[caller.customer_id]
    user = account.user(caller.user_email)
    if user is None or not user.is_admin:
        raise _not_authorized()
    return account


def _not_authorized() -> GoogleError:
    return GoogleError(403, "forbidden", "Not Authorized to access this resource/api")


def _page(
    kind: str,
    key: str,
    items: list[dict[str, Any]],
    max_results: int | None,
    page_token: str | None,
) -> dict[str, Any]:
    size = DEFAULT_PAGE_SIZE if max_results is None else max_results
    if not 1 <= size <= 500:
        raise GoogleError(
            400,
            "invalid",
            f"Invalid value '{size}'. Values must be within the range: [1, 500]",
            location="maxResults",
            location_type="parameter",
        )
    start = 0 if page_token is None else _offset(page_token, kind, len(items))
    body: dict[str, Any] = {"kind": kind, "etag": _etag(items)}
    if items[start : start + size]:
        body[key] = items[start : start + size]
    if start + size < len(items):
        body["nextPageToken"] = _token(kind, start + size)
    return body


def _token(kind: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str, kind: str, total: int) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
        valid = data["k"] == kind and isinstance(offset, int) and 0 <= offset <= total
    except (ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise GoogleError(
            400, "invalid", "Invalid Input: pageToken", location="pageToken",
            location_type="parameter",
        )  # fmt: skip
    return int(offset)


def _ordered(resources: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    """Directory's ``orderBy``: comma-separated ``field [asc|desc]`` clauses."""
    clauses: list[tuple[str, bool]] = []
    for clause in order_by.split(","):
        words = clause.split()
        if not words or words[0] not in RESOURCE_ORDER_FIELDS or len(words) > 2:
            raise GoogleError(400, "invalid", "Invalid Input: orderBy", location="orderBy",
                              location_type="parameter")  # fmt: skip
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise GoogleError(400, "invalid", "Invalid Input: orderBy", location="orderBy",
                              location_type="parameter")  # fmt: skip
        clauses.append((words[0], direction == "desc"))
    ordered = list(resources)
    for name, descending in reversed(clauses):  # stable sorts, least significant first
        ordered.sort(key=_resource_sort_key(name), reverse=descending)
    return ordered


def _resource_sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(resource: dict[str, Any]) -> tuple[bool, Any]:
        value = resource.get(name)
        return (value is not None, value if value is not None else 0)

    return key


def _user_sort_key(name: str) -> Callable[[dict[str, Any]], str]:
    def key(user: dict[str, Any]) -> str:
        value = user["primaryEmail"] if name == "primaryEmail" else user["name"][name]
        return str(value).lower()

    return key


def _etag(value: Any) -> str:
    digest = hashlib.sha1(json.dumps(value, sort_keys=True).encode()).digest()  # noqa: S324
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'
