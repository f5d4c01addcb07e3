"""``conferenceData`` on insert/update/patch (google.md §1.7).

With ``conferenceDataVersion=0`` the body's conference data is ignored; with 1 a
``createRequest`` of type ``hangoutsMeet`` becomes a Meet conference at once (status
``success``; Google may say ``pending`` first, and calhub must cope with both), and a full
``conferenceSolution`` + ``entryPoints`` is stored as given. A repeated ``requestId`` is ignored:
the conference already made for it stays.
"""

from __future__ import annotations

import hashlib
from typing import Any

from calhub.emulators.google.calendar.times import bad_request

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ICON = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"


def meeting_code(seed: str) -> str:
    """A stable ``abc-defg-hij`` code for one create request."""
    digest = hashlib.sha256(seed.encode()).digest()
    letters = "".join(_LETTERS[b % 26] for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"


def _meet(event_id: str, request_id: str) -> dict[str, Any]:
    code = meeting_code(f"{event_id}/{request_id}")
    pin = str(int.from_bytes(hashlib.sha256(code.encode()).digest()[:6]) % 10**9).zfill(9)
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "success"},
        },
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{code}",
                "label": f"meet.google.com/{code}",
            },
            {
                "entryPointType": "phone",
                "uri": "tel:+1-415-736-2190",
                "label": "+1 415-736-2190",
                "pin": pin,
                "regionCode": "US",
            },
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": _ICON,
        },
        "conferenceId": code,
    }


def apply_conference(
    current: dict[str, Any] | None, requested: Any, event_id: str, version: int
) -> dict[str, Any] | None:
    """The conference data to store, given what the event has and what the body asks for."""
    if version == 0 or requested is None:
        return current
    if not isinstance(requested, dict):
        raise bad_request("Invalid conference data.")
    create = requested.get("createRequest")
    if create is None:
        if requested.get("conferenceSolution") and requested.get("entryPoints"):
            return dict(requested)
        if not requested:
            return None
        raise bad_request("Invalid conference data.")
    request_id = create.get("requestId") if isinstance(create, dict) else None
    if not isinstance(request_id, str) or not request_id:
        raise bad_request("Invalid conference create request: requestId is required.")
    if current is not None and current.get("createRequest", {}).get("requestId") == request_id:
        return current
    kind = (create.get("conferenceSolutionKey") or {}).get("type")
    if kind != "hangoutsMeet":
        raise bad_request("Invalid conference type value.")
    return _meet(event_id, request_id)


def hangout_link(conference: dict[str, Any] | None) -> str | None:
    if conference is None:
        return None
    if conference.get("conferenceSolution", {}).get("key", {}).get("type") != "hangoutsMeet":
        return None
    return next(
        (
            str(entry["uri"])
            for entry in conference.get("entryPoints", [])
            if entry.get("entryPointType") == "video"
        ),
        None,
    )
