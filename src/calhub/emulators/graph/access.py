"""Who is calling and which mailbox they may touch: bearer tokens and mailbox resolution.

Access tokens are JWTs signed (HS256) with the emulator's own key, carrying ``tid``, ``appid``,
``roles`` and ``exp`` like the identity platform's (graph.md §11.2); clients treat them as opaque.
Expiry is judged on the emulator clock, so advancing the clock expires tokens.

Mailbox checks, in Graph's order: unknown user → 404 ``ErrorInvalidUser``; no Exchange Online
mailbox → 404 ``MailboxNotEnabledForRESTAPI``; consent revoked → 403 ``ErrorAccessDenied``;
outside the tenant's application access policy → 403 ``ErrorAccessDenied`` (RAOP).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.state import App, GraphState, Mailbox, Tenant

TOKEN_LIFETIME_SECONDS = 3599
GRAPH_AUDIENCE = "https://graph.microsoft.com"
CALENDAR_ROLES = ("Calendars.ReadWrite", "MailboxSettings.Read", "Place.Read.All", "User.Read.All")


@dataclass(frozen=True, slots=True)
class Caller:
    """The app a valid bearer token was issued to, in its tenant."""

    tenant: Tenant
    app: App
    expires: datetime


def graph_state(request: Request) -> GraphState:
    state: GraphState = request.app.state.graph
    return state


def mint_token(state: GraphState, tenant: Tenant, app: App) -> str:
    now = int(state.clock.now().timestamp())
    claims = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{tenant.id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "appid": app.client_id,
        "tid": tenant.id,
        "oid": app.service_principal_id,
        "roles": list(CALENDAR_ROLES) if app.consent == "granted" else [],
        "uti": uuid.uuid4().hex,
        "ver": "1.0",
    }
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _sign(state.signing_key, f"{header}.{payload}")
    return f"{header}.{payload}.{signature}"


def verify_token(state: GraphState, authorization: str | None) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthenticated("Access token is empty.")
    token = authorization[7:].strip()
    claims = _claims(state, token)
    if claims is None:
        raise _unauthenticated("IDX14100: JWT is not well formed, there are no dots (.).")
    now = state.clock.now().timestamp()
    if not claims.get("nbf", 0) <= now < claims.get("exp", 0):
        raise _unauthenticated("Access token has expired or is not yet valid.")
    tenant = state.tenant(str(claims.get("tid", "")))
    app = tenant.apps.get(str(claims.get("appid", ""))) if tenant else None
    if tenant is None or app is None:
        raise _unauthenticated("Access token validation failure. Invalid audience.")
    return Caller(tenant, app, datetime.fromtimestamp(claims["exp"], tz=state.clock.now().tzinfo))


def resolve_mailbox(caller: Caller, key: str) -> Mailbox:
    """The mailbox ``/users/{key}`` names, or the Graph error a real tenant would answer."""
    mailbox = caller.tenant.mailbox(key)
    if mailbox is None:
        if _looks_malformed(key):
            raise GraphError(400, "Request_BadRequest", f"Invalid object identifier '{key}'.")
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if not mailbox.rest_enabled:
        raise GraphError(
            404,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    require_consent(caller)
    if not caller.tenant.allows(mailbox):
        raise GraphError(
            403,
            "ErrorAccessDenied",
            "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
            "AccessPolicy settings.",
        )
    return mailbox


def require_consent(caller: Caller) -> None:
    """Revoked consent: tokens still issue, but every Outlook call is denied (graph.md §11.2)."""
    if caller.app.consent != "granted":
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )


async def current_state(request: Request) -> GraphState:
    """``graph_state`` as a dependency; async, so FastAPI does not hop to a worker thread."""
    return graph_state(request)


async def current_caller(request: Request) -> Caller:
    return verify_token(graph_state(request), request.headers.get("authorization"))


async def current_mailbox(
    user_id: str, caller: Annotated[Caller, Depends(current_caller)]
) -> Mailbox:
    return resolve_mailbox(caller, user_id)


CallerDep = Annotated[Caller, Depends(current_caller)]
MailboxDep = Annotated[Mailbox, Depends(current_mailbox)]
StateDep = Annotated[GraphState, Depends(current_state)]


def _unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="", authorization_uri="", client_id=""'},
    )


def _claims(state: GraphState, token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = _sign(state.signing_key, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _sign(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _looks_malformed(key: str) -> bool:
    """Neither a GUID nor an address: Graph rejects the identifier itself."""
    if "@" in key:
        return False
    try:
        uuid.UUID(key)
    except ValueError:
        return True
    return False
