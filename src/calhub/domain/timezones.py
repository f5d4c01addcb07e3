"""Time zones: Windows zone names <-> IANA zones, resolving provider zone strings, all-day bounds.

Microsoft Graph names zones the Windows way (``originalStartTimeZone: "W. Europe Standard Time"``),
Google and iCalendar the IANA way (``Europe/Berlin``). The mapping is CLDR's
``common/supplemental/windowsZones.xml``, vendored in ``calhub/domain/data`` (see its README) and
parsed once, on first use.

Offers:

- ``windows_to_iana(name, territory="001")``: the IANA zone CLDR gives for a Windows name
  (territory ``001`` is CLDR's "golden" zone; another territory picks that country's zone).
- ``iana_to_windows(name)``: the Windows name for an IANA zone, including zones CLDR lists only
  for a territory and IANA aliases (``Asia/Kolkata`` for CLDR's ``Asia/Calcutta``).
- ``resolve_zone(name)``: a ``ZoneInfo`` for whatever a provider sent: a Windows name, an IANA
  name, or Graph's ``tzone://Microsoft/Utc``.
- ``require_aware(dt)`` and ``to_utc(dt)``: reject naive datetimes; convert to UTC.
- ``all_day_bounds(start, end, zone)``: the instants an all-day span covers in a zone.

Errors: ``UnknownTimeZone(ValueError)`` for a name nothing maps, with ``CustomTimeZone`` as the
special case of Outlook's ``tzone://Microsoft/Custom`` (a zone defined only inside the event, so the
caller must fall back to the offsets it was given); ``NaiveDatetime(ValueError)`` for a datetime
without a zone.

CLDR ids are CLDR-canonical and sometimes older than tzdata's (``Europe/Kiev``, not
``Europe/Kyiv``); ``windows_to_iana`` returns them unchanged, and ``zoneinfo`` loads both. IANA
aliases are resolved with the ``L target alias`` lines of ``tzdata.zi``, read from the same places
``zoneinfo`` reads zones from (``zoneinfo.TZPATH``, then the ``tzdata`` package).
"""

from __future__ import annotations

import functools
import importlib.resources
import xml.etree.ElementTree as ET
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

GOLDEN_TERRITORY = "001"
"""CLDR's territory code for "the world": the default zone of a Windows name."""

GRAPH_CUSTOM_ZONE = "tzone://Microsoft/Custom"
"""Graph's value for a zone defined only inside an event (legacy desktop Outlook)."""

# Graph's own non-Windows zone values that still denote a real zone. "tzone://Microsoft/Utc" is
# seen in real originalStartTimeZone values but is not in the reference notes; it costs nothing.
_GRAPH_ZONES: Mapping[str, str] = {"tzone://Microsoft/Utc": "Etc/UTC"}

# Names that mean UTC even where neither CLDR nor tzdata's link table lists them.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})

# Files in the zone directories that load as zones but name none an event can be in:
# the host's own zone, zic's rule template, and tzdata's "zone unknown" placeholder.
_NOT_EVENT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class UnknownTimeZone(ValueError):
    """A zone name that is neither a known Windows name nor an IANA zone."""


class CustomTimeZone(UnknownTimeZone):
    """Outlook's ``tzone://Microsoft/Custom``: the zone exists only in the event's own data."""


class NaiveDatetime(ValueError):
    """A datetime without a time zone where an instant is needed."""


@dataclass(frozen=True, slots=True)
class _WindowsZones:
    golden: Mapping[str, str]
    """Windows name -> IANA zone for territory 001."""
    by_territory: Mapping[tuple[str, str], tuple[str, ...]]
    """(Windows name, territory) -> that row's IANA zones, CLDR's preferred one first."""
    to_windows: Mapping[str, str]
    """IANA zone -> Windows name, from every row."""


@functools.cache
def _windows_zones() -> _WindowsZones:
    resource = importlib.resources.files("calhub.domain").joinpath("data/windowsZones.xml")
    # The XML is vendored CLDR data shipped with the package, not untrusted input.
    root = ET.fromstring(resource.read_bytes())  # noqa: S314
    golden: dict[str, str] = {}
    by_territory: dict[tuple[str, str], tuple[str, ...]] = {}
    for row in root.iter("mapZone"):
        windows, territory = row.attrib["other"], row.attrib["territory"]
        zones = tuple(row.attrib["type"].split())
        by_territory[(windows, territory)] = zones
        if territory == GOLDEN_TERRITORY:
            golden[windows] = zones[0]
    to_windows: dict[str, str] = {}
    # Golden rows first, so a zone listed under several names maps to the one that owns it.
    for windows, zone in golden.items():
        to_windows.setdefault(zone, windows)
    for (windows, _territory), zones in by_territory.items():
        for zone in zones:
            to_windows.setdefault(zone, windows)
    return _WindowsZones(golden=golden, by_territory=by_territory, to_windows=to_windows)


