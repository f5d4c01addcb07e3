"""``POST /token`` for service accounts with domain-wide delegation, and who is calling.

The token endpoint implements the JWT-bearer grant as google-auth's
``service_account.Credentials(...).with_subject(user)`` uses it (google.md §8.2): a form body
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``, the JWT signed RS256
with claims ``iss`` (the service account), ``scope`` (space-separated), ``aud``, ``iat``, ``exp``
and ``sub`` (the user to impersonate). Checks, in order, each answered with Google's OAuth error
JSON ``{"error", "error_description"}``:

- wrong ``grant_type`` → 400 ``unsupported_grant_type``; no or malformed assertion, or no ``sub``
  (the emulator issues delegated tokens only) → 400 ``invalid_request`` / ``invalid_grant``;
- unknown ``iss`` or a signature the seeded public key does not verify → 400 ``invalid_grant``;
- ``aud`` neither Google's token URL (google-auth always puts that one) nor this endpoint's own
  URL → 400 ``invalid_grant``;
- ``exp`` before ``iat``, more than an hour after it, already past, or ``iat`` more than five
  minutes ahead of the emulator clock → 400 ``invalid_grant``;
- empty scope → 400 ``invalid_scope``;
- ``sub`` not a user of any customer → 400 ``invalid_grant`` "Invalid email or User ID"; a user of
  another customer, revoked delegation, or a scope the admin did not grant → 401
  ``unauthorized_client``.

Success: ``{"access_token", "expires_in": 3599, "token_type": "Bearer"}``. Access tokens are
opaque random strings kept in ``state.tokens``; they die after an hour of emulator time, and with
the delegation: a call carrying one after consent is revoked is 401 ``authError``.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from calhub.emulators.google.errors import GoogleError
from calhub.emulators.google.state import AccessToken, Customer, GoogleState, state_of

TOKEN_LIFETIME_SECONDS = 3599
MAX_ASSERTION_LIFETIME_SECONDS = 3600
ALLOWED_CLOCK_SKEW_SECONDS = 300
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URLS = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://www.googleapis.com/oauth2/v4/token",
        "https://accounts.google.com/o/oauth2/token",
    }
)
_SCOPES_NOT_GRANTED = (
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Caller:
    """Whom a valid bearer token speaks for."""

    customer_id: str
    client_email: str  # the service account
    user_email: str  # the impersonated user (JWT "sub"), lower-cased
    scopes: frozenset[str]


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@router.post("/token", include_in_schema=True)
async def token(request: Request) -> JSONResponse:
    state = state_of(request)
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    fields = {name: values[0] for name, values in form.items()}
    try:
        caller = _grant(state, fields, str(request.url.replace(query="")))
    except _OAuthError as refused:
        body = {"error": refused.error, "error_description": refused.description}
        return JSONResponse(body, status_code=refused.status)
    access_token = mint_access_token(
        state, caller.customer_id, caller.client_email, caller.user_email, caller.scopes
    )
    return JSONResponse(
        {
            "access_token": access_token,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "token_type": "Bearer",
        },
        headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
    )


def _grant(state: GoogleState, fields: dict[str, str], own_url: str) -> Caller:
    if fields.get("grant_type") != JWT_BEARER:
        raise _OAuthError(400, "unsupported_grant_type", "Invalid grant_type: ")
    assertion = fields.get("assertion")
    if not assertion:
        raise _OAuthError(400, "invalid_request", "Missing required parameter: assertion")
    try:
        unverified: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as malformed:
        raise _OAuthError(400, "invalid_grant", "Invalid JWT: malformed assertion.") from malformed
    issuer = str(unverified.get("iss", ""))
    found = _service_account_owner(state, issuer)
    if found is None:
        raise _OAuthError(400, "invalid_grant", "Invalid grant: account not found")
    customer, public_key_pem = found
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            public_key_pem,
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as forged:
        raise _OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from forged
    audience = claims.get("aud")
    if audience not in GOOGLE_TOKEN_URLS and audience != own_url:
        raise _OAuthError(
            400,
            "invalid_grant",
            "Invalid JWT: Failed audience check. The right audience is "
            "https://oauth2.googleapis.com/token",
        )
    _check_lifetime(state, claims)
    scopes = frozenset(str(claims.get("scope", "")).split())
    if not scopes:
        raise _OAuthError(
            400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        )
    subject = str(claims.get("sub", "")).lower()
    if not subject:
        raise _OAuthError(
            400, "invalid_request", "The emulator issues delegated tokens only: sub is required."
        )
    return _delegate(state, customer, issuer, subject, scopes)


def _service_account_owner(state: GoogleState, client_email: str) -> tuple[Customer, str] | None:
    for customer in state.customers.values():
        account = customer.service_account(client_email)
        if account is not None:
            return customer, account.public_key_pem
    return None


def _check_lifetime(state: GoogleState, claims: dict[str, Any]) -> None:
    issued, expires = claims.get("iat"), claims.get("exp")
    now = state.clock.now().timestamp()
    short_lived = (
        isinstance(issued, int | float)
        and isinstance(expires, int | float)
        and issued <= expires <= issued + MAX_ASSERTION_LIFETIME_SECONDS
        and issued <= now + ALLOWED_CLOCK_SKEW_SECONDS
        and expires > now
    )
    if not short_lived:
        raise _OAuthError(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )


def _delegate(
    state: GoogleState, customer: Customer, issuer: str, subject: str, scopes: frozenset[str]
) -> Caller:
    account = customer.service_account(issuer)
    assert account is not None
    if customer.user(subject) is None:
        if any(c.user(subject) is not None for c in state.customers.values()):
            raise _OAuthError(
                401, "unauthorized_client", "Unauthorized client or scope in request."
            )
        raise _OAuthError(400, "invalid_grant", "Invalid email or User ID")
    if account.state != "granted":
        raise _OAuthError(401, "unauthorized_client", "Unauthorized client or scope in request.")
    if not scopes <= account.scopes:
        raise _OAuthError(401, "unauthorized_client", _SCOPES_NOT_GRANTED)
    return Caller(customer.id, account.client_email, subject, scopes)


def mint_access_token(
    state: GoogleState,
    customer_id: str,
    client_email: str,
    user_email: str,
    scopes: Iterable[str],
) -> str:
    """A bearer token for that delegation, valid for an hour of emulator time (tests use it
    to skip the JWT dance)."""
    value = "ya29.emu-" + secrets.token_urlsafe(48)
    state.tokens[value] = AccessToken(
        customer_id=customer_id,
        client_email=client_email,
        user_email=user_email.lower(),
        scopes=frozenset(scopes),
        expires_at=state.clock.now() + timedelta(seconds=TOKEN_LIFETIME_SECONDS),
    )
    return value


def caller_for(state: GoogleState, authorization: str | None) -> Caller:
    """The caller an ``Authorization`` header speaks for, or 401 as Google answers it."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise GoogleError(
            401,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access "
            "token, login cookie or other valid authentication credential.",
            location="Authorization",
            location_type="header",
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
    token = state.tokens.get(authorization[7:].strip())
    if token is None or not _still_valid(state, token):
        raise GoogleError(
            401,
            "authError",
            "Invalid Credentials",
            location="Authorization",
            location_type="header",
            headers={
                "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                'error="invalid_token"'
            },
        )
    return Caller(token.customer_id, token.client_email, token.user_email, token.scopes)


def _still_valid(state: GoogleState, token: AccessToken) -> bool:
    if token.expires_at <= state.clock.now():
        return False
    customer = state.customers.get(token.customer_id)
    if customer is None or customer.user(token.user_email) is None:
        return False
    account = customer.service_account(token.client_email)
    return account is not None and account.state == "granted"


async def require_caller(request: Request) -> Caller:
    """The FastAPI dependency: the caller, or 401 ``authError``. ``async`` (it awaits nothing)
    so FastAPI calls it on the event loop, not in its thread pool."""
    return caller_for(state_of(request), request.headers.get("authorization"))


CallerDep = Annotated[Caller, Depends(require_caller)]


def require_scope(caller: Caller, accepted: Iterable[str]) -> None:
    """403 ``insufficientPermissions`` unless the token carries one of ``accepted``."""
    if caller.scopes.isdisjoint(accepted):
        raise GoogleError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
