"""The identity platform's app-only surface: tokens, OpenID metadata and tenant-wide admin consent.

- ``POST /{tenant}/oauth2/v2.0/token``: the client-credentials grant with a client secret (form
  field or HTTP Basic) or a certificate client assertion (graph.md §11.2). Tokens come from
  ``access.mint_token``; revoked or pending consent still yields a token, without roles, so Outlook
  calls then answer 403; a deleted service principal fails with ``invalid_client`` 7000229.
  Errors carry the identity platform's body: ``error``, ``error_description`` ("AADSTSnnnn: ...
  Trace ID ... Correlation ID ... Timestamp ..."), ``error_codes``, ``timestamp``, ``trace_id``,
  ``correlation_id``, ``error_uri``.
- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: what msal and azure-identity read
  before the token request (client-recipes.md §1b, §2). Endpoints are built from the request's own
  origin, or from the public authority set with ``advertise_authority`` when clients reach the
  emulator through a rewriting session under another name (client-recipes.md §2).
- ``GET /{tenant}/adminconsent`` and ``GET /{tenant}/v2.0/adminconsent``: tenant-wide admin consent
  (graph.md §11.1); the emulator's admin always approves, which also brings back a deleted service
  principal, unless the app's consent is ``denied``: then the answer is ``access_denied``.

The tenant segment is a tenant GUID or domain; admin consent also takes ``common`` and
``organizations`` (the app's own tenant is used).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from calhub.emulators.graph.access import TOKEN_LIFETIME_SECONDS, graph_state, mint_token
from calhub.emulators.graph.errors import request_ids
from calhub.emulators.graph.state import App, GraphState, Tenant

router = APIRouter()

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MULTI_TENANT_ALIASES = ("common", "organizations")
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
ASSERTION_SKEW_SECONDS = 300  # the identity platform tolerates five minutes of clock skew
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class IdentityRefusal(Exception):
    """A refused identity request: the OAuth ``error`` and the AADSTS number and text."""

    status: int
    error: str
    aadsts: int
    message: str


def advertise_authority(app: FastAPI, public_base: str) -> None:
    """Advertise ``public_base`` (e.g. ``https://login.emu.test``) in the OpenID metadata."""
    app.state.public_authority = public_base.rstrip("/")


# --- token endpoint -------------------------------------------------------------------------


@router.post("/{tenant}/oauth2/v2.0/token", include_in_schema=False)
async def token(tenant: str, request: Request) -> Response:
    state = graph_state(request)
    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), True))
    try:
        directory = _tenant_for_token(state, tenant)
        app = _authenticate(state, directory, fields, request)
    except IdentityRefusal as refusal:
        return _refusal_response(request, refusal)
    body = {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": mint_token(state, directory, app),
    }
    return JSONResponse(body, headers=NO_STORE)


def _tenant_for_token(state: GraphState, key: str) -> Tenant:
    directory = state.tenant(key)
    if directory is None:
        raise IdentityRefusal(400, "invalid_request", 90002, _tenant_not_found(key))
    return directory


