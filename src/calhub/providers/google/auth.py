"""Service-account tokens with domain-wide delegation (google.md §8.2).

``ServiceAccountTokens`` signs a JWT-bearer grant with the service account's key for one user at
a time (``sub``: the mailbox calhub acts as) through google-auth's
``service_account.Credentials``, and keeps each user's token in memory (never on disk) until
five minutes before it expires. google-auth is blocking, so a refresh runs in a thread; a
session with ``trust_env = False`` and the configured CA bundle carries it, so proxies and
``REQUESTS_CA_BUNDLE`` from the environment cannot redirect the key's signed grants. The token
endpoint is the key file's ``token_uri`` unless the connection names another (an emulator).

Refusals become the provider error tree (google.md §8.2's table):

- ``unauthorized_client``, ``access_denied``, ``admin_policy_enforced`` → ``ConsentRevoked``:
  the domain's admin withdrew (or never granted) the delegation or the scopes;
- ``invalid_grant`` for an unknown user → ``MailboxOutOfScope``; for a bad signature (key
  deleted or disabled) → ``CredentialsRejected``; any other ``invalid_grant`` → ``ConsentRevoked``;
- ``invalid_client``, ``deleted_client``, ``disabled_client`` → ``CredentialsRejected``;
- a retryable refusal or a transport failure → ``Transient``; anything else → ``ProviderError``.

The private key never reaches a message or a ``repr``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import google.auth.exceptions
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from calhub.providers.base import (
    ConsentRevoked,
    CredentialsRejected,
    MailboxOutOfScope,
    ProviderError,
    Transient,
)

__all__ = ["CALENDAR_SCOPES", "ServiceAccountTokens", "key_problems"]

CALENDAR_SCOPES: Final = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
)
REFRESH_BEFORE_EXPIRY_S: Final = 5 * 60.0
_REVOKED: Final = frozenset({"unauthorized_client", "access_denied", "admin_policy_enforced"})
_BAD_CLIENT: Final = frozenset({"invalid_client", "deleted_client", "disabled_client"})
_UNKNOWN_USER: Final = ("not a valid email", "invalid email or user id")
_KEY_FIELDS: Final = ("type", "client_email", "private_key", "token_uri")


def key_problems(key: Mapping[str, Any]) -> list[str]:
    """What keeps ``key`` from being a service-account key file, in words (empty: usable)."""
    problems = [f"{name} is missing" for name in _KEY_FIELDS if not key.get(name)]
    if key.get("type") not in (None, "", "service_account"):
        problems.append(f"type is {key['type']!r}, not 'service_account'")
    if "BEGIN PRIVATE KEY" not in str(key.get("private_key", "")) and key.get("private_key"):
        problems.append("private_key is not a PEM private key")
    return problems


class ServiceAccountTokens:
    """Access tokens for one service account, per impersonated user."""

    def __init__(
        self,
        key: Mapping[str, Any],
        *,
        scopes: Sequence[str] = CALENDAR_SCOPES,
        token_uri: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        problems = key_problems(key)
        if problems:
            raise CredentialsRejected(
                "the service account key is not usable: " + "; ".join(problems)
            )
        info = dict(key) | ({"token_uri": token_uri} if token_uri else {})
        try:
            self._base = service_account.Credentials.from_service_account_info(
                info, scopes=list(scopes)
            )
        except (ValueError, TypeError) as exc:  # a key google-auth cannot load
            raise CredentialsRejected(
                f"the service account key is not usable: {type(exc).__name__}"
            ) from None
        self.client_email: str = self._base.service_account_email
        self._session = requests.Session()
        self._session.trust_env = False
        if ca_bundle is not None:
            self._session.verify = ca_bundle
        # One transport for every refresh: google-auth's ``Request`` closes its session when it
        # is collected, so one made per refresh dropped the pooled connection each time (a TLS
        # handshake per token).
        self._request = Request(self._session)
        self._per_user: dict[str, service_account.Credentials] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token(self, user: str) -> str:
        """A valid access token acting as ``user``; refreshed when within five minutes of
        expiring. Raises the provider errors of the module docstring."""
        user = user.lower()
        credentials = self._per_user.get(user)
        if credentials is not None and _fresh(credentials):
            return str(credentials.token)
        lock = self._locks.setdefault(user, asyncio.Lock())
        async with lock:
            credentials = self._per_user.get(user)
            if credentials is None:
                credentials = self._base.with_subject(user)
                self._per_user[user] = credentials
            if not _fresh(credentials):
                await asyncio.to_thread(self._refresh, credentials, user)
            return str(credentials.token)

    def forget(self, user: str) -> None:
        """Drop a user's token (the API refused it): the next ``token`` asks for a new one."""
        self._per_user.pop(user.lower(), None)

    def close(self) -> None:
        self._session.close()

    def _refresh(self, credentials: service_account.Credentials, user: str) -> None:
        try:
            credentials.refresh(self._request)
        except google.auth.exceptions.RefreshError as exc:
            raise _translated(exc, user) from None
        except google.auth.exceptions.TransportError as exc:
            raise Transient(
                f"the token endpoint could not be reached: {type(exc).__name__}"
            ) from None

    def __repr__(self) -> str:
        return f"ServiceAccountTokens(client_email={self.client_email!r})"


def _fresh(credentials: service_account.Credentials) -> bool:
    expiry: datetime | None = credentials.expiry  # google-auth keeps it as naive UTC
    if credentials.token is None or expiry is None:
        return False
    left = expiry - datetime.now(UTC).replace(tzinfo=None)
    return left.total_seconds() > REFRESH_BEFORE_EXPIRY_S


def _translated(exc: google.auth.exceptions.RefreshError, user: str) -> ProviderError:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(data.get("error", ""))
    description = str(data.get("error_description", ""))
    if getattr(exc, "retryable", False):
        return Transient(f"the token endpoint failed: {error or 'no error code'}")
    if error in _REVOKED:
        return ConsentRevoked(
            f"Google refused the service account's domain-wide delegation ({error}): "
            "the admin withdrew it or did not grant these scopes"
        )
    if error in _BAD_CLIENT:
        return CredentialsRejected(f"Google refused the service account ({error})")
    if error == "invalid_grant":
        lowered = description.lower()
        if any(words in lowered for words in _UNKNOWN_USER):
            return MailboxOutOfScope(user, "no such user in the Google Workspace domain")
        if "signature" in lowered:
            return CredentialsRejected(
                "Google refused the key's signature: the key was deleted or disabled"
            )
        return ConsentRevoked(f"Google refused the grant (invalid_grant): {description[:120]}")
    return ProviderError(f"Google refused a token ({error or 'no error code'})")
