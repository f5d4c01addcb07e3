"""One provider adapter per connection and process: ``ProviderRegistry``.

A connection's adapter holds what is worth keeping between jobs: the in-memory tokens (msal's
cache for Microsoft, one token per impersonated user for Google; each fetched once and refreshed
five minutes before it expires, never written to disk), the per-connection request budget and
the per-mailbox concurrency limit. The registry builds the adapter on first use and rebuilds it
when the connection changed (new credentials, new consent), keyed by the connection's
``updated_at``.

Credentials are the connection's sealed JSON, decrypted only here. Microsoft 365:
``{"client_id": str, "client_secret": str}`` or
``{"client_id": str, "certificate": {"private_key_pem": str, "thumbprint": str}}``; the
Microsoft tenant comes from the consent (``provider_tenant_id``), else the connection's
``settings["tenant"]`` hint (a domain such as ``contoso.onmicrosoft.com``). Google Workspace:
``{"service_account_key": {...the key file...}, "admin": "admin@example.com"}``: the service
account acts as each user through domain-wide delegation, and as ``admin`` for the Directory
and for rooms (google.md §8.2).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from calhub.domain.calendars import Connection, ProviderKind, Secret
from calhub.domain.clock import Clock
from calhub.domain.ids import ConnectionId
from calhub.providers.base import (
    CalendarProvider,
    Capabilities,
    CredentialsRejected,
    ProviderError,
)
from calhub.providers.budget import RequestBudget
from calhub.providers.google.auth import ServiceAccountTokens, key_problems
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.provider import CAPABILITIES as GOOGLE_CAPABILITIES
from calhub.providers.google.provider import GoogleCalendarProvider
from calhub.providers.msgraph.auth import (
    ClientCertificate,
    ClientSecret,
    Credential,
    MsalTokenSource,
)
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.provider import CAPABILITIES as GRAPH_CAPABILITIES
from calhub.providers.msgraph.provider import MicrosoftGraphProvider

GOOGLE_CALENDAR_URL: Final = "https://www.googleapis.com/calendar/v3"
GOOGLE_DIRECTORY_URL: Final = "https://admin.googleapis.com/admin/directory/v1"

CAPABILITIES: Final[Mapping[ProviderKind, Capabilities]] = {
    ProviderKind.MSGRAPH: GRAPH_CAPABILITIES,
    ProviderKind.GOOGLE: GOOGLE_CAPABILITIES,
}


@dataclass(frozen=True, slots=True)
class ProviderEndpoints:
    """Where the providers are and how hard calhub may use them (from ``Settings``)."""

    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    microsoft_login_url: str = "https://login.microsoftonline.com"
    google_calendar_url: str = GOOGLE_CALENDAR_URL
    google_directory_url: str = GOOGLE_DIRECTORY_URL
    google_token_url: str | None = None  # None: the token_uri of the service account's key
    ca_bundle: str | None = None
    requests_per_second: float = 50.0
    request_burst: int = 100


@dataclass(frozen=True, slots=True)
class MicrosoftCredentials:
    client_id: str
    credential: Credential

    def to_secret(self) -> Secret:
        body: dict[str, Any] = {"client_id": self.client_id}
        if isinstance(self.credential, ClientSecret):
            body["client_secret"] = self.credential.value
        else:
            body["certificate"] = {
                "private_key_pem": self.credential.private_key_pem,
                "thumbprint": self.credential.thumbprint,
            }
        return Secret(json.dumps(body))

    @classmethod
    def from_secret(cls, secret: Secret) -> MicrosoftCredentials:
        """Raises ``CredentialsRejected`` when nothing usable is stored (e.g. purged)."""
        try:
            body = json.loads(secret.reveal() or "{}")
            client_id = str(body["client_id"])
            if "client_secret" in body:
                return cls(client_id, ClientSecret(str(body["client_secret"])))
            certificate = body["certificate"]
            return cls(
                client_id,
                ClientCertificate(
                    str(certificate["private_key_pem"]), str(certificate["thumbprint"])
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialsRejected(
                "no client credentials are stored for this connection; give them again"
            ) from exc


@dataclass(frozen=True, slots=True)
class GoogleCredentials:
    """A service account's key file (JSON, as Google issues it) and the Workspace administrator
    it acts as for the Directory and for rooms. The key never reaches a ``repr``."""

    service_account_key: Mapping[str, Any] = field(repr=False)
    admin: str

    @property
    def client_id(self) -> str:
        """The service account's numeric client id: what the admin grants delegation to."""
        return str(self.service_account_key.get("client_id") or "")

    @property
    def client_email(self) -> str:
        return str(self.service_account_key.get("client_email") or "")

    def problems(self) -> list[str]:
        """What keeps these credentials from being used, in words (empty: usable)."""
        found = key_problems(self.service_account_key)
        if not self.client_id:
            found.append("client_id is missing")
        if "@" not in self.admin:
            found.append("admin must be an administrator's e-mail address")
        return found

    def to_secret(self) -> Secret:
        body = {"service_account_key": dict(self.service_account_key), "admin": self.admin}
        return Secret(json.dumps(body))

    @classmethod
    def from_secret(cls, secret: Secret) -> GoogleCredentials:
        """Raises ``CredentialsRejected`` when nothing usable is stored (e.g. purged)."""
        try:
            body = json.loads(secret.reveal() or "{}")
            key = body["service_account_key"]
            if not isinstance(key, dict):
                raise TypeError("the key is not an object")
            return cls(key, str(body["admin"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialsRejected(
                "no service account key is stored for this connection; give it again"
            ) from exc


def microsoft_tenant(connection: Connection) -> str:
    """The tenant tokens are requested for: the consented one, else the admin's hint."""
    hint = connection.settings.get("tenant")
    return connection.provider_tenant_id or (str(hint) if hint else "organizations")


class ProviderRegistry:
    def __init__(self, endpoints: ProviderEndpoints, clock: Clock) -> None:
        self.endpoints = endpoints
        self._clock = clock
        self._adapters: dict[ConnectionId, _Adapter] = {}
        self._lock = asyncio.Lock()

    async def for_connection(self, connection: Connection) -> CalendarProvider:
        async with self._lock:
            known = self._adapters.get(connection.id)
            if known is not None and known.version == connection.updated_at:
                return known.provider
            if known is not None:
                await known.close()
            adapter = self._build(connection)
            self._adapters[connection.id] = adapter
            return adapter.provider

    async def forget(self, connection_id: ConnectionId) -> None:
        """Drop the connection's adapter and its cached tokens (consent revoked, deleted)."""
        async with self._lock:
            known = self._adapters.pop(connection_id, None)
        if known is not None:
            await known.close()

    async def close(self) -> None:
        async with self._lock:
            adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.close()

    def _build(self, connection: Connection) -> _Adapter:
        match connection.provider:
            case ProviderKind.MSGRAPH:
                return self._build_microsoft(connection)
            case ProviderKind.GOOGLE:
                return self._build_google(connection)
        raise ProviderError(f"calhub cannot sync {connection.provider.value} connections")

    def _budget(self) -> RequestBudget:
        return RequestBudget(self.endpoints.requests_per_second, self.endpoints.request_burst)

    def _build_microsoft(self, connection: Connection) -> _Adapter:
        credentials = MicrosoftCredentials.from_secret(connection.credentials)
        tokens = MsalTokenSource(
            tenant=microsoft_tenant(connection),
            client_id=credentials.client_id,
            credential=credentials.credential,
            login_base=self.endpoints.microsoft_login_url,
            ca_bundle=self.endpoints.ca_bundle,
        )
        client = GraphClient(
            tokens,
            base_url=self.endpoints.graph_base_url,
            ca_bundle=self.endpoints.ca_bundle,
            budget=self._budget(),
        )
        provider = MicrosoftGraphProvider(client, clock=self._clock)
        return _Adapter(connection.updated_at, provider, tokens)

    def _build_google(self, connection: Connection) -> _Adapter:
        credentials = GoogleCredentials.from_secret(connection.credentials)
        tokens = google_tokens(self.endpoints, credentials)
        client = GoogleClient(
            tokens,
            calendar_base_url=self.endpoints.google_calendar_url,
            directory_base_url=self.endpoints.google_directory_url,
            ca_bundle=self.endpoints.ca_bundle,
            budget=self._budget(),
        )
        provider = GoogleCalendarProvider(client, admin=credentials.admin, clock=self._clock)
        return _Adapter(connection.updated_at, provider, tokens)


def google_tokens(
    endpoints: ProviderEndpoints, credentials: GoogleCredentials
) -> ServiceAccountTokens:
    """The service account's token source for these endpoints (the caller closes it).
    Raises ``CredentialsRejected`` when the key cannot be used."""
    return ServiceAccountTokens(
        credentials.service_account_key,
        token_uri=endpoints.google_token_url,
        ca_bundle=endpoints.ca_bundle,
    )


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Adapter:
    version: datetime  # the connection's updated_at when the adapter was built
    provider: CalendarProvider
    tokens: _Closable  # closed after the provider, which may still use it while closing

    async def close(self) -> None:
        await self.provider.close()
        await asyncio.to_thread(self.tokens.close)
