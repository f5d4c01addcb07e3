"""Windows <-> IANA mapping against the vendored CLDR table; zone resolution; all-day bounds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.timezones import (
    CustomTimeZone,
    NaiveDatetime,
    UnknownTimeZone,
    all_day_bounds,
    iana_to_windows,
    local_midnight,
    resolve_zone,
    to_utc,
    windows_to_iana,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _cldr_rows() -> list[tuple[str, str, list[str]]]:
    """The vendored windowsZones.xml, parsed here independently of the module under test."""
    xml = files("calhub.domain").joinpath("data/windowsZones.xml").read_bytes()
    root = ET.fromstring(xml)
    return [
        (row.attrib["other"], row.attrib["territory"], row.attrib["type"].split())
        for row in root.iter("mapZone")
    ]


ROWS = _cldr_rows()
GOLDEN = [(windows, zones[0]) for windows, territory, zones in ROWS if territory == "001"]
REGIONAL = [
    (windows, zone) for windows, territory, zones in ROWS if territory != "001" for zone in zones
]


def test_vendored_table_is_the_full_cldr_list() -> None:
    assert len(GOLDEN) == 139
    assert len({windows for windows, _ in GOLDEN}) == 139
    assert ("W. Europe Standard Time", "Europe/Berlin") in GOLDEN


@pytest.mark.parametrize(("windows", "zone"), GOLDEN, ids=[w for w, _ in GOLDEN])
def test_every_windows_zone_resolves_to_a_loadable_iana_zone(windows: str, zone: str) -> None:
    assert windows_to_iana(windows) == zone
    assert ZoneInfo(windows_to_iana(windows)).key == zone
    assert resolve_zone(windows).key == zone


# CLDR gives every golden row its own IANA zone (checked below), so no Windows name is lost on
# the way back. If a CLDR update ever maps two Windows names to one zone, list them here.
NOT_ROUND_TRIPPING: frozenset[str] = frozenset()


def test_windows_names_round_trip_through_iana() -> None:
    failing = {w for w, _ in GOLDEN if iana_to_windows(windows_to_iana(w)) != w}
    assert failing == NOT_ROUND_TRIPPING
    golden_zones = [zone for _, zone in GOLDEN]
    assert len(set(golden_zones)) == len(golden_zones)


def test_every_regional_zone_maps_back_to_its_windows_name() -> None:
    wrong = {zone: iana_to_windows(zone) for w, zone in REGIONAL if iana_to_windows(zone) != w}
    assert wrong == {}
    # Multi-zone rows are split: both Indiana zones of the US row are found, not just the first.
    assert iana_to_windows("America/Indiana/Vevay") == "US Eastern Standard Time"
    assert iana_to_windows("America/Boise") == "Mountain Standard Time"


def test_territory_picks_the_regional_zone_and_falls_back_to_golden() -> None:
    assert windows_to_iana("Eastern Standard Time", "CA") == "America/Toronto"
    assert windows_to_iana("W. Europe Standard Time", "CH") == "Europe/Zurich"
    assert windows_to_iana("Eastern Standard Time", "FR") == "America/New_York"


@pytest.mark.parametrize(
    ("zone", "windows"),
    [
        ("Asia/Kolkata", "India Standard Time"),  # CLDR lists the older Asia/Calcutta
        ("Europe/Kyiv", "FLE Standard Time"),
        ("America/Nuuk", "Greenland Standard Time"),
        ("Asia/Kathmandu", "Nepal Standard Time"),
        ("Asia/Yangon", "Myanmar Standard Time"),
        ("America/Argentina/Buenos_Aires", "Argentina Standard Time"),
        ("US/Pacific", "Pacific Standard Time"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT", "UTC"),
    ],
)
def test_iana_aliases_map_to_windows(zone: str, windows: str) -> None:
    assert iana_to_windows(zone) == windows


def test_graph_values_resolve() -> None:
    assert resolve_zone("tzone://Microsoft/Utc").utcoffset(datetime(2026, 7, 1)) == timedelta(0)
    assert resolve_zone("Europe/Kyiv").key == "Europe/Kyiv"
    assert resolve_zone("UTC").utcoffset(datetime(2026, 7, 1)) == timedelta(0)
    with pytest.raises(CustomTimeZone, match="defined only inside the event"):
        resolve_zone("tzone://Microsoft/Custom")


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "",
        "w. europe standard time",
        "../../etc/passwd",
        "America",
        "localtime",
    ],
)
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(UnknownTimeZone):
        resolve_zone(name)


def test_unknown_names_are_refused_by_the_mappings() -> None:
    with pytest.raises(UnknownTimeZone, match="Windows time zone"):
        windows_to_iana("Europe/Berlin")
    with pytest.raises(UnknownTimeZone, match="no Windows time zone"):
        iana_to_windows("W. Europe Standard Time")
    assert issubclass(UnknownTimeZone, ValueError)


def test_to_utc_keeps_the_instant_and_refuses_naive() -> None:
    local = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)  # second 02:30, winter time
    assert to_utc(local) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert to_utc(local).tzinfo is UTC
    with pytest.raises(NaiveDatetime):
        to_utc(datetime(2026, 1, 1))


def _span(bounds: tuple[datetime, datetime]) -> timedelta:
    # Subtract in UTC: same-tzinfo subtraction measures wall-clock time, not elapsed time.
    return to_utc(bounds[1]) - to_utc(bounds[0])


def test_all_day_bounds_on_dst_days() -> None:
    spring = all_day_bounds(date(2026, 3, 29), date(2026, 3, 30), BERLIN)
    autumn = all_day_bounds(date(2026, 10, 25), date(2026, 10, 26), BERLIN)
    ordinary = all_day_bounds(date(2026, 6, 1), date(2026, 6, 2), BERLIN)
    assert _span(spring) == timedelta(hours=23)
    assert _span(autumn) == timedelta(hours=25)
    assert _span(ordinary) == timedelta(hours=24)
    assert spring[0] == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert autumn[1] == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    week = all_day_bounds(date(2026, 3, 27), date(2026, 4, 3), BERLIN)
    assert _span(week) == timedelta(days=7, hours=-1)


def test_day_starts_at_the_jump_where_midnight_is_skipped() -> None:
    santiago = ZoneInfo("America/Santiago")
    # Chile springs forward at midnight: 2026-09-06 has no 00:00 and begins at 01:00 (-03).
    start, end = all_day_bounds(date(2026, 9, 6), date(2026, 9, 7), santiago)
    assert (start.hour, start.minute) == (1, 0)
    assert to_utc(start) == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert _span((start, end)) == timedelta(hours=23)
    # ... and falls back at midnight: 2026-04-04 runs until the second 23:00 ends.
    assert _span(all_day_bounds(date(2026, 4, 4), date(2026, 4, 5), santiago)) == timedelta(
        hours=25
    )


def test_all_day_bounds_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        all_day_bounds(date(2026, 1, 2), date(2026, 1, 1), BERLIN)
    with pytest.raises(TypeError):
        local_midnight(datetime(2026, 1, 1, tzinfo=UTC), BERLIN)
