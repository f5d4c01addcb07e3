"""Exception handlers: whatever goes wrong, the client gets problem+json and never a stack trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from calhub.api.problems import PROBLEMS, Problem, kind_for_status, problem_response
from calhub.storage.database import lost_connection


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Field errors without echoing the submitted values (they may be sensitive)."""
    return [
        {"location": [str(part) for part in error.get("loc", ())], "message": error.get("msg", "")}
        for error in exc.errors()
    ]


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc.kind, exc.detail, request.url.path, **exc.extensions)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        return problem_response(
            PROBLEMS["malformed-json"], "The body is not valid JSON.", request.url.path
        )
    return problem_response(
        PROBLEMS["validation-failed"],
        f"{len(errors)} field error(s) in the request.",
        request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = kind_for_status(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else kind.explanation
    if exc.status_code == 404:
        detail = f"No route or resource at {request.url.path}."
    return problem_response(kind, detail, request.url.path, headers=exc.headers)


async def _on_database_error(request: Request, exc: Exception) -> Response:
    if lost_connection(exc):  # the database restarted, or dropped a connection used just before
        return problem_response(
            PROBLEMS["not-ready"],
            "The connection to the database was lost; try again.",
            request.url.path,
            headers={"Retry-After": "1"},
        )
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    structlog.get_logger("calhub.api").error(
        "unhandled_error", path=request.url.path, error_type=type(exc).__name__
    )
    return problem_response(
        PROBLEMS["internal-error"], "An unexpected error occurred.", request.url.path
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
