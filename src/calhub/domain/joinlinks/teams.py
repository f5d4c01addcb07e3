"""Microsoft Teams join links in all their forms, rebuilt into one canonical link.

Follows ``shared/reference/joinlinks.md`` §2.3: classic ``/l/meetup-join/<thread>/<message>``
links with a ``context`` JSON (percent-encoded once or twice, or pasted decoded), the launcher
wrapper ``/dl/launcher/launcher.html?url=/_#/l/meetup-join/…``, the web-client ``#`` forms
(``/_#/…``, ``/v2/?meetingjoin=true#/…``) and ``/light-meetings/launch?coords=<base64 JSON>``
all become ``…/l/meetup-join/19%3ameeting_<X>%40thread.v2/<message>?context=%7b%22Tid%22…``
with lower-case escapes and GUIDs; ID links stay ``/meet/<digits>?p=<token>``. Meeting-options
pages, help and dial-in links are not joins.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import unquote

from calhub.domain.joinlinks.links import MeetingLink
from calhub.domain.joinlinks.urls import ParsedUrl, query_value

__all__ = ["TEAMS_HOSTS", "teams_link"]

TEAMS_HOSTS = (
    "teams.microsoft.com",
    "teams.live.com",
    "gov.teams.microsoft.us",
    "dod.teams.microsoft.us",
    "teams.cloud.microsoft",
)

_MEET_ID = re.compile(r"/meet/(\d{10,16})/?")
_P_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_THREAD = re.compile(
    r"/l/meetup-join/19:([A-Za-z0-9_.=-]{1,200})@thread\.(v2|tacv2|skype)/(\d{1,20})", re.I
)
_GUID = r"\s*:\s*\"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\""
_TENANT = re.compile(r"\"Tid\"" + _GUID, re.I)
_ORGANIZER = re.compile(r"\"Oid\"" + _GUID, re.I)
_DECODE_LAYERS = 3


def teams_link(url: ParsedUrl) -> MeetingLink | None:
    """The canonical Teams join link for ``url`` (a URL on a Teams host), or None."""
    meet = _MEET_ID.fullmatch(url.path)
    if meet:
        return _meet_id_link(url, meet.group(1))
    path = url.path
    if path.lower().startswith("/l/meetup-join/"):
        return _classic(url.host, f"{path}?{url.query}")
    if path.lower() == "/dl/launcher/launcher.html":
        return _classic(url.host, query_value(url.query, "url") or "")
    if "/l/meetup-join/" in url.fragment.lower():
        return _classic(url.host, url.fragment)
    if path.lower() == "/light-meetings/launch":
        return _light_meeting(url.host, query_value(url.query, "coords") or "")
    return None


def _meet_id_link(url: ParsedUrl, meeting_id: str) -> MeetingLink:
    token = query_value(url.query, "p")
    token = token if token and _P_TOKEN.fullmatch(token) else None
    join_url = f"https://{url.host}/meet/{meeting_id}" + (f"?p={token}" if token else "")
    return MeetingLink(
        "teams", join_url, f"teams:meet:{meeting_id}", meeting_id, richness=int(bool(token))
    )


def _classic(host: str, text: str) -> MeetingLink | None:
    for _ in range(_DECODE_LAYERS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    thread = _THREAD.search(text)
    tenant = _TENANT.search(text)
    if thread is None or tenant is None:
        return None
    organizer = _ORGANIZER.search(text)
    return _canonical(
        host,
        thread.group(1),
        thread.group(2).lower(),
        thread.group(3),
        tenant.group(1),
        organizer.group(1) if organizer else None,
    )


def _canonical(
    host: str, thread: str, kind: str, message: str, tenant: str, organizer: str | None
) -> MeetingLink:
    context = "%7b%22Tid%22%3a%22" + tenant.lower() + "%22"
    if organizer:
        context += "%2c%22Oid%22%3a%22" + organizer.lower() + "%22"
    join_url = (
        f"https://{host}/l/meetup-join/19%3a{thread}%40thread.{kind}/{message}?context={context}%7d"
    )
    return MeetingLink(
        "teams", join_url, f"teams:{thread}:{message}", richness=int(bool(organizer))
    )


def _light_meeting(host: str, coords: str) -> MeetingLink | None:
    """``coords`` is base64 JSON with conversationId, tenantId, organizerId and messageId."""
    try:
        data = json.loads(base64.urlsafe_b64decode(coords + "=" * (-len(coords) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    fields = [data.get(key) for key in ("conversationId", "tenantId", "organizerId", "messageId")]
    conversation, tenant, organizer, message = (str(v) if v is not None else "" for v in fields)
    thread = re.fullmatch(r"19:([A-Za-z0-9_.=-]{1,200})@thread\.(v2|tacv2|skype)", conversation)
    guid = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
    if thread is None or not guid.fullmatch(tenant) or not message.isdigit():
        return None
    return _canonical(
        host,
        thread.group(1),
        thread.group(2).lower(),
        message,
        tenant,
        organizer if guid.fullmatch(organizer) else None,
    )
