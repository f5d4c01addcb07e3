"""``/users/{id}/mailboxSettings`` and its parts, read and patched (graph.md §8).

Graph answers a GET of one part (``.../mailboxSettings/timeZone``) with that part alone, wrapped in
``value`` for primitives; a PATCH merges the given parts and answers with them. ``userPurpose`` is
read-only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from calhub.emulators.graph.access import MailboxDep
from calhub.emulators.graph.errors import GraphError

router = APIRouter(prefix="/v1.0/users/{user_id}/mailboxSettings")

PARTS = {
    "archivefolder": "archiveFolder",
    "automaticrepliessetting": "automaticRepliesSetting",
    "dateformat": "dateFormat",
    "delegatemeetingmessagedeliveryoptions": "delegateMeetingMessageDeliveryOptions",
    "language": "language",
    "timeformat": "timeFormat",
    "timezone": "timeZone",
    "userpurpose": "userPurpose",
    "workinghours": "workingHours",
}
READ_ONLY = {"userPurpose"}
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#users('{id}')/mailboxSettings"


@router.get("")
async def get_settings(mailbox: MailboxDep) -> dict[str, Any]:
    return {"@odata.context": CONTEXT.format(id=mailbox.id), **mailbox.settings}


@router.get("/{part}")
async def get_part(part: str, mailbox: MailboxDep) -> dict[str, Any]:
    name = _part(part)
    value = mailbox.settings.get(name)
    context = CONTEXT.format(id=mailbox.id) + f"/{name}"
    if isinstance(value, dict):
        return {"@odata.context": context, **value}
    return {"@odata.context": context, "value": value}


@router.patch("")
async def patch_settings(
    mailbox: MailboxDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@odata"):
            continue
        name = _part(key)
        if name in READ_ONLY:
            raise GraphError(400, "ErrorInvalidRequest", f"The property '{name}' is read-only.")
        current = mailbox.settings.get(name)
        if isinstance(current, dict) and isinstance(value, dict):
            value = {**current, **value}
        changes[name] = value
    mailbox.settings.update(changes)
    return {"@odata.context": CONTEXT.format(id=mailbox.id), **changes}


def _part(name: str) -> str:
    try:
        return PARTS[name.lower()]
    except KeyError:
        raise GraphError(
            400,
            "BadRequest",
            f"Could not find a property named '{name}' on type 'microsoft.graph.mailboxSettings'.",
        ) from None
