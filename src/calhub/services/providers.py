"""One provider adapter per connection and process: ``ProviderRegistry``.

A connection's adapter holds what is worth keeping between jobs: msal's in-memory token cache
(a token is fetched once and refreshed five minutes before it expires, never written to disk),
the per-connection request budget and the per-mailbox concurrency limit. The registry builds the
adapter on first use and rebuilds it when the connection changed (new credentials, new consent),
keyed by the connection's ``updated_at``.

Credentials are the connection's sealed JSON, decrypted only here:
``{"client_id": str, "client_secret": str}`` or
``{"client_id": str, "certificate": {"private_key_pem": str, "thumbprint": str}}``.
The Microsoft tenant comes from the consent (``provider_tenant_id``), else the connection's
``settings["tenant"]`` hint (a domain such as ``contoso.onmicrosoft.com``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calhub.domain.calendars import Connection, ProviderKind, Secret
from calhub.domain.clock import Clock
from calhub.domain.ids import ConnectionId
from calhub.providers.base import CalendarProvider, CredentialsRejected, ProviderError
from calhub.providers.msgraph.auth import (
    ClientCertificate,
    ClientSecret,
    Credential,
    MsalTokenSource,
)
from calhub.providers.msgraph.budget import RequestBudget
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.provider import MicrosoftGraphProvider


@dataclass(frozen=True, slots=True)
class ProviderEndpoints:
    """Where the providers are and how hard calhub may use them (from ``Settings``)."""

    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    microsoft_login_url: str = "https://login.microsoftonline.com"
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
        if connection.provider is not ProviderKind.MSGRAPH:
            raise ProviderError(f"calhub cannot sync {connection.provider.value} connections yet")
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
            budget=RequestBudget(self.endpoints.requests_per_second, self.endpoints.request_burst),
        )
        provider = MicrosoftGraphProvider(client, clock=self._clock)
        return _Adapter(connection.updated_at, provider, tokens)


@dataclass(frozen=True, slots=True)
class _Adapter:
    version: datetime  # the connection's updated_at when the adapter was built
    provider: CalendarProvider
    tokens: MsalTokenSource

    async def close(self) -> None:
        await self.provider.close()
        await asyncio.to_thread(self.tokens.close)
