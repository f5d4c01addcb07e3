"""Graph's error envelope: raise ``GraphError``; it renders as Graph does (graph.md §12).

``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``,
with ``date`` in UTC without a ``Z``. Clients key on ``code``; messages follow the live service's
wording where graph.md records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from calhub.emulators.control_bodies import BadControlBody


class GraphError(Exception):
    """An answer in Graph's error shape; raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        inner: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.inner = dict(inner or {})


class SeedInvalid(ValueError):
    """A seed is not in the documented shape; the message names where."""


def error_body(
    code: str,
    message: str,
    *,
    now: datetime,
    request_id: str,
    client_request_id: str,
    inner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    inner_error: dict[str, Any] = dict(inner or {})
    inner_error.update(
        {
            "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
    )
    return {"error": {"code": code, "message": message, "innerError": inner_error}}


def render(request: Request, error: GraphError) -> Response:
    ids = request_ids(request)
    body = error_body(
        error.code,
        error.message,
        now=request.app.state.graph.clock.now(),
        request_id=ids[0],
        client_request_id=ids[1],
        inner=error.inner,
    )
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def request_ids(request: Request) -> tuple[str, str]:
    """(request-id, client-request-id) as set by the request-id middleware."""
    request_id = getattr(request.state, "request_id", "")
    client_request_id = getattr(request.state, "client_request_id", request_id)
    return request_id, client_request_id


def install_error_handlers(app: FastAPI) -> None:
    async def on_graph_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GraphError)
        return render(request, exc)

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"Invalid request: {where}: {first.get('msg', 'invalid value')}"
        return render(request, GraphError(400, "ErrorInvalidRequest", detail))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            segment = request.url.path.rstrip("/").rsplit("/", 1)[-1]
            error = GraphError(
                400, "BadRequest", f"Resource not found for the segment '{segment}'."
            )
        elif exc.status_code == 405:
            error = GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed.")
        else:
            error = GraphError(exc.status_code, "BadRequest", str(exc.detail))
        return render(request, error)

    async def on_bad_control_body(request: Request, exc: Exception) -> Response:
        return render(request, GraphError(400, "BadRequest", str(exc)))

    app.add_exception_handler(GraphError, on_graph_error)
    app.add_exception_handler(BadControlBody, on_bad_control_body)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
