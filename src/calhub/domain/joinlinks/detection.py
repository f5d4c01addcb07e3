"""``detect_join``: the join details of one invite, from keyword, provider data, Location, body.

Precedence (docs/joinlinks.md, "Precedence"; corpus README, "Which meeting is chosen"):

1. a keyword in Location (``find_keyword``) decides; body links are ignored, except those in
   the join block calhub itself wrote earlier (after its ``joinsvc:processed`` marker);
2. provider data (Graph ``onlineMeeting.joinUrl``, Google video entry point);
3. the first join link in Location, then the first in the body (document order); of links to
   the same meeting the richer one (e.g. with ``pwd``) is kept;
4. without a link: the first video address (Location, then body);
5. without either: an H.323 or ``tel:`` dial string.

Meeting ID, passcode and video address come from the chosen link's block: the text around it
up to the neighbouring links to other meetings (at most ``BLOCK_BEFORE``/``BLOCK_AFTER``
characters away), Location's block first. In calhub's own block a video address chosen without
a link also takes the block's meeting number and passcode labels (a SIP-only keyword meeting).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from calhub.domain.joinlinks.addresses import (
    VideoAddress,
    address_provider,
    cvi_direct_dial,
    find_addresses,
    find_dial_string,
)
from calhub.domain.joinlinks.keywords import DEFAULT_KEYWORDS, KeywordTable, find_keyword
from calhub.domain.joinlinks.labels import block_labels
from calhub.domain.joinlinks.links import MeetingLink
from calhub.domain.joinlinks.model import BodyFormat, JoinDetails, JoinSource, ProviderHints
from calhub.domain.joinlinks.providers import BARE_TLDS, classify, is_provider_host
from calhub.domain.joinlinks.text import body_text, clean_text, fold, processed_block
from calhub.domain.joinlinks.urls import find_urls, guard, unwrap

__all__ = ["detect_join", "link_from_url"]

BLOCK_BEFORE = 2_000
BLOCK_AFTER = 4_000


@dataclass(frozen=True, slots=True)
class _Placed:
    start: int
    end: int
    link: MeetingLink


@dataclass(frozen=True, slots=True)
class _Field:
    """One scanned text field (``folded`` is its lower case): its links and video addresses."""

    name: JoinSource
    text: str
    folded: str
    links: tuple[_Placed, ...]
    addresses: tuple[tuple[int, VideoAddress], ...]


def link_from_url(url: str) -> MeetingLink | None:
    """The canonical join link ``url`` stands for (after unwrapping), or None."""
    parsed = guard(unwrap(url.strip()))
    return classify(parsed) if parsed else None


def _scan(name: JoinSource, text: str) -> _Field:
    folded = fold(text)
    links = []
    for start, end, url in find_urls(text, folded, BARE_TLDS, is_provider_host):
        link = link_from_url(url)
        if link is not None:
            links.append(_Placed(start, end, link))
    addresses = find_addresses(text, folded)
    return _Field(name, text, folded, tuple(links), tuple(addresses))


def detect_join(
    location: str,
    body: str,
    body_format: BodyFormat = "text",
    *,
    hints: ProviderHints | None = None,
    keywords: KeywordTable = DEFAULT_KEYWORDS,
) -> JoinDetails | None:
    """The join details of an invite, or None when it has nothing to join (module docstring)."""
    location_text = clean_text(location)
    keyword = find_keyword(location_text, keywords)
    if keyword is not None:
        details = JoinDetails(
            provider=keyword.rule.provider,
            source="location",
            keyword=keyword.keyword,
            keyword_modifier=keyword.modifier,
            meeting_backend=keyword.backend,
        )
        block = processed_block(body)
        own = (
            _detect_in_text([_scan("body", body_text(block, body_format))], None, own_block=True)
            if block
            else None
        )
        if own is None:
            return details
        return replace(
            details,
            join_url=own.join_url,
            sip_uri=own.sip_uri,
            meeting_id=own.meeting_id,
            passcode=own.passcode,
        )
    fields = [_scan("location", location_text), _scan("body", body_text(body, body_format))]
    return _detect_in_text(fields, hints)


def _detect_in_text(
    fields: list[_Field], hints: ProviderHints | None, *, own_block: bool = False
) -> JoinDetails | None:
    hinted = _from_hints(fields, hints) if hints else None
    if hinted is not None:
        return hinted
    for field in fields:
        if field.links:
            first = field.links[0]
            best = first.link
            for other in field.links[1:]:
                if other.link.identity == best.identity and other.link.richness > best.richness:
                    best = other.link
            return _complete(fields, best, field.name, field, first.start, None)
    for field in fields:
        if field.addresses:
            position, address = field.addresses[0]
            details = _address_only(field.name, address)
            if not own_block:
                return details
            # calhub's own block labels the meeting number and passcode of a video address.
            labels = block_labels(
                field.text, field.folded, 0, len(field.text), position, details.meeting_id
            )
            return replace(
                details, meeting_id=labels.meeting_id, passcode=details.passcode or labels.passcode
            )
    for field in fields:
        if dial := find_dial_string(field.text, field.folded):
            return JoinDetails(
                dial.provider, field.name, meeting_id=dial.meeting_id, dial_string=dial.dial_string
            )
    return None


def _from_hints(fields: list[_Field], hints: ProviderHints) -> JoinDetails | None:
    video = [point for point in hints.entry_points if point.entry_point_type == "video"]
    urls = [hints.online_meeting_join_url] if hints.online_meeting_join_url else []
    for url in [*urls, *(point.uri for point in video)]:
        link = link_from_url(url)
        if link is None:
            continue
        sip = next(
            (p.uri for p in hints.entry_points if p.entry_point_type == "sip" and p.uri), None
        )
        passcode = next((p.passcode or p.password for p in video if p.passcode or p.password), None)
        details = _complete(fields, link, "provider_data", None, None, sip)
        return replace(details, passcode=passcode or details.passcode)
    return None


def _complete(
    fields: list[_Field],
    link: MeetingLink,
    source: JoinSource,
    home: _Field | None,
    anchor: int | None,
    sip_uri: str | None,
) -> JoinDetails:
    """The chosen link with meeting ID, passcode and video address from its blocks."""
    meeting_id, passcode, cvi_dial = link.meeting_id, None, None
    addresses: list[VideoAddress] = []
    for field in fields:
        block = _block(field, link.identity, anchor if field is home else None)
        if block is None:
            continue
        start, end, at = block
        labels = block_labels(field.text, field.folded, start, end, at, meeting_id)
        meeting_id = meeting_id or labels.meeting_id
        passcode = passcode or labels.passcode
        addresses += [a for pos, a in field.addresses if labels.start <= pos < labels.end]
        if link.provider == "teams" and cvi_dial is None:
            cvi_dial = cvi_direct_dial(field.text, field.folded, labels.start, labels.end)
    sip_uri = sip_uri or cvi_dial
    address = addresses[0] if addresses else None
    sip_uri = sip_uri or (address.uri if address else None)
    if address is not None and address_provider(address.host) == link.provider:
        user_id, crc_passcode = _numeric_user(address)
        meeting_id = meeting_id or user_id
        passcode = passcode or link.passcode or crc_passcode
    return JoinDetails(
        link.provider,
        source,
        join_url=link.join_url,
        sip_uri=sip_uri,
        meeting_id=meeting_id,
        passcode=passcode or link.passcode,
    )


def _block(field: _Field, identity: str, anchor: int | None) -> tuple[int, int, int] | None:
    """``(start, end, anchor)`` of the meeting's block in ``field``; None when the field only
    holds other meetings. Without an anchor the meeting's first link in the field is used, and
    a field without links is one block."""
    others = [placed for placed in field.links if placed.link.identity != identity]
    if anchor is None:
        same = [placed.start for placed in field.links if placed.link.identity == identity]
        if same:
            anchor = same[0]
        elif others:
            return None
        else:
            return 0, len(field.text), 0
    start = max((p.end for p in others if p.end <= anchor), default=0)
    end = min((p.start for p in others if p.start > anchor), default=len(field.text))
    return max(start, anchor - BLOCK_BEFORE), min(end, anchor + BLOCK_AFTER), anchor


def _numeric_user(address: VideoAddress) -> tuple[str | None, str | None]:
    """Meeting ID (and, for Zoom CRC, passcode) from ``<id>[.<passcode>…]@host``."""
    number, _, rest = address.user.partition(".")
    if not number.isdigit():
        return None, None
    provider = address_provider(address.host)
    if provider == "zoom":
        passcode = rest.partition(".")[0]
        return number, passcode if passcode.isdigit() else None
    return (number, None) if provider == "webex" and not rest else (None, None)


def _address_only(source: JoinSource, address: VideoAddress) -> JoinDetails:
    meeting_id, passcode = _numeric_user(address)
    return JoinDetails(
        address_provider(address.host),
        source,
        sip_uri=address.uri,
        meeting_id=meeting_id,
        passcode=passcode,
    )
