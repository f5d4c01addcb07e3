"""A mailbox's automatic replies from Graph (graph.md §8; docs/presence.md).

``read_automatic_replies`` is one ``GET /users/{id}/mailboxSettings``: the whole settings object,
because the scheduled window's ``dateTimeTimeZone`` may lack a zone and then the mailbox's own
``timeZone`` applies. (``$select`` on mailboxSettings is documented only as "some of the OData
query parameters"; the whole object is small and needs nothing unverified.)

``automatic_replies_from`` is the pure reading: ``status`` case-insensitively (doc samples send
``"Scheduled"``); each window end's wall-clock ``dateTime`` (Graph writes seven fractional
digits) in its own ``timeZone``, a Windows or IANA name, else the mailbox's ``timeZone``, else
UTC. The window is read only when the replies are scheduled; an unknown status or an unreadable
window of scheduled replies is ``InvalidResponse``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Final
from urllib.parse import quote

from calhub.domain.presence import AutomaticReplies, ReplyStatus
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.providers.base import InvalidResponse
from calhub.providers.msgraph.client import GraphClient

_STATUSES: Final = {status.value.lower(): status for status in ReplyStatus}
_WALL_CLOCK: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?"
)


async def read_automatic_replies(client: GraphClient, owner: str) -> AutomaticReplies:
    settings = await client.get_json(
        f"users/{quote(owner, safe='@')}/mailboxSettings", mailbox=owner
    )
    return automatic_replies_from(settings)


def automatic_replies_from(settings: Mapping[str, Any]) -> AutomaticReplies:
    """The replies in a ``mailboxSettings`` object (see the module doc)."""
    raw = settings.get("automaticRepliesSetting")
    if not isinstance(raw, Mapping):
        raise InvalidResponse("mailboxSettings: automaticRepliesSetting is not an object")
    status_text = raw.get("status")
    status = _STATUSES.get(status_text.lower()) if isinstance(status_text, str) else None
    if status is None:
        raise InvalidResponse(f"automaticRepliesSetting: unknown status {status_text!r}")
    if status is not ReplyStatus.SCHEDULED:
        return AutomaticReplies(status)
    mailbox_zone = _zone(settings.get("timeZone"), UTC)
    return AutomaticReplies(
        status,
        _instant(raw.get("scheduledStartDateTime"), "scheduledStartDateTime", mailbox_zone),
        _instant(raw.get("scheduledEndDateTime"), "scheduledEndDateTime", mailbox_zone),
    )


def _instant(value: object, name: str, mailbox_zone: tzinfo) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidResponse(f"automaticRepliesSetting: {name} is not a dateTimeTimeZone")
    text = value.get("dateTime")
    match = _WALL_CLOCK.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidResponse(f"automaticRepliesSetting: {name}.dateTime {text!r} is unreadable")
    whole, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(
            whole + (f".{fraction[:6]}" if fraction else "") + (offset or "").replace("Z", "+00:00")
        )
    except ValueError as exc:
        raise InvalidResponse(f"automaticRepliesSetting: {name}.dateTime {text!r}") from exc
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=_zone(value.get("timeZone"), mailbox_zone))


def _zone(name: object, fallback: tzinfo) -> tzinfo:
    if not isinstance(name, str) or not name:
        return fallback
    try:
        return resolve_zone(name)
    except UnknownTimeZone:  # includes Outlook's custom zones: nothing to resolve them by
        return fallback
