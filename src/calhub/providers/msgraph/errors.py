"""Graph error answers → the provider error tree (graph.md §10.2, §11.2, §11.3, §12, §3.3).

Keyed on the HTTP status and the ``error.code`` (compared case-insensitively, since Graph mixes
``SyncStateNotFound`` and ``syncStateNotFound``), never on the message:

=====================================================  ==========================================
403 ``ErrorAccessDenied``, token without ``roles``     ``ConsentRevoked`` (consent withdrawn)
403 ``ErrorAccessDenied``, token with ``roles``        ``MailboxOutOfScope`` (access policy/RAOP)
404 ``ErrorItemNotFound`` / ``ResourceNotFound``       ``NotFound``
404 ``Request_ResourceNotFound`` (directory)           ``NotFound``
404 ``ErrorInvalidUser`` / ``MailboxNotEnabledFor…``   ``MailboxOutOfScope`` with a reason
410, ``syncStateNotFound``, ``resyncRequired``         ``CursorInvalid``
401 ``InvalidAuthenticationToken``                     ``AuthExpired``
429 / 503                                              ``RateLimited`` (``Retry-After``)
other 5xx                                              ``Transient``
=====================================================  ==========================================

The ``roles`` claim is read from the access token's payload without verifying it: the token is
ours and only the presence of application permissions matters here (graph.md §11.2: a revoked
consent still yields tokens, without roles).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from calhub.providers.base import (
    AuthExpired,
    ConsentRevoked,
    CursorInvalid,
    EditConflict,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
    RateLimited,
    Transient,
)

_CURSOR_CODES: Final = frozenset({"syncstatenotfound", "resyncrequired"})
_NOT_FOUND_CODES: Final = frozenset(
    {"erroritemnotfound", "resourcenotfound", "request_resourcenotfound"}
)
DEFAULT_RETRY_AFTER: Final = 1.0


@dataclass(frozen=True, slots=True)
class GraphErrorAnswer:
    """An error answer as Graph sent it: status, ``error.code``, ``error.message``."""

    status: int
    code: str
    message: str
    retry_after: float | None = None


def read_error(
    status: int, body: object, headers: Mapping[str, str] | None = None
) -> GraphErrorAnswer:
    error = body.get("error") if isinstance(body, Mapping) else None
    code = message = ""
    if isinstance(error, Mapping):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    return GraphErrorAnswer(status, code, message, retry_after_seconds(headers or {}))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (fractional allowed, graph.md §10.2); None when absent/bad."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value)
            except ValueError:
                return None
            return max(0.0, seconds)
    return None


def translate(answer: GraphErrorAnswer, *, mailbox: str | None, token: str) -> ProviderError:
    """The provider error for a Graph error answer about ``mailbox`` made with ``token``."""
    code = answer.code.lower()
    who = mailbox or "this request"
    said = f"Graph answered {answer.status} {answer.code or '(no code)'}: {answer.message}"
    if answer.status in (429, 503):
        return RateLimited(answer.retry_after or DEFAULT_RETRY_AFTER, said)
    if answer.status == 401:
        return AuthExpired(said)
    if answer.status == 403 and code == "erroraccessdenied":
        if not token_roles(token):
            return ConsentRevoked(
                "the organisation has withdrawn consent for calhub (the token carries no "
                "application permissions); an administrator must grant admin consent again"
            )
        return MailboxOutOfScope(
            who,
            f"the tenant's application access policy blocks {who} — add the mailbox to the "
            "policy's group",
        )
    if answer.status == 404 and code in _NOT_FOUND_CODES:
        return NotFound(said)
    if answer.status == 404 and code == "errorinvaliduser":
        return MailboxOutOfScope(who, f"{who} is not a user of this tenant")
    if answer.status == 404 and code == "mailboxnotenabledforrestapi":
        return MailboxOutOfScope(
            who,
            f"{who} has no Exchange Online mailbox (unlicensed, inactive, soft-deleted or "
            "hosted on-premises)",
        )
    if answer.status == 410 or code in _CURSOR_CODES:
        return CursorInvalid(said)
    if answer.status == 412:
        return EditConflict(said)
    if answer.status >= 500:
        return Transient(said)
    return ProviderError(said)


def token_roles(token: str) -> list[str]:
    """The ``roles`` claim of a JWT access token, read without verifying the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        return []
    try:
        claims: Any = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return []
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
