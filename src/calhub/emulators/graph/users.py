"""The directory's users: ``GET /v1.0/users`` and ``GET /v1.0/users/{id | userPrincipalName}``.

What a hub needs to discover mailboxes (Graph v1.0 "List users" / "Get user", User.Read.All):
``id``, ``userPrincipalName``, ``displayName`` and ``mail`` of the caller's tenant's users. Room
mailboxes are resource accounts the Places API lists (graph.md §7), so they are left out here, as
hubs discover them there. Users without an Exchange Online mailbox are still users: they are
listed, with ``mail`` null, and the mailbox checks of the calendar routes refuse them later.

Query options: ``$top`` (default 100, at most 999 as Graph allows), ``$select`` of the four
properties. Pages end with an ``@odata.nextLink`` carrying an opaque ``$skiptoken``, never
``$skip`` (which Graph refuses on users). The directory is tenant-wide, so only consent is checked,
not the mailbox access policy (it governs Exchange data, graph.md §11.3).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from fastapi import APIRouter, Request

from calhub.emulators.graph.access import CallerDep, require_consent
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.state import Mailbox

router = APIRouter(prefix="/v1.0/users")

METADATA: Final = "https://graph.microsoft.com/v1.0/$metadata#"
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 999
PROPERTIES: Final = ("id", "userPrincipalName", "displayName", "mail")


@router.get("")
async def list_users(request: Request, caller: CallerDep) -> dict[str, Any]:
    require_consent(caller)
    params = request.query_params
    top = _top(params.get("$top"))
    offset = _offset(params.get("$skiptoken"))
    selected = _selection(params.get("$select"))
    users = [m for m in caller.tenant.mailboxes.values() if m.kind == "user"]
    page = users[offset : offset + top]
    context = f"{METADATA}users"
    if selected != PROPERTIES:
        context += f"({','.join(selected)})"
    body: dict[str, Any] = {"@odata.context": context}
    if offset + top < len(users):
        query = [f"$top={top}", f"$skiptoken={_encode(offset + top)}"]
        if params.get("$select"):
            query.insert(0, f"$select={','.join(selected)}")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        body["@odata.nextLink"] = f"{origin}/v1.0/users?{'&'.join(query)}"
    body["value"] = [_user_json(user, selected) for user in page]
    return body


@router.get("/{user_id}")
async def get_user(user_id: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    require_consent(caller)
    user = caller.tenant.mailbox(user_id)
    if user is None or user.kind != "user":
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    selected = _selection(request.query_params.get("$select"))
    return {"@odata.context": f"{METADATA}users/$entity", **_user_json(user, selected)}


def _user_json(user: Mailbox, selected: tuple[str, ...]) -> dict[str, Any]:
    full = {
        "id": user.id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
        "mail": user.upn if user.rest_enabled else None,
    }
    return {name: full[name] for name in selected}


def _selection(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return PROPERTIES
    known = {name.lower(): name for name in PROPERTIES}
    selected = []
    for part in (p.strip() for p in raw.split(",")):
        name = known.get(part.lower())
        if name is None:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Could not find a property named '{part}' on type 'microsoft.graph.user'.",
            )
        selected.append(name)
    return tuple(selected)


def _top(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE_SIZE} "
            "inclusive.",
        )
    return int(raw)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"users:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "users" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or "
                     "is not valid.")  # fmt: skip
