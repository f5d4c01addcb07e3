"""``/api/v1/connections/google``: connect a Google Workspace domain (issue 7, "Connect";
google.md §8.2).

No browser round trip: ``POST /connections/google`` takes the service account's key file and a
Workspace administrator's address, stores them sealed and asks Google at once whether the
domain-wide delegation is granted. The answer's ``delegation`` says so, and when it is not, what
the admin grants in the Admin console (the client id and the scope list);
``POST /connections/{id}/delegation-check`` asks again later. The other connection routes
(``routes.connections``) serve Google connections too; the key never comes back.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.routes.connection_schemas import (
    GoogleConnectionIn,
    GoogleConnectionOut,
    GoogleCredentialsIn,
    connection_out,
    delegation_out,
)
from calhub.api.service_errors import problems_from_services
from calhub.bootstrap import Runtime
from calhub.domain.ids import ConnectionId
from calhub.domain.tenants import ApiKey
from calhub.services import google_connections
from calhub.services.google_connections import GoogleConnectionOutcome

router = APIRouter()


def _out(outcome: GoogleConnectionOutcome) -> GoogleConnectionOut:
    return GoogleConnectionOut(
        **connection_out(outcome.connection).model_dump(),
        delegation=delegation_out(outcome.delegation),
    )


@router.post(
    "/connections/google",
    response_model=GoogleConnectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Connect a Google Workspace domain with a service account",
    description="Stores the key sealed, then asks Google whether the service account's "
    "domain-wide delegation is granted: granted, the connection is active and discovery is "
    "queued; not yet, it waits (consent_pending) and 'delegation.message' says what the "
    "Workspace admin grants.",
    responses={422: {"description": "The key is not a usable service account key."}},
)
async def create_google_connection(
    runtime: RuntimeDep, api_key: ApiKeyDep, body: GoogleConnectionIn
) -> GoogleConnectionOut:
    with problems_from_services():
        outcome = await google_connections.create_google_connection(
            runtime.hub,
            api_key.tenant_id,
            body.to_credentials(),
            domain=body.domain,
            scope=body.scope.to_scope() if body.scope else None,
        )
    return _out(outcome)


@router.post(
    "/connections/{connection_id}/delegation-check",
    response_model=GoogleConnectionOut,
    summary="Ask Google again whether the domain-wide delegation is granted (Google only)",
    description="A connection waiting for the delegation (or whose delegation was revoked) "
    "becomes active once Google grants it. 409 for a Microsoft 365 connection, or when the key "
    "was purged (give it again with PUT .../credentials).",
)
async def check_delegation(
    runtime: RuntimeDep, api_key: ApiKeyDep, connection_id: UUID
) -> GoogleConnectionOut:
    with problems_from_services():
        outcome = await google_connections.recheck_delegation(
            runtime.hub, api_key.tenant_id, ConnectionId(connection_id)
        )
    return _out(outcome)


async def replace_credentials(
    runtime: Runtime, api_key: ApiKey, connection_id: ConnectionId, body: GoogleCredentialsIn
) -> GoogleConnectionOut:
    """``PUT /connections/{id}/credentials`` with the Google form (``routes.connections``)."""
    with problems_from_services():
        outcome = await google_connections.set_google_credentials(
            runtime.hub, api_key.tenant_id, connection_id, body.to_credentials()
        )
    return _out(outcome)
