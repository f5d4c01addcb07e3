"""``/api/v1/connections``: connect a Microsoft 365 tenant, verify it, scope it, disconnect it
(issue 4, "Connect"; ARCHITECTURE.md §6 "connections"). Google Workspace connections are made in
``routes.google_connections`` and share every route here but the consent ones.

The admin's path: ``POST /connections/microsoft`` (client id plus a client secret or a
certificate) answers the admin-consent URL; the admin opens it, Microsoft sends the browser back
to ``GET /connections/microsoft/consent-callback`` (no API key: the state in the URL is the
credential), then ``POST /connections/{id}/verify`` with a test mailbox. Secrets go in and
never come out: responses name the client id, the kind of credential and a certificate's
thumbprint only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from calhub.api.consent_page import PAGE_HEADERS, consent_page
from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.api.routes import google_connections
from calhub.api.routes.connection_schemas import (
    MAILBOX_ADDRESS,
    ConnectionOut,
    GoogleConnectionOut,
    GoogleCredentialsIn,
    ScopeIn,
    connection_out,
)
from calhub.api.service_errors import problems_from_services
from calhub.domain.ids import ConnectionId
from calhub.providers.msgraph.auth import ClientCertificate, ClientSecret
from calhub.services import calendars, connections
from calhub.services.providers import MicrosoftCredentials

__all__ = ["MAILBOX_ADDRESS", "connection_out", "router"]

router = APIRouter(prefix="/api/v1", tags=["connections"])
router.include_router(google_connections.router)

_CALLBACK_ROUTE = connections.CONSENT_CALLBACK_PATH.removeprefix(router.prefix)
_MICROSOFT_TENANT = r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$"  # a tenant GUID or a domain
_CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    private_key_pem: SecretStr = Field(
        min_length=1, max_length=16_384, description="The certificate's private key, PEM."
    )
    thumbprint: str = Field(
        pattern=r"^[0-9A-Fa-f]{40}$", description="SHA-1 thumbprint of the certificate, hex."
    )

    @field_validator("private_key_pem")
    @classmethod
    def _readable_key(cls, value: SecretStr) -> SecretStr:
        try:
            load_pem_private_key(value.get_secret_value().encode(), password=None)
        except (ValueError, TypeError) as exc:  # TypeError: the key is password-protected
            raise ValueError("must be an unencrypted PEM private key") from exc
        return value


class CredentialsIn(BaseModel):
    """The app registration's client id and exactly one of a client secret or a certificate."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(pattern=_CLIENT_ID, description="The app registration's client id.")
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    certificate: CertificateIn | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> CredentialsIn:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give either client_secret or certificate")
        return self

    def to_credentials(self) -> MicrosoftCredentials:
        if self.certificate is not None:
            certificate = ClientCertificate(
                self.certificate.private_key_pem.get_secret_value(),
                self.certificate.thumbprint.lower(),
            )
            return MicrosoftCredentials(self.client_id, certificate)
        assert self.client_secret is not None  # _one_credential
        return MicrosoftCredentials(
            self.client_id, ClientSecret(self.client_secret.get_secret_value())
        )


class MicrosoftConnectionIn(CredentialsIn):
    tenant: str | None = Field(
        default=None,
        pattern=_MICROSOFT_TENANT,
        description="The Microsoft tenant's domain or id, where the admin consents.",
    )
    scope: ScopeIn | None = None


class ConnectionList(BaseModel):
    connections: list[ConnectionOut]


class ConsentLinkOut(BaseModel):
    consent_url: str = Field(description="Open in a browser as an administrator of the tenant.")
    consent_expires_at: datetime


class CreatedConnectionOut(ConnectionOut, ConsentLinkOut):
    pass


class VerifyIn(BaseModel):
    mailbox: str = Field(
        max_length=320, pattern=MAILBOX_ADDRESS, description="A test mailbox's address."
    )


class PermissionCheckOut(BaseModel):
    permission: str
    ok: bool
    detail: str


class VerificationOut(BaseModel):
    ok: bool = Field(description="Every permission works.")
    checks: list[PermissionCheckOut]


class DiscoveryOut(BaseModel):
    connection_id: UUID
    queued: bool = Field(description="False when a discovery was already waiting.")


class ConsentOutcomeOut(BaseModel):
    granted: Literal[True]
    message: str
    connection_id: UUID | None


