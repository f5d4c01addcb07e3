"""Every error the API returns is RFC 9457 problem+json, with a stable ``type``.

``PROBLEMS`` is the one table from error to HTTP: each entry has a slug, status and title. The
``type`` of a response is ``/problems/<slug>`` (a URI reference resolved against the API's base
URL), and ``GET /problems/<slug>`` explains it, so the type is both stable and dereferenceable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class ProblemKind:
    slug: str
    status: int
    title: str
    explanation: str

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


_KINDS = (
    ProblemKind("bad-request", 400, "Bad request", "The request could not be understood."),
    ProblemKind("malformed-json", 400, "Malformed JSON", "The body is not valid JSON."),
    ProblemKind(
        "unauthorized",
        401,
        "Authentication required",
        "Send a tenant API key as 'Authorization: Bearer chk_...'.",
    ),
    ProblemKind(
        "notification-rejected",
        401,
        "Notification rejected",
        "No notification in the request could be authenticated; nothing was stored.",
    ),
    ProblemKind("forbidden", 403, "Forbidden", "The API key may not do this."),
    ProblemKind("not-found", 404, "Not found", "No such resource, or not in your tenant."),
    ProblemKind(
        "method-not-allowed", 405, "Method not allowed", "The resource does not support it."
    ),
    ProblemKind("conflict", 409, "Conflict", "The request conflicts with the current state."),
    ProblemKind(
        "payload-too-large",
        413,
        "Payload too large",
        "The body exceeds CALHUB_MAX_BODY_BYTES.",
    ),
    ProblemKind("unsupported-media-type", 415, "Unsupported media type", "Send application/json."),
    ProblemKind(
        "validation-failed",
        422,
        "Validation failed",
        "Fields are missing or have the wrong type; see 'errors'.",
    ),
    ProblemKind(
        "not-ready", 503, "Not ready", "A dependency (database or job queue) is not reachable."
    ),
    ProblemKind("internal-error", 500, "Internal error", "An unexpected error; it was logged."),
    ProblemKind(
        "connection-not-ready",
        409,
        "Connection not ready",
        "The connection cannot do this in its current state (e.g. no admin consent yet, consent "
        "revoked, credentials purged); 'detail' says what to do.",
    ),
    ProblemKind(
        "invalid-scope",
        422,
        "Invalid mailbox scope",
        "The mailbox scope cannot be used; 'detail' says why.",
    ),
    ProblemKind(
        "consent-not-granted",
        400,
        "Consent not granted",
        "The admin-consent round trip did not connect anything (declined, or a consent link "
        "that is forged, unknown, expired or already used); 'detail' says which.",
    ),
)
PROBLEMS: dict[str, ProblemKind] = {kind.slug: kind for kind in _KINDS}
_BY_STATUS: dict[int, ProblemKind] = {kind.status: kind for kind in reversed(_KINDS)}


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, slug: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.kind = PROBLEMS[slug]
        self.detail = detail
        self.extensions = extensions


def kind_for_status(status: int) -> ProblemKind:
    return _BY_STATUS.get(status) or (
        PROBLEMS["bad-request"] if status < 500 else PROBLEMS["internal-error"]
    )


def problem_response(
    kind: ProblemKind,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=kind.status, media_type=MEDIA_TYPE, headers=headers)