def _read_tzdata_zi() -> str:
    for directory in zoneinfo.TZPATH:
        candidate = Path(directory) / "tzdata.zi"
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    try:
        resource = importlib.resources.files("tzdata").joinpath("zoneinfo/tzdata.zi")
        return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""


@functools.cache
def _tz_links() -> Mapping[str, str]:
    """tzdata alias -> the zone it names (``Asia/Calcutta`` -> ``Asia/Kolkata``)."""
    links: dict[str, str] = {}
    for line in _read_tzdata_zi().splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "L":
            links[fields[2]] = fields[1]
    return links


@functools.cache
def _tz_link_groups() -> Mapping[str, tuple[str, ...]]:
    """tzdata zone -> every alias of it, sorted so lookups are deterministic."""
    groups: dict[str, list[str]] = {}
    for alias, target in _tz_links().items():
        groups.setdefault(_canonical(target), []).append(alias)
    return {target: tuple(sorted(aliases)) for target, aliases in groups.items()}


def _canonical(name: str) -> str:
    links = _tz_links()
    seen = {name}
    while name in links:
        name = links[name]
        if name in seen:  # a cycle would be broken data; stop rather than loop
            break
        seen.add(name)
    return name


@functools.cache
def _available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def windows_to_iana(name: str, territory: str = GOLDEN_TERRITORY) -> str:
    """The IANA zone CLDR maps a Windows zone name to.

    ``territory`` (an ISO 3166 code such as ``"CA"``) picks the zone CLDR lists for that country;
    a territory without a row of its own falls back to the golden ``001`` zone.
    """
    zones = _windows_zones()
    regional = zones.by_territory.get((name, territory))
    if regional:
        return regional[0]
    golden = zones.golden.get(name)
    if golden is None:
        raise UnknownTimeZone(f"not a Windows time zone name CLDR knows: {name!r}")
    return golden


def iana_to_windows(name: str) -> str:
    """The Windows zone name for an IANA zone (or a tzdata alias of one CLDR lists)."""
    to_windows = _windows_zones().to_windows
    found = to_windows.get(name)
    if found is not None:
        return found
    if name in _UTC_NAMES:
        return "UTC"
    canonical = _canonical(name)
    for candidate in (canonical, *_tz_link_groups().get(canonical, ())):
        found = to_windows.get(candidate)
        if found is not None:
            return found
    raise UnknownTimeZone(f"no Windows time zone for IANA zone {name!r}")


def resolve_zone(name: str) -> zoneinfo.ZoneInfo:
    """A ``ZoneInfo`` for a provider's zone string: Windows name, IANA name or Graph's UTC value.

    Raises ``CustomTimeZone`` for ``tzone://Microsoft/Custom`` and ``UnknownTimeZone`` for
    anything else that names no zone.
    """
    graph_zone = _GRAPH_ZONES.get(name)
    if graph_zone is not None:
        return zoneinfo.ZoneInfo(graph_zone)
    if name == GRAPH_CUSTOM_ZONE:
        raise CustomTimeZone(
            f"{name!r} is a zone defined only inside the event; use the event's own offsets"
        )
    golden = _windows_zones().golden.get(name)
    if golden is not None:
        return zoneinfo.ZoneInfo(golden)
    # Checking the list of keys (rather than trying to load) refuses paths such as
    # "../etc/passwd" and directories such as "America" that are not zone names.
    if name in _available_zones() and name not in _NOT_EVENT_ZONES:
        return zoneinfo.ZoneInfo(name)
    raise UnknownTimeZone(f"not a Windows or IANA time zone name: {name!r}")


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` if it carries a zone; raise ``NaiveDatetime`` if it does not."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(f"{what} is a naive datetime: {value.isoformat()}")
    return value


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused, never guessed at."""
    return require_aware(value).astimezone(UTC)


def local_midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant ``day`` begins in ``zone``.

    Where clocks jump forward at midnight (as in America/Santiago) 00:00 never shows; the day then
    begins at the jump, which is what ``fold=0`` on a skipped wall time denotes. The result is
    re-expressed so its wall time is one the zone really shows (01:00 in that case).
    """
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got a datetime: {day.isoformat()}")
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start.astimezone(UTC).astimezone(zone)


def all_day_bounds(start: date, end: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The instants an all-day span ``[start, end)`` (end date exclusive) covers in ``zone``.

    A day is not always 24 hours: the day clocks spring forward is 23 and the day they fall back
    is 25, so the bounds are each date's local midnight, never ``start + n days``.
    """
    if end < start:
        raise ValueError(f"all-day span ends before it starts: {start} .. {end}")
    return local_midnight(start, zone), local_midnight(end, zone)
