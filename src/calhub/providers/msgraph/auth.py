"""App-only tokens for Graph and the tenant-wide admin consent (graph.md §11.1–11.2).

``MsalTokenSource`` gets client-credentials tokens through ``msal.ConfidentialClientApplication``
(a client secret, or a certificate: private key PEM + SHA-1 thumbprint). msal keeps its own token
cache in memory for the life of the process (never persisted) and, when asked, serves the cached
token unless fewer than five minutes are left, in which case it fetches a new one (msal
``ClientApplication._acquire_token_silent_from_cache_and_possibly_refresh_it``: ``expires_in <
5*60`` counts as expired). msal is blocking, so a call runs in a thread; the token it gave is
also kept here and served without asking msal until msal itself would refresh it, which spares a
thread hop per Graph request.

Authorities other than ``login.microsoftonline.com`` (emulators, sovereign test setups) skip
instance discovery and authority validation, and a CA bundle gives msal a ``requests.Session``
with ``trust_env = False`` so ``REQUESTS_CA_BUNDLE`` cannot override it (client-recipes.md §0, §2).

Refusals from the identity platform become the provider error tree: ``invalid_client`` 7000215
(wrong secret) and 7000222 (expired secret) → ``CredentialsRejected``; 7000229 (service principal
deleted) and 700016 (app not in the tenant) → ``ConsentRevoked``; anything else →
``ProviderError`` naming the AADSTS code, or ``Transient`` for the platform's own outages. Secrets
never reach a message or a ``repr``.

Also: ``admin_consent_url`` and ``parse_consent_callback`` for the consent round trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import msal
import requests

from calhub.providers.base import (
    ConsentRevoked,
    CredentialsRejected,
    ProviderError,
    Transient,
)

__all__ = [
    "ClientCertificate",
    "ClientSecret",
    "ConsentAnswer",
    "Credential",
    "MsalTokenSource",
    "TokenSource",
    "admin_consent_url",
    "parse_consent_callback",
]

MICROSOFT_LOGIN: Final = "https://login.microsoftonline.com"
GRAPH_SCOPES: Final = ("https://graph.microsoft.com/.default",)
_REJECTED_CREDENTIALS: Final = frozenset({7000215, 7000222})
_APP_GONE: Final = frozenset({7000229, 700016})
_PLATFORM_OUTAGE: Final = frozenset({"temporarily_unavailable", "server_error"})
REFRESH_BEFORE_EXPIRY_S: Final = 5 * 60.0  # msal's own margin: a token this close is refreshed


class TokenSource(Protocol):
    """What ``GraphClient`` needs: a bearer token, and a way to drop a refused one."""

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ClientSecret:
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    private_key_pem: str = field(repr=False)
    thumbprint: str  # SHA-1 of the certificate, hex


Credential = ClientSecret | ClientCertificate


class MsalTokenSource:
    """Client-credentials tokens for one app in one tenant, cached by msal in memory."""

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        credential: Credential,
        login_base: str = MICROSOFT_LOGIN,
        ca_bundle: str | None = None,
    ) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self._credential = credential
        self._login_base = login_base.rstrip("/")
        self._ca_bundle = ca_bundle
        self._app: msal.ConfidentialClientApplication | None = None
        self._session: requests.Session | None = None
        self._token: str | None = None
        self._ask_msal_after = 0.0  # time.monotonic()

    def __repr__(self) -> str:
        return f"MsalTokenSource(tenant={self.tenant!r}, client_id={self.client_id!r})"

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._ask_msal_after:
            return self._token
        asked_at = time.monotonic()
        token, expires_in = await asyncio.to_thread(self._acquire)
        self._token = token
        self._ask_msal_after = asked_at + expires_in - REFRESH_BEFORE_EXPIRY_S
        return token

    def invalidate(self) -> None:
        """Forget cached tokens (Graph refused one), so the next ``token()`` asks afresh."""
        self._token = None
        if self._app is None:
            return
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _acquire(self) -> tuple[str, float]:
        """A token from msal (its cache, or the identity platform) and its seconds to live."""
        try:
            result = self._application().acquire_token_for_client(scopes=list(GRAPH_SCOPES))
        except requests.RequestException as exc:
            raise Transient(
                f"the identity platform could not be reached: {type(exc).__name__}"
            ) from exc
        except ValueError as exc:  # msal refuses the authority or its metadata
            raise ProviderError(f"msal refused the identity platform's answer: {exc}") from exc
        token = result.get("access_token")
        if isinstance(token, str) and token:
            expires_in = result.get("expires_in")
            return token, float(expires_in) if isinstance(expires_in, int | float) else 0.0
        raise token_refusal(result)

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            official = urlsplit(self._login_base).hostname == urlsplit(MICROSOFT_LOGIN).hostname
            options: dict[str, Any] = {}
            if self._ca_bundle is not None:
                self._session = requests.Session()
                self._session.trust_env = False
                self._session.verify = self._ca_bundle
                options["http_client"] = self._session
            if not official:
                options |= {"instance_discovery": False, "validate_authority": False}
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._msal_credential(),
                    authority=f"{self._login_base}/{self.tenant}",
                    **options,
                )
            except requests.RequestException as exc:
                raise Transient(
                    f"the identity platform could not be reached: {type(exc).__name__}"
                ) from exc
            except ValueError as exc:
                raise ProviderError(f"msal refused the authority: {exc}") from exc
        return self._app

    def _msal_credential(self) -> str | dict[str, str]:
        if isinstance(self._credential, ClientSecret):
            return self._credential.value
        return {
            "private_key": self._credential.private_key_pem,
            "thumbprint": self._credential.thumbprint,
        }


def token_refusal(result: Mapping[str, Any]) -> ProviderError:
    """The provider error for an identity platform refusal (msal's result dictionary)."""
    error = str(result.get("error") or "unknown_error")
    codes = result.get("error_codes") or []
    code = codes[0] if codes and isinstance(codes[0], int) else None
    description = str(result.get("error_description") or "").splitlines()
    summary = description[0] if description else error
    message = f"the identity platform refused the token request ({error}): {summary}"
    if code is not None and f"AADSTS{code}" not in summary:
        message += f" (AADSTS{code})"
    if code in _REJECTED_CREDENTIALS:
        return CredentialsRejected(message)
    if code in _APP_GONE:
        return ConsentRevoked(message)
    if error in _PLATFORM_OUTAGE:
        return Transient(message)
    return ProviderError(message)


# --- admin consent -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    """What the consent callback said: granted for ``tenant``, or refused with ``error``."""

    granted: bool
    state: str | None
    tenant: str | None = None
    error: str | None = None
    error_description: str | None = None


def admin_consent_url(
    login_base: str, tenant: str, client_id: str, redirect_uri: str, state: str
) -> str:
    """The v1 admin-consent URL an administrator opens (graph.md §11.1)."""
    query = urlencode({"client_id": client_id, "state": state, "redirect_uri": redirect_uri})
    return f"{login_base.rstrip('/')}/{tenant}/adminconsent?{query}"


def parse_consent_callback(query: str | Mapping[str, str]) -> ConsentAnswer:
    """Read ``admin_consent=True&tenant=..&state=..`` or ``error=..&error_description=..``.

    An ``error`` wins even next to ``admin_consent=True`` (the v2 endpoint sends both)."""
    params = (
        dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        if isinstance(query, str)
        else dict(query)
    )
    state = params.get("state") or None
    error = params.get("error") or None
    if error is not None:
        return ConsentAnswer(
            granted=False,
            state=state,
            tenant=params.get("tenant") or None,
            error=error,
            error_description=params.get("error_description") or None,
        )
    granted = params.get("admin_consent", "").lower() == "true" and bool(params.get("tenant"))
    return ConsentAnswer(
        granted=granted,
        state=state,
        tenant=params.get("tenant") or None,
        error=None if granted else "invalid_callback",
        error_description=None if granted else "the callback carries neither consent nor error",
    )