@router.get(
    _CALLBACK_ROUTE,
    summary="Where Microsoft sends the admin back after admin consent (no API key)",
    response_model=ConsentOutcomeOut,
    responses={400: {"description": "Consent not granted: an HTML page, or problem+json."}},
)
async def consent_callback(request: Request, runtime: RuntimeDep) -> Response:
    outcome = await connections.complete_consent(runtime.hub, dict(request.query_params))
    if not _wants_json(request):
        return consent_page(outcome)
    if not outcome.granted:
        raise Problem(
            "consent-not-granted",
            outcome.message,
            connection_id=None if outcome.connection_id is None else str(outcome.connection_id),
        )
    body = ConsentOutcomeOut(
        granted=True, message=outcome.message, connection_id=outcome.connection_id
    )
    return JSONResponse(body.model_dump(mode="json"), headers=PAGE_HEADERS)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


@router.post(
    "/connections/microsoft",
    response_model=CreatedConnectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Connect a Microsoft 365 tenant; answers the admin-consent URL",
)
async def create_microsoft_connection(
    runtime: RuntimeDep, api_key: ApiKeyDep, body: MicrosoftConnectionIn
) -> CreatedConnectionOut:
    with problems_from_services():
        connection = await connections.create_microsoft_connection(
            runtime.hub,
            api_key.tenant_id,
            body.to_credentials(),
            tenant_hint=body.tenant,
            scope=body.scope.to_scope() if body.scope else None,
        )
        link = await connections.consent_link(runtime.hub, api_key.tenant_id, connection.id)
    return CreatedConnectionOut(
        **connection_out(connection).model_dump(),
        consent_url=link.url,
        consent_expires_at=link.expires_at,
    )


@router.get("/connections", response_model=ConnectionList, summary="The tenant's connections")
async def list_connections(runtime: RuntimeDep, api_key: ApiKeyDep) -> ConnectionList:
    found = await connections.list_connections(runtime.hub, api_key.tenant_id)
    return ConnectionList(connections=[connection_out(c) for c in found])


@router.get("/connections/{connection_id}", response_model=ConnectionOut, summary="A connection")
async def read_connection(
    runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID
) -> ConnectionOut:
    with problems_from_services():
        connection = await connections.get_connection(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id)
        )
    return connection_out(connection)


@router.delete(
    "/connections/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect: unsubscribe, then delete the connection and its mirror",
)
async def delete_connection(runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID) -> None:
    with problems_from_services():
        await connections.delete_connection(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id)
        )


@router.put(
    "/connections/{connection_id}/credentials",
    response_model=ConnectionOut | GoogleConnectionOut,
    summary="Replace the credentials (e.g. an expired secret, a new service account key)",
    description="A Microsoft 365 connection takes a client id with a client secret or a "
    "certificate; a Google Workspace connection a service account key and an administrator's "
    "address, and answers whether Google grants their domain-wide delegation (a connection "
    "waiting for it becomes active once it does). The other provider's form is 409.",
)
async def set_credentials(
    runtime: RuntimeDep,
    api_key: ApiKeyDep,
    connection_id: UUID,
    body: CredentialsIn | GoogleCredentialsIn,
) -> ConnectionOut | GoogleConnectionOut:
    if isinstance(body, GoogleCredentialsIn):
        return await google_connections.replace_credentials(
            runtime, api_key, ConnectionId(connection_id), body
        )
    with problems_from_services():
        connection = await connections.set_credentials(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id), body.to_credentials()
        )
    return connection_out(connection)


@router.post(
    "/connections/{connection_id}/consent-link",
    response_model=ConsentLinkOut,
    summary="A fresh admin-consent URL (single use, expires)",
)
async def new_consent_link(
    runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID
) -> ConsentLinkOut:
    with problems_from_services():
        link = await connections.consent_link(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id)
        )
    return ConsentLinkOut(consent_url=link.url, consent_expires_at=link.expires_at)


@router.post(
    "/connections/{connection_id}/verify",
    response_model=VerificationOut,
    summary="Try each permission calhub needs against a test mailbox",
)
async def verify_connection(
    runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID, body: VerifyIn
) -> VerificationOut:
    with problems_from_services():
        checks = await connections.verify_connection(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id), body.mailbox
        )
    return VerificationOut(
        ok=all(check.ok for check in checks),
        checks=[
            PermissionCheckOut(permission=c.permission, ok=c.ok, detail=c.detail) for c in checks
        ],
    )


@router.put(
    "/connections/{connection_id}/scope",
    response_model=ConnectionOut,
    summary="Sync all mailboxes, or only those listed; rediscovers to apply it",
)
async def set_scope(
    runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID, body: ScopeIn
) -> ConnectionOut:
    with problems_from_services():
        connection = await connections.set_scope(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id), body.to_scope()
        )
    return connection_out(connection)


@router.post(
    "/connections/{connection_id}/discover",
    response_model=DiscoveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Rediscover the connection's mailboxes and rooms now",
)
async def discover(runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID) -> DiscoveryOut:
    with problems_from_services():
        queued = await calendars.request_discovery(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id)
        )
    return DiscoveryOut(connection_id=connection_id, queued=queued)