def _authenticate(
    state: GraphState, directory: Tenant, fields: dict[str, str], request: Request
) -> App:
    grant_type = _required(fields, "grant_type")
    if grant_type != "client_credentials":
        raise IdentityRefusal(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )
    basic_id, basic_secret = _basic_credentials(request.headers.get("authorization"))
    client_id = fields.get("client_id") or basic_id or _required(fields, "client_id")
    _check_scope(_required(fields, "scope"))
    app = directory.apps.get(client_id)
    if app is None:
        raise IdentityRefusal(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{directory.domain}'. This can happen if the application has not been installed by "
            "the administrator of the tenant or consented to by any user in the tenant. You may "
            "have sent your authentication request to the wrong tenant.",
        )
    if app.consent == "deleted":
        raise IdentityRefusal(
            401,
            "invalid_client",
            7000229,
            f"The client application {client_id} is missing service principal in the tenant "
            f"{directory.id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
        )
    secret = fields.get("client_secret") or basic_secret
    if secret is not None:
        _check_secret(state, app, secret)
    elif "client_assertion" in fields:
        if fields.get("client_assertion_type") != JWT_BEARER:
            raise _missing("client_assertion_type")
        _check_assertion(state, directory, app, fields["client_assertion"])
    else:
        raise IdentityRefusal(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    return app


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise _missing(name)
    return value


def _missing(name: str) -> IdentityRefusal:
    return IdentityRefusal(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _check_scope(scope: str) -> None:
    """Exactly one ``{resource}/.default`` (kiota sends ``http://127.0.0.1/.default``)."""
    requested = [s for s in scope.split() if s not in RESERVED_SCOPES]
    if len(requested) != 1 or not requested[0].endswith("/.default"):
        raise IdentityRefusal(
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope {scope} "
            "is not valid.",
        )


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """``client_secret_basic``: ``Authorization: Basic base64(client_id:secret)``, both parts
    form-urlencoded first (RFC 6749 §2.3.1)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id) or None, unquote_plus(secret) or None


def _check_secret(state: GraphState, app: App, secret: str) -> None:
    if app.client_secret is None or not _same(app.client_secret, secret):
        raise IdentityRefusal(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'.",
        )
    expires_at = app.client_secret_expires_at
    if expires_at is not None and state.clock.now() >= expires_at:
        raise IdentityRefusal(
            401,
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{app.client_id}' are expired. Visit the "
            "Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
            "consider using certificate credentials for added security: "
            "https://aka.ms/certCreds.",
        )


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


# --- certificate client assertions ------------------------------------------------------------


def _check_assertion(state: GraphState, directory: Tenant, app: App, assertion: str) -> None:
    """An RS256/PS256 JWT signed with the key of the app's registered certificate.

    ``iss`` and ``sub`` name the app, ``aud`` is a token endpoint of this tenant (the host is not
    compared: clients may reach the emulator under another name), and the assertion is current.
    """
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError:
        raise _assertion_refused(50027, "JWT token is invalid or malformed.") from None
    key = _registered_key(app)
    if key is None or not _thumbprints_match(app, header):
        named = header.get("x5t#S256") or header.get("x5t")
        raise _assertion_refused(
            700027,
            "The certificate with identifier used to sign the client assertion is not "
            f"registered on application. [Reason - The key was not found., Thumbprint of key used "
            f"by client: '{named}']",
        )
    try:
        claims = jwt.decode(
            assertion,
            key=key,
            algorithms=["RS256", "PS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
        )
    except jwt.InvalidTokenError:
        raise _assertion_refused(700027, "Client assertion failed signature validation.") from None
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise _assertion_refused(
            700021, "Client assertion application identifier doesn't match 'client_id' parameter."
        )
    if not _audience_is_this_tenant(state, directory, claims.get("aud")):
        raise _assertion_refused(
            700023, "Client assertion audience claim does not match Realm issuer."
        )
    if not _is_current(state, claims):
        raise _assertion_refused(700024, "Client assertion is not within its valid time range.")


def _assertion_refused(aadsts: int, message: str) -> IdentityRefusal:
    return IdentityRefusal(401, "invalid_client", aadsts, message)


def _registered_key(app: App) -> RSAPublicKey | None:
    """The RSA key of the app's certificate (or bare public key), if it has a usable one."""
    if app.certificate_pem is None:
        return None
    pem = app.certificate_pem.encode()
    key: object
    try:
        if b"CERTIFICATE" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except ValueError:
        return None
    return key if isinstance(key, RSAPublicKey) else None


def _thumbprints_match(app: App, header: Mapping[str, Any]) -> bool:
    """``x5t`` (SHA-1) and ``x5t#S256`` (SHA-256), where given, name the app's certificate;
    msal sends them base64url with padding, RFC 7515 §4.1.7 without."""
    given = {name: header[name] for name in ("x5t", "x5t#S256") if name in header}
    if not given:
        return True
    if app.certificate_pem is None or "CERTIFICATE" not in app.certificate_pem:
        return False
    try:
        certificate = x509.load_pem_x509_certificate(app.certificate_pem.encode())
    except ValueError:
        return False
    # x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7).
    algorithms = {"x5t": hashes.SHA1(), "x5t#S256": hashes.SHA256()}  # noqa: S303
    for name, value in given.items():
        expected = base64.urlsafe_b64encode(certificate.fingerprint(algorithms[name]))
        if not isinstance(value, str) or value.rstrip("=") != expected.rstrip(b"=").decode():
            return False
    return True


def _audience_is_this_tenant(state: GraphState, directory: Tenant, audience: Any) -> bool:
    audiences = audience if isinstance(audience, list) else [audience]
    for value in audiences:
        if not isinstance(value, str):
            continue
        segments = urlsplit(value).path.strip("/").split("/")
        tail = "/".join(segments[1:])
        if (
            tail in ("oauth2/v2.0/token", "oauth2/token", "v2.0")
            and state.tenant(segments[0]) is directory
        ):
            return True
    return False


def _is_current(state: GraphState, claims: Mapping[str, Any]) -> bool:
    """Current on the emulator clock or on the wall clock: real clients sign with real time even
    when a test has moved the emulator's clock."""
    expires, not_before = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
    if not isinstance(expires, int | float) or not isinstance(not_before, int | float):
        return False
    instants = (state.clock.now().timestamp(), time.time())
    return any(
        not_before - ASSERTION_SKEW_SECONDS <= now < expires + ASSERTION_SKEW_SECONDS
        for now in instants
    )


# --- OpenID metadata ------------------------------------------------------------------------


@router.get("/{tenant}/v2.0/.well-known/openid-configuration", include_in_schema=False)
async def openid_configuration(tenant: str, request: Request) -> Response:
    state = graph_state(request)
    directory = state.tenant(tenant)
    if directory is None and tenant.lower() not in (*MULTI_TENANT_ALIASES, "consumers"):
        refusal = IdentityRefusal(400, "invalid_tenant", 90002, _tenant_not_found(tenant))
        return _refusal_response(request, refusal)
    segment = directory.id if directory else tenant.lower()
    issuer_tenant = directory.id if directory else "{tenantid}"
    base = authority_base(request)
    endpoints = f"{base}/{segment}/oauth2/v2.0"
    return JSONResponse(
        {
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "authorization_endpoint": f"{endpoints}/authorize",
            "token_endpoint": f"{endpoints}/token",
            "device_authorization_endpoint": f"{endpoints}/devicecode",
            "end_session_endpoint": f"{endpoints}/logout",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "request_uri_parameter_supported": False,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        }
    )


def authority_base(request: Request) -> str:
    """The origin clients use for the identity platform: the advertised one, else the request's."""
    public: str | None = getattr(request.app.state, "public_authority", None)
    return public or str(request.base_url).rstrip("/")


# --- admin consent --------------------------------------------------------------------------


@router.get("/{tenant}/adminconsent", include_in_schema=False)
async def admin_consent(tenant: str, request: Request) -> Response:
    return _consent(tenant, request, v2=False)


@router.get("/{tenant}/v2.0/adminconsent", include_in_schema=False)
async def admin_consent_v2(tenant: str, request: Request) -> Response:
    return _consent(tenant, request, v2=True)


def _consent(tenant_key: str, request: Request, *, v2: bool) -> Response:
    state = graph_state(request)
    query = request.query_params
    client_id = query.get("client_id", "")
    if not client_id:
        return _error_page(request, _missing("client_id"))
    found = _consenting_tenant(state, tenant_key, client_id)
    if isinstance(found, IdentityRefusal):
        return _error_page(request, found)
    directory, app = found
    redirect_uri = _redirect_uri(app, query.get("redirect_uri"))
    if isinstance(redirect_uri, IdentityRefusal):
        return _error_page(request, redirect_uri)
    # v2.0 errors carry admin_consent and tenant too (graph.md §11.1): clients check error first.
    answer = {"admin_consent": "True", "tenant": directory.id} if v2 else {}
    if v2 and not query.get("scope"):
        answer |= _error_params(request, "invalid_request", _missing("scope"))
    elif app.consent == "denied":
        refusal = IdentityRefusal(
            400, "access_denied", 65004, "User declined to consent to access the app."
        )
        answer |= _error_params(request, "access_denied", refusal)
    else:
        app.consent = "granted"
        answer = {"admin_consent": "True", "tenant": directory.id}
        if v2:
            answer["scope"] = query["scope"]
    if "state" in query:
        answer["state"] = query["state"]
    return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)


def _consenting_tenant(
    state: GraphState, key: str, client_id: str
) -> tuple[Tenant, App] | IdentityRefusal:
    if key.lower() in MULTI_TENANT_ALIASES:
        # No sign-in here: the admin is the one of the (first) tenant that registered the app.
        candidates = [t for t in state.tenants.values() if client_id in t.apps]
        directory = candidates[0] if candidates else None
    else:
        directory = state.tenant(key)
        if directory is None:
            return IdentityRefusal(400, "invalid_request", 90002, _tenant_not_found(key))
    app = directory.apps.get(client_id) if directory else None
    if directory is None or app is None:
        where = directory.domain if directory else key
        return IdentityRefusal(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{where}'.",
        )
    return directory, app


def _redirect_uri(app: App, given: str | None) -> str | IdentityRefusal:
    """The given URI if registered (or nothing is registered), else the registered default."""
    if not given:
        if app.redirect_uris:
            return app.redirect_uris[0]
        return IdentityRefusal(
            400,
            "invalid_request",
            500113,
            "No reply address is registered for the application.",
        )
    registered = [uri.rstrip("/") for uri in app.redirect_uris]
    wanted = given.rstrip("/")
    if not registered or any(wanted == r or wanted.startswith(r + "/") for r in registered):
        return given
    return IdentityRefusal(
        400,
        "invalid_request",
        50011,
        f"The redirect URI '{given}' specified in the request does not match the redirect URIs "
        f"configured for the application '{app.client_id}'.",
    )


def _error_params(request: Request, error: str, refusal: IdentityRefusal) -> dict[str, str]:
    return {"error": error, "error_description": _description(request, refusal)}


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def _error_page(request: Request, refusal: IdentityRefusal) -> Response:
    """What a browser shows when the request cannot be sent back to the app."""
    text = html.escape(_description(request, refusal)).replace("\r\n", "<br>")
    page = (
        "<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>"
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f"<p>{text}</p></body></html>"
    )
    return HTMLResponse(page, status_code=refusal.status)


# --- errors ---------------------------------------------------------------------------------


def _tenant_not_found(key: str) -> str:
    return (
        f"Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant."
    )


def _refusal_response(request: Request, refusal: IdentityRefusal) -> Response:
    trace_id, correlation_id = _trace(request)
    now = _timestamp(graph_state(request).clock.now())
    body = {
        "error": refusal.error,
        "error_description": _description(request, refusal),
        "error_codes": [refusal.aadsts],
        "timestamp": now,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={refusal.aadsts}",
    }
    return JSONResponse(body, status_code=refusal.status, headers=NO_STORE)


def _description(request: Request, refusal: IdentityRefusal) -> str:
    trace_id, correlation_id = _trace(request)
    now = _timestamp(graph_state(request).clock.now())
    return (
        f"AADSTS{refusal.aadsts}: {refusal.message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {now}"
    )


def _trace(request: Request) -> tuple[str, str]:
    """(trace id, correlation id): the platform echoes the client's ``client-request-id``."""
    request_id, client_request_id = request_ids(request)
    return request_id or str(uuid.uuid4()), client_request_id or request_id


def _timestamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%SZ")
