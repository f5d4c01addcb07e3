"""Google's error envelope: raise ``GoogleError``; it renders as Calendar and Directory do.

The legacy "v1" envelope (google.md §9.1)::

    {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                           "message": "...", "locationType"?: "...", "location"?: "..."}]}}

google-api-python-client reads ``errors[0].reason`` to decide whether a 403 is retried
(google.md §9.4), so ``reason`` and ``domain`` follow the documented table exactly. The token
endpoint answers in OAuth's own shape instead (``access.py``). A bad seed raises ``SeedInvalid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from calhub.emulators.control_bodies import BadControlBody

# The canonical gRPC status name Google adds beside the HTTP code.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",  # not a gRPC code; what the front end says for a wrong verb
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",  # not observed; the closest canonical code
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
CONTENT_TYPE = "application/json; charset=UTF-8"


class GoogleError(Exception):
    """An answer in Google's error shape; raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = dict(headers or {})


class SeedInvalid(ValueError):
    """A seed is not in the documented shape; the message names where."""


def error_body(error: GoogleError) -> dict[str, Any]:
    item: dict[str, Any] = {
        "domain": error.domain,
        "reason": error.reason,
        "message": error.message,
    }
    if error.location_type is not None:
        item["locationType"] = error.location_type
    if error.location is not None:
        item["location"] = error.location
    body: dict[str, Any] = {"code": error.status, "message": error.message, "errors": [item]}
    status = _STATUS_NAMES.get(error.status)
    if status is not None:
        body["status"] = status
    return {"error": body}


def render(error: GoogleError) -> Response:
    return JSONResponse(
        error_body(error),
        status_code=error.status,
        headers=error.headers,
        media_type=CONTENT_TYPE,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_google_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GoogleError)
        return render(exc)

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = first.get("loc", ())
        name = str(location[-1]) if location else "request"
        where = "parameter" if location and location[0] in ("query", "path") else None
        message = f"Invalid value for {name}: {first.get('msg', 'invalid value')}"
        error = GoogleError(400, "invalid", message, location=name, location_type=where)
        return render(error)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error = GoogleError(404, "notFound", "Not Found")
        elif exc.status_code == 405:
            error = GoogleError(405, "httpMethodNotAllowed", "Method Not Allowed")
        else:
            error = GoogleError(exc.status_code, "invalid", str(exc.detail))
        return render(error)

    async def on_bad_control_body(request: Request, exc: Exception) -> Response:
        return render(GoogleError(400, "badRequest", str(exc)))

    app.add_exception_handler(GoogleError, on_google_error)
    app.add_exception_handler(BadControlBody, on_bad_control_body)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
