"""Request dependencies: the process runtime and the authenticated tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from calhub.api.problems import Problem
from calhub.bootstrap import Runtime
from calhub.domain.tenants import ApiKey
from calhub.services.apikeys import InvalidApiKey, authenticate

_bearer = HTTPBearer(auto_error=False, description="A tenant API key: chk_<id>_<secret>")


async def get_runtime(request: Request) -> Runtime:
    """``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hand-off to a thread and back on every request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_api_key(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None:
        raise Problem("unauthorized", "Send 'Authorization: Bearer <API key>'.")
    try:
        return await authenticate(runtime.uow, runtime.clock, credentials.credentials)
    except InvalidApiKey as exc:
        raise Problem("unauthorized", str(exc)) from exc


ApiKeyDep = Annotated[ApiKey, Depends(get_api_key)]
