"""Addresses a video device can dial: SIP/SIPS URIs, bare video addresses, Teams CVI blocks,
H.323 and ``tel:`` dial strings (``shared/reference/joinlinks.md`` §2.3 "CVI", §2.6).

- ``sip:``/``sips:`` URIs count anywhere; parameters and headers are dropped, scheme and host
  lower-cased, the user part kept as written.
- A bare ``user@host`` counts only on a known video domain (``<site>.webex.com``,
  ``zoomcrc.com``, ``bjn.vc``, ``t.plcm.vc``, ``*.onpexip.com``, ``lifesizecloud.com``) or
  within ``LABEL_REACH`` characters after a video label ("video address", "SIP", "dial", ...);
  never when glued to ``mailto:`` or other text, and never the tenant address inside a Teams
  "Join with/on a video conferencing device" block, which instead gives the direct-dial form
  (Webex ``<VideoID>.<tenant>@m.webex.com``, Pexip ``<ConferenceID>@<domain>``).
- ``h323:<address>`` or a bare ``<IPv4>##<conference>``; ``tel:<number>,,<conference>#``.

Every scan is anchored on a literal (``@``, ``sip``, ``##``, ``tel:``, the CVI phrase) and
capped at ``MAX_MATCHES``; the work per match is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

__all__ = [
    "DialString",
    "VideoAddress",
    "address_provider",
    "cvi_direct_dial",
    "find_addresses",
    "find_dial_string",
]

MAX_MATCHES = 1000  # accepted matches of one kind per field
MAX_ANCHORS = 5000  # '@' signs looked at per field (each costs a pattern attempt)
LABEL_REACH = 120
CVI_REACH = 400

_HOST = r"(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3}"
_SIP_ANCHOR = re.compile("sips?:")
_SIP = re.compile(rf"(sips?):([A-Za-z0-9._~%!$&'*+=-]{{1,128}})@({_HOST})", re.I)
_AT_HOST = re.compile(rf"@({_HOST})(?![\w@-])")
_USER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_GLUE = frozenset("_.@/:%+-")
_VIDEO_LABEL = re.compile(
    r"video address|video system|join by video|room system|h\.323|\b(?:sip|vtc|dial)\b", re.I
)
_CVI = re.compile(r"join (?:with|on) a video conferencing device")
_TENANT = re.compile(rf"([A-Za-z0-9._-]{{1,64}})@({_HOST})")
_VIDEO_ID = re.compile(
    r"(?:video conference id|video id|vtc conference id)\s*:?\s*(\d[\d ]{6,20}\d)"
)
_USER_PART_DIAL = frozenset({"m.webex.com", "t.plcm.vc"})
_H323_ANCHOR = re.compile("h323:")
_H323 = re.compile(r"h323:([^\s<>\"']{1,256})", re.I)
_DOUBLE_HASH = re.compile(r"##(\d{1,20})")
_IPV4_BEFORE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})\Z")
_TEL_ANCHOR = re.compile("tel:")
_TEL = re.compile(r"tel:(\+?[\d().\- ]{5,40}\d)((?:,+\d+#?|;ext=\d+|;postd=[\d,#*pw]+)+)", re.I)
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class VideoAddress:
    """``user@host`` a device can dial; ``uri`` is its ``sip:``/``sips:`` form."""

    user: str
    host: str
    secure: bool = False

    @property
    def uri(self) -> str:
        return f"{'sips' if self.secure else 'sip'}:{self.user}@{self.host}"


@dataclass(frozen=True, slots=True)
class DialString:
    """An ``h323`` or ``tel`` fallback: the normalised dial string and its conference ID."""

    provider: str
    dial_string: str
    meeting_id: str | None
    start: int


def address_provider(host: str) -> str:
    """The service a video address belongs to, by its domain (corpus README, "provider")."""
    if host.endswith(".webex.com") and host != "m.webex.com":
        return "webex"
    if host == "zoomcrc.com" or host.endswith(".zoomcrc.com"):
        return "zoom"
    if host == "bjn.vc" or host.endswith(".bjn.vc"):
        return "bluejeans"
    return "sip"


def _after_nth(folded: str, anchor: str) -> int:
    """Where the scan for ``anchor`` may stop: after its ``MAX_ANCHORS``-th occurrence."""
    if folded.count(anchor) <= MAX_ANCHORS:
        return len(folded)
    at = -1
    for _ in range(MAX_ANCHORS):
        at = folded.find(anchor, at + 1)
    return at + 1


def _glued(folded: str, start: int) -> bool:
    """Whether the scheme at ``start`` is the end of a longer word (``gossip:``)."""
    return start > 0 and folded[start - 1].isalnum()


def _known_video_host(host: str) -> bool:
    if host.endswith(".webex.com"):
        return host not in ("www.webex.com", "help.webex.com")
    return (
        host in ("t.plcm.vc", "lifesizecloud.com")
        or any(
            host == domain or host.endswith("." + domain) for domain in ("zoomcrc.com", "bjn.vc")
        )
        or host.endswith(".onpexip.com")
    )


def cvi_direct_dial(text: str, folded: str, start: int, end: int) -> str | None:
    """The direct-dial SIP URI of the first Teams video-conferencing block in
    ``text[start:end]``, built from its tenant address and video ID; None without one."""
    for found in islice(_CVI.finditer(folded, start, end), MAX_MATCHES):
        stop = min(len(text), found.end() + CVI_REACH)
        at = text.find("@", found.end(), stop)
        tenant = _TENANT.match(text, _user_start(text, at), stop) if at >= 0 else None
        video_id = _VIDEO_ID.search(folded, found.end(), stop)
        if tenant and video_id:
            digits = _NOT_DIGITS.sub("", video_id.group(1))
            local, host = tenant.group(1), tenant.group(2).lower()
            user = f"{digits}.{local}" if host in _USER_PART_DIAL else digits
            return VideoAddress(user, host).uri
    return None


def _user_start(text: str, at: int) -> int:
    """Where the user part of the address whose ``@`` is at ``at`` starts (at most 64 back)."""
    start = at
    while start > at - 64 and start > 0 and text[start - 1] in _USER_CHARS:
        start -= 1
    return start


def _in_cvi_block(folded: str, start: int) -> bool:
    return folded.find("video conferencing device", max(0, start - CVI_REACH), start) >= 0


def find_addresses(text: str, folded: str) -> list[tuple[int, VideoAddress]]:
    """Acceptable video addresses in document order (see the module docstring)."""
    found = []
    for anchor in islice(_SIP_ANCHOR.finditer(folded), MAX_MATCHES):
        if _glued(folded, anchor.start()):
            continue
        if sip := _SIP.match(text, anchor.start()):
            user, host, secure = sip.group(2), sip.group(3).lower(), len(sip.group(1)) == 4
            found.append((anchor.start(), VideoAddress(user, host, secure)))
    for match in islice(_AT_HOST.finditer(text, 0, _after_nth(folded, "@")), MAX_MATCHES):
        at = match.start()
        start = _user_start(text, at)
        glued = start > 0 and (text[start - 1].isalnum() or text[start - 1] in _GLUE)
        if start == at or glued or not text[start].isalnum():
            continue
        if _in_cvi_block(folded, start):
            continue
        host = match.group(1).lower()
        if _known_video_host(host) or _VIDEO_LABEL.search(text, max(0, start - LABEL_REACH), start):
            found.append((start, VideoAddress(text[start:at], host)))
    found.sort(key=lambda item: item[0])
    return found


def find_dial_string(text: str, folded: str) -> DialString | None:
    """The first H.323 or ``tel:`` dial string with a conference ID in ``text``."""
    candidates: list[DialString] = []
    anchor = next(
        (
            a
            for a in islice(_H323_ANCHOR.finditer(folded), MAX_MATCHES)
            if not _glued(folded, a.start())
        ),
        None,
    )
    if anchor and (h323 := _H323.match(text, anchor.start())):
        address = h323.group(1).rstrip(".,;:)")
        conference = address.partition("##")[2]
        digits = re.match(r"\d+", conference)
        candidates.append(
            DialString("h323", f"h323:{address}", digits.group() if digits else None, h323.start())
        )
    for double_hash in islice(_DOUBLE_HASH.finditer(text), MAX_MATCHES):
        ip = _IPV4_BEFORE.search(text, max(0, double_hash.start() - 15), double_hash.start())
        if ip:
            address = f"{ip.group(1)}##{double_hash.group(1)}"
            candidates.append(
                DialString("h323", f"h323:{address}", double_hash.group(1), ip.start())
            )
            break
    tel = next(
        (
            found
            for anchor in islice(_TEL_ANCHOR.finditer(folded), MAX_MATCHES)
            if not _glued(folded, anchor.start()) and (found := _TEL.match(text, anchor.start()))
        ),
        None,
    )
    if tel:
        number, tail = tel.group(1), tel.group(2)
        plus = "+" if number.startswith("+") else ""
        conference = re.search(r",+(\d+)", tail)
        candidates.append(
            DialString(
                "tel",
                f"tel:{plus}{_NOT_DIGITS.sub('', number)}{tail}",
                conference.group(1) if conference else None,
                tel.start(),
            )
        )
    return min(candidates, key=lambda candidate: candidate.start, default=None)
