"""Graph-shaped identifiers for events, calendars, iCalUIds and change keys (graph.md §1.1).

Real Outlook ids are URL-safe base64 of a binary entry id that starts with the mailbox GUID in
ASCII (hence the ``AAMk...`` prefix) and ends in zero bytes (hence ``...AAA=``). The emulator
builds ids the same way, so they look and measure like Graph's (~150 characters):

- an item (single event or series master): 113 bytes, 152 characters;
- an occurrence or exception: the master's bytes plus the original start (UTC seconds), so every
  instance of a series has a stable id that names its series and slot without any lookup;
- a calendar or calendar group: derived from the mailbox id alone, so a reseed gives the same ids.

Ids are immutable: the emulator never moves items between folders, so ``Prefer: IdType=
"ImmutableId"`` changes nothing but the ``Preference-Applied`` echo.

``iCalUId`` follows Exchange's GlobalObjectId hex form (112 characters, ``040000008200E000...``);
an occurrence's differs from its series' in the date bytes, as in Outlook. Change keys are base64
with a per-store counter, so they change on every edit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import secrets
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

_HEADER = b"\x00\x03\x24\x00"
_ITEM_MARK = b"\x00\x46\x00\x00\x00\x00"
_ITEM_KIND = b"\x07\x00"
_ITEM_SIZE = 113
_INSTANCE_MARK = b"\x10\x00"
_INSTANCE_SIZE = _ITEM_SIZE + len(_INSTANCE_MARK) + 8 + 3
_CALENDAR_MARK = b"\x00\x2e\x00\x00\x00\x00"
_GLOBAL_OBJECT_PREFIX = "040000008200E00074C5B7101A82E008"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


class IdMalformed(ValueError):
    """Text that is not an id the emulator could have issued (Graph: ErrorInvalidIdMalformed)."""


@dataclass(frozen=True, slots=True)
class ParsedEventId:
    """What an event id names: the mailbox, the top-level item and, for instances, the slot."""

    mailbox_id: str
    item_id: str
    original_start: int | None  # UTC epoch seconds of the slot; None for the item itself


def new_item_id(mailbox_id: str) -> str:
    """A fresh id for a single event or series master in ``mailbox_id``'s calendar."""
    raw = b"".join(
        (
            _HEADER,
            _mailbox_ascii(mailbox_id),
            _ITEM_MARK,
            _folder_key(mailbox_id),
            _ITEM_KIND,
            secrets.token_bytes(16),
            b"\x00\x00",
            secrets.token_bytes(16),
        )
    )
    raw += b"\x00" * (_ITEM_SIZE - len(raw))
    return _encode(raw)


def instance_id(item_id: str, original_start: int) -> str:
    """The id of the occurrence (or exception) of series ``item_id`` at ``original_start``."""
    raw = _decode(item_id)
    raw += _INSTANCE_MARK + struct.pack(">q", original_start) + b"\x00\x00\x00"
    return _encode(raw)


def parse_event_id(text: str) -> ParsedEventId:
    """Split an event id into its parts; raises ``IdMalformed`` for anything else."""
    raw = _decode(text)
    if len(raw) not in (_ITEM_SIZE, _INSTANCE_SIZE) or not raw.startswith(_HEADER):
        raise IdMalformed(text)
    if raw[40:46] != _ITEM_MARK or raw[62:64] != _ITEM_KIND:
        raise IdMalformed(text)
    mailbox_id = _mailbox_from(raw, text)
    if len(raw) == _ITEM_SIZE:
        return ParsedEventId(mailbox_id, text, None)
    if raw[_ITEM_SIZE : _ITEM_SIZE + 2] != _INSTANCE_MARK:
        raise IdMalformed(text)
    (start,) = struct.unpack(">q", raw[_ITEM_SIZE + 2 : _ITEM_SIZE + 10])
    return ParsedEventId(mailbox_id, _encode(raw[:_ITEM_SIZE]), start)


def calendar_id(mailbox_id: str) -> str:
    """The stable id of the mailbox's default calendar."""
    return _folder_id(mailbox_id, b"calendar", b"\x01\x00")


def calendar_group_id(mailbox_id: str) -> str:
    """The stable id of the mailbox's default calendar group ("My Calendars")."""
    return _folder_id(mailbox_id, b"calendar-group", b"\x02\x00")


def is_well_formed_folder_id(text: str) -> bool:
    try:
        raw = _decode(text)
    except IdMalformed:
        return False
    return raw.startswith(_HEADER) and raw[40:46] == _CALENDAR_MARK


def new_ical_uid(now: datetime) -> str:
    """An Exchange GlobalObjectId in hex: class id, zero date, creation FILETIME, random tail."""
    filetime = int((now - _FILETIME_EPOCH).total_seconds() * 10_000_000)
    stamp = struct.pack("<Q", filetime).hex().upper()
    tail = secrets.token_hex(16).upper()
    return f"{_GLOBAL_OBJECT_PREFIX}00000000{stamp}000000000000000010000000{tail}"


def occurrence_ical_uid(series_uid: str, day: date) -> str:
    """An instance's iCalUId: the series' with the instance date in bytes 16-19 (as Outlook)."""
    prefix = len(_GLOBAL_OBJECT_PREFIX)
    stamp = f"{day.year:04X}{day.month:02X}{day.day:02X}"
    return series_uid[:prefix] + stamp + series_uid[prefix + 8 :]


class ChangeKeys:
    """Change keys: a fixed prefix then a counter, base64 like Exchange's (``DwAAABYAAAC...``)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._prefix = b"\x0f\x00\x00\x00\x16\x00\x00\x00" + secrets.token_bytes(16)

    def next(self) -> str:
        value = next(self._counter)
        return base64.b64encode(self._prefix + value.to_bytes(6, "big")).decode()


def epoch_seconds(value: datetime | date) -> int:
    """The slot key of an original start: UTC seconds; a date counts as its midnight in UTC."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


def _folder_id(mailbox_id: str, purpose: bytes, kind: bytes) -> str:
    derived = hashlib.sha256(mailbox_id.lower().encode() + b"/" + purpose).digest()
    raw = b"".join(
        (
            _HEADER,
            _mailbox_ascii(mailbox_id),
            _CALENDAR_MARK,
            _folder_key(mailbox_id),
            kind,
            derived[:16],
            b"\x00\x00\x00\x00\x01\x06\x00\x00",
        )
    )
    return _encode(raw)


def _folder_key(mailbox_id: str) -> bytes:
    return hashlib.sha256(mailbox_id.lower().encode() + b"/folder").digest()[:16]


def _mailbox_ascii(mailbox_id: str) -> bytes:
    return str(uuid.UUID(mailbox_id)).encode("ascii")


def _mailbox_from(raw: bytes, text: str) -> str:
    try:
        return str(uuid.UUID(raw[4:40].decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        raise IdMalformed(text) from None


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise IdMalformed(text) from None
