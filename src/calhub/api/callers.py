"""Who is calling: a tenant API key, or one device with its own token (issue 6, "Devices").

Routes a device may use (its bookings, its stream) take ``CallerDep``; every other route takes
``ApiKeyDep`` and refuses device tokens. A device caller reads only its own device:
``caller.may_read_device(device_id)``; anything else answers as if the device did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from calhub.api.dependencies import RuntimeDep
from calhub.api.problems import Problem
from calhub.domain.devices import DEVICE_TOKEN_PREFIX
from calhub.domain.ids import DeviceId, TenantId
from calhub.services.apikeys import InvalidApiKey, authenticate
from calhub.services.devices import InvalidDeviceToken, authenticate_device

_bearer = HTTPBearer(
    auto_error=False,
    description="A tenant API key (chk_...) or, where a device may call, its token (chd_...)",
)


@dataclass(frozen=True, slots=True)
class Caller:
    tenant_id: TenantId
    device_id: DeviceId | None = None  # None: a tenant API key, which reads every device

    def may_read_device(self, device_id: DeviceId) -> bool:
        return self.device_id is None or self.device_id == device_id


async def get_caller(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise Problem("unauthorized", "Send 'Authorization: Bearer <API key or device token>'.")
    token = credentials.credentials
    try:
        if token.startswith(f"{DEVICE_TOKEN_PREFIX}_"):
            tenant_id, device_id = await authenticate_device(runtime.hub, token)
            return Caller(tenant_id, device_id)
        api_key = await authenticate(runtime.uow, runtime.clock, token)
    except (InvalidApiKey, InvalidDeviceToken) as exc:
        raise Problem("unauthorized", str(exc)) from exc
    return Caller(api_key.tenant_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
