"""What ``/api/v1/connections`` answers about a connection, for every provider, and the Google
Workspace connection's input (``routes.connections`` and ``routes.google_connections`` share
them). Secrets go in and never come out: a connection's credentials are shown by client id,
kind, a certificate's thumbprint or a service account's address only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from calhub.domain.calendars import (
    Connection,
    ConnectionStatus,
    MailboxScope,
    ProviderKind,
    ScopeKind,
)
from calhub.providers.base import ProviderError
from calhub.providers.msgraph.auth import ClientCertificate
from calhub.services import connections
from calhub.services.google_connections import DelegationCheck, google_domain
from calhub.services.providers import GoogleCredentials, MicrosoftCredentials

MAILBOX_ADDRESS = (
    r"^[^\s/\\?#@]+@[^\s/\\?#@]+$"  # one address; nothing that could leave a provider's path
)
_DOMAIN = r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$"
MAX_KEY_FIELDS = 32  # Google's key files have ten


class ScopeIn(BaseModel):
    """``{"kind": "all"}`` or ``{"kind": "mailboxes", "mailboxes": ["a@contoso.com", ...]}``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["all", "mailboxes", "group"]
    mailboxes: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list, max_length=connections.MAX_SCOPED_MAILBOXES
    )
    group_id: str | None = Field(default=None, max_length=100)

    def to_scope(self) -> MailboxScope:
        return MailboxScope(ScopeKind(self.kind), tuple(self.mailboxes), self.group_id)


class GoogleCredentialsIn(BaseModel):
    """A service account's key file, as Google issues it, and a Workspace administrator."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    service_account_key: dict[str, Any] = Field(
        description="The service account's JSON key file, as downloaded from Google Cloud.",
        json_schema_extra={"writeOnly": True},
    )
    admin: str = Field(
        max_length=320,
        pattern=MAILBOX_ADDRESS,
        description="A Workspace administrator's address: calhub acts as this user to list "
        "users and rooms and to read room calendars.",
    )

    @field_validator("service_account_key")
    @classmethod
    def _usable_key(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_KEY_FIELDS:
            raise ValueError("is not a service account key file")
        problems = GoogleCredentials(value, "admin@example.invalid").problems()
        if problems:
            raise ValueError("is not a usable service account key: " + "; ".join(problems))
        return value

    def to_credentials(self) -> GoogleCredentials:
        return GoogleCredentials(self.service_account_key, self.admin)


class GoogleConnectionIn(GoogleCredentialsIn):
    domain: str | None = Field(
        default=None, pattern=_DOMAIN, description="The Google Workspace domain (a hint)."
    )
    scope: ScopeIn | None = None


class ScopeOut(BaseModel):
    kind: Literal["all", "mailboxes", "group"]
    mailboxes: list[str]


class CredentialsOut(BaseModel):
    client_id: str
    type: Literal["client_secret", "certificate"]
    certificate_thumbprint: str | None


class ServiceAccountOut(BaseModel):
    client_id: str = Field(description="The service account's client id (delegation's).")
    type: Literal["service_account"]
    client_email: str
    admin: str = Field(description="The Workspace administrator calhub acts as.")


class ConnectionOut(BaseModel):
    id: UUID
    provider: str
    status: ConnectionStatus
    microsoft_tenant_id: str | None = Field(description="Known once the admin consented.")
    tenant_hint: str | None
    google_domain: str | None = Field(
        default=None, description="The Google Workspace domain (Google connections)."
    )
    scope: ScopeOut
    credentials: CredentialsOut | ServiceAccountOut | None = Field(
        description="None when calhub holds none (purged after consent was revoked)."
    )
    created_at: datetime
    updated_at: datetime
    consented_at: datetime | None


class DelegationOut(BaseModel):
    granted: bool | None = Field(
        description="Whether Google grants the domain-wide delegation; null when Google could "
        "not be asked."
    )
    message: str = Field(description="What it means, and what the Workspace admin does next.")
    client_id: str = Field(description="The service account's client id to authorise.")
    scopes: list[str] = Field(description="The OAuth scopes to authorise, in this order.")


class GoogleConnectionOut(ConnectionOut):
    delegation: DelegationOut


def delegation_out(check: DelegationCheck) -> DelegationOut:
    return DelegationOut(
        granted=check.granted,
        message=check.message,
        client_id=check.client_id,
        scopes=list(check.scopes),
    )


def connection_out(connection: Connection) -> ConnectionOut:
    google = connection.provider is ProviderKind.GOOGLE
    hint = None if google else connection.settings.get("tenant")
    return ConnectionOut(
        id=connection.id,
        provider=connection.provider.value,
        status=connection.status,
        microsoft_tenant_id=None if google else connection.provider_tenant_id,
        tenant_hint=str(hint) if hint else None,
        google_domain=(google_domain(connection) or None) if google else None,
        scope=ScopeOut(
            kind=connection.scope.kind.value, mailboxes=list(connection.scope.mailboxes)
        ),
        credentials=_credentials_out(connection),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        consented_at=connection.consented_at,
    )


def _credentials_out(connection: Connection) -> CredentialsOut | ServiceAccountOut | None:
    if connection.provider is ProviderKind.GOOGLE:
        try:
            google = GoogleCredentials.from_secret(connection.credentials)
        except ProviderError:
            return None
        return ServiceAccountOut(
            client_id=google.client_id,
            type="service_account",
            client_email=google.client_email,
            admin=google.admin,
        )
    try:
        credentials = MicrosoftCredentials.from_secret(connection.credentials)
    except ProviderError:
        return None
    if isinstance(credentials.credential, ClientCertificate):
        return CredentialsOut(
            client_id=credentials.client_id,
            type="certificate",
            certificate_thumbprint=credentials.credential.thumbprint,
        )
    return CredentialsOut(
        client_id=credentials.client_id, type="client_secret", certificate_thumbprint=None
    )
