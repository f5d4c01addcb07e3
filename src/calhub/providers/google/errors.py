"""Google error answers → the provider error tree (google.md §9.1, §9.2, §7.5, §8.1).

Calendar and Directory answer in the legacy envelope ``{"error": {"code", "message",
"errors": [{"domain", "reason", "message", ...}]}}``; the translation keys on the HTTP status and
``errors[0].reason``, never on the message, except Directory's reasonless "Not Authorized":

==================================================================  ============================
401 (``authError``; the client retries once with a new token)        ``AuthExpired``
403 / 429 ``rateLimitExceeded``, ``userRateLimitExceeded``,          ``RateLimited``
``quotaExceeded``; any 429
403 ``forbidden``, ``insufficientPermissions``, "Not Authorized"     ``MailboxOutOfScope``
404 ``notFound``                                                     ``NotFound``
410 ``deleted``                                                      ``NotFound``
410 ``fullSyncRequired``, ``updatedMinTooLongAgo`` (any other 410)   ``CursorInvalid``
412 ``conditionNotMet``                                              ``EditConflict``
400 (calhub sent something Google refuses)                           ``InvalidResponse``
5xx                                                                  ``Transient``
==================================================================  ============================

Google sends no ``Retry-After`` on Calendar (§9.4: clients back off on their own); one that
comes anyway is honoured. Messages quote Google's reason and message, never a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from calhub.providers.base import (
    AuthExpired,
    CursorInvalid,
    EditConflict,
    InvalidResponse,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
    RateLimited,
    Transient,
)

RATE_REASONS: Final = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
_OUT_OF_SCOPE_REASONS: Final = frozenset({"forbidden", "insufficientPermissions"})
DEFAULT_RETRY_AFTER: Final = 1.0
_MAX_QUOTED: Final = 200


@dataclass(frozen=True, slots=True)
class GoogleErrorAnswer:
    """An error answer as Google sent it: status, the first error's reason and domain, the
    message, and ``Retry-After`` in seconds when there was one."""

    status: int
    reason: str
    domain: str
    message: str
    retry_after: float | None = None

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or (self.status == 403 and self.reason in RATE_REASONS)


def read_error(
    status: int, body: object, headers: Mapping[str, str] | None = None
) -> GoogleErrorAnswer:
    """The answer in an error body; an unreadable body leaves reason and message empty."""
    error = body.get("error") if isinstance(body, Mapping) else None
    reason = domain = message = ""
    if isinstance(error, Mapping):
        message = str(error.get("message") or "")
        errors = error.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        if isinstance(first, Mapping):
            reason = str(first.get("reason") or "")
            domain = str(first.get("domain") or "")
            message = message or str(first.get("message") or "")
        if not reason and isinstance(error.get("status"), str):
            reason = str(error["status"])  # newer envelopes: the canonical status only
    return GoogleErrorAnswer(status, reason, domain, message[:_MAX_QUOTED], _retry_after(headers))


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def translate(answer: GoogleErrorAnswer, *, user: str | None, what: str) -> ProviderError:
    """The provider error for an error answer to ``what`` (``GET /calendars/..``) made as
    ``user``."""
    said = describe(answer, what)
    who = user or "the caller"
    if answer.rate_limited:
        return RateLimited(answer.retry_after or DEFAULT_RETRY_AFTER, said)
    if answer.status == 401:
        return AuthExpired(said)
    if answer.status == 403:
        return _forbidden(answer, who, said)
    if answer.status == 404:
        return NotFound(said)
    if answer.status == 410:
        return NotFound(said) if answer.reason == "deleted" else CursorInvalid(said)
    if answer.status == 412:
        return EditConflict(said)
    if answer.status == 400:
        return InvalidResponse(f"Google refused calhub's request ({said})")
    if answer.status >= 500:
        return Transient(said)
    return ProviderError(said)


def describe(answer: GoogleErrorAnswer, what: str) -> str:
    """The answer in words: ``GET /calendars/..: Google answered 404 notFound: Not Found``."""
    reason = answer.reason or "(no reason)"
    return f"{what}: Google answered {answer.status} {reason}" + (
        f": {answer.message}" if answer.message else ""
    )


def _forbidden(answer: GoogleErrorAnswer, who: str, said: str) -> ProviderError:
    if answer.reason == "insufficientPermissions":
        return MailboxOutOfScope(
            who,
            "the service account's domain-wide delegation does not include the scope this "
            "call needs; grant calhub's scopes in the Admin console",
        )
    if "not authorized to access this resource" in answer.message.lower():
        return MailboxOutOfScope(
            who,
            f"{who} may not read the Directory: calhub must act as an administrator with "
            "rights over users and calendar resources",
        )
    if answer.reason in _OUT_OF_SCOPE_REASONS:
        return MailboxOutOfScope(who, f"Google does not let {who} do this ({answer.message})")
    return ProviderError(said)
