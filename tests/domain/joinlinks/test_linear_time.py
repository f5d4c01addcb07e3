"""Linear time: a hostile body ten times as long takes about ten times as long, never a hundred,
and so does any repeated mix of anchors; no input raises.

The 50 ms target for a hostile megabyte is ``calhub bench joinlink``'s, which parses these bodies;
a test compares sizes instead, which holds on a slow or busy machine too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.cli.bench.joinlink import MEGABYTE, adversarial_bodies
from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.model import BodyFormat
from tests.domain.joinlinks.timing import fastest, least_cpu_seconds_each

ANCHORS = [
    "<", ">", "@", "://", "https://", "http://zoom.us/j/", "zoom.us/", ".com/", "sip:", "tel:",
    "h323:", "##", "&amp;", "&#", "=3D", "=\n", "<a href=", '"', "'", "{", "}", "%25", "%",
    "join with a video conferencing device", "Meeting ID: ", "Passcode: ", "@webex", "\u200b",
    "\xa0", "İ", "*", "__;", "!!", "<wbr>", "<style>", "\n", " ", "1", "a", ".", "-",
]  # fmt: skip
FORMATS: tuple[BodyFormat, ...] = ("text", "html")
FRAGMENTS = st.lists(st.sampled_from(ANCHORS) | st.text(max_size=8), min_size=1, max_size=12)


@pytest.mark.parametrize("name", sorted(adversarial_bodies(MEGABYTE // 10)))
def test_a_hostile_megabyte_parses_in_linear_time(name: str) -> None:
    tenth_body = adversarial_bodies(MEGABYTE // 10)[name]
    whole_body = adversarial_bodies()[name]
    for body_format in FORMATS:
        tenth = fastest(tenth_body[:1000], tenth_body, body_format)
        whole = fastest(whole_body[:1000], whole_body, body_format)

        assert whole < 20 * tenth + 0.005, (body_format, tenth, whole)  # measured: 1.5-10.4x


@settings(max_examples=60, deadline=None)
@given(
    parts=FRAGMENTS,
    size=st.integers(min_value=1_000, max_value=20_000),
    body_format=st.sampled_from(FORMATS),
)
def test_no_input_raises_or_grows_faster_than_linear(
    parts: list[str], size: int, body_format: BodyFormat
) -> None:
    unit = "".join(parts) or "x"
    whole = (unit * (10 * size // len(unit) + 1))[: 10 * size]
    tenth = whole[:size]

    seconds_tenth, seconds_whole = least_cpu_seconds_each(
        lambda: detect_join(tenth[:500], tenth, body_format),
        lambda: detect_join(whole[:500], whole, body_format),
    )

    # Ten times the text: about ten times as long, never a hundred (quadratic).
    assert seconds_whole < 20 * seconds_tenth + 0.005, (seconds_tenth, seconds_whole)


@settings(max_examples=300, deadline=None)
@given(location=st.text(max_size=200), body=st.text(max_size=2_000), html=st.booleans())
def test_arbitrary_text_never_raises(location: str, body: str, html: bool) -> None:
    detect_join(location, body, "html" if html else "text")
