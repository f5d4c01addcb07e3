"""Service errors as problems: the connection, calendar and join-settings use cases' exceptions
become the problem kinds of ``calhub.api.problems`` (not-found, connection-not-ready,
invalid-scope, validation-failed).

    with problems_from_services():
        connection = await get_connection(runtime.hub, api_key.tenant_id, connection_id)

Another tenant's connection or calendar is "not found" too: a key never learns what exists
outside its tenant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from calhub.api.problems import Problem
from calhub.providers.base import CredentialsRejected
from calhub.services.calendars import CalendarNotFound
from calhub.services.connections import ConnectionNotFound, ConnectionNotReady, InvalidScope
from calhub.services.google_connections import InvalidGoogleCredentials
from calhub.services.join_settings import InvalidJoinSettings, UnknownTenant


@contextlib.contextmanager
def problems_from_services() -> Iterator[None]:
    try:
        yield
    except ConnectionNotFound as exc:
        raise Problem("not-found", "No such connection in your tenant.") from exc
    except CalendarNotFound as exc:
        raise Problem("not-found", "No such calendar in your tenant.") from exc
    except (ConnectionNotReady, CredentialsRejected) as exc:
        raise Problem("connection-not-ready", _sentence(str(exc))) from exc
    except InvalidScope as exc:
        raise Problem("invalid-scope", _sentence(str(exc))) from exc
    except InvalidGoogleCredentials as exc:
        raise Problem("validation-failed", _sentence(str(exc))) from exc
    except InvalidJoinSettings as exc:
        # The shape of request-validation errors, so a client reads every 422 the same way.
        location = ["body", *(str(part) for part in exc.location)]
        raise Problem(
            "validation-failed", str(exc), errors=[{"location": location, "message": exc.reason}]
        ) from exc
    except UnknownTenant as exc:
        raise Problem("not-found", "The key's tenant no longer exists.") from exc


def _sentence(message: str) -> str:
    text = message.rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."
