"""Meeting numbers and passcodes read back from calhub's join block in every language it writes,
from SIP-only blocks too, and from other invites that use the same localized labels, without
giving up the label rules (only the chosen meeting's block; "Código de acceso" as Webex's
Spanish access code is no passcode) or linear time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.cli.bench.joinlink import LABEL_WHOLE_BODY, MEGABYTE, label_invites
from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.block import LOCALES, render_block, replace_block
from calhub.domain.joinlinks.model import BodyFormat, JoinDetails
from tests.domain.joinlinks.timing import fastest, least_cpu_seconds_each

FORMATS: tuple[BodyFormat, ...] = ("html", "text")
USER_BODY = {
    "html": '<html><body dir="ltr"><p>Agenda &amp; notes</p>\r\n</body></html>',
    "text": "Agenda:\r\n- budget\r\n\r\nSee you there.\r\n",
}
PERSONAL_ROOM = JoinDetails(
    provider="webex",
    source="location",
    join_url="https://acme.webex.com/meet/jo",
    meeting_id="26481130957",
    passcode="Xy12ab",
)
SIP_ONLY = JoinDetails(
    provider="sip",
    source="location",
    sip_uri="sip:jo.vmr@video.example.org",
    meeting_id="26481130957",
    passcode="Xy12ab",
)


def _invite(meeting: JoinDetails, body_format: BodyFormat, locale: str) -> str:
    block = render_block(meeting, keyword="@webex", body_format=body_format, locale=locale)
    return replace_block(USER_BODY[body_format], body_format, block)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("body_format", FORMATS)
def test_our_block_gives_back_meeting_number_and_passcode_in_every_language(
    body_format: BodyFormat, locale: str
) -> None:
    body = _invite(PERSONAL_ROOM, body_format, locale)

    found = detect_join(location="@webex", body=body, body_format=body_format)

    assert found is not None
    assert found.join_url == PERSONAL_ROOM.join_url
    assert (found.meeting_id, found.passcode) == ("26481130957", "Xy12ab")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("body_format", FORMATS)
def test_a_sip_only_block_gives_back_meeting_number_and_passcode(
    body_format: BodyFormat, locale: str
) -> None:
    body = _invite(SIP_ONLY, body_format, locale)

    found = detect_join(location="@webex", body=body, body_format=body_format)

    assert found is not None
    assert (found.join_url, found.sip_uri) == (None, SIP_ONLY.sip_uri)
    assert (found.meeting_id, found.passcode) == ("26481130957", "Xy12ab")


@pytest.mark.parametrize(
    ("body", "meeting_id", "passcode"),
    [
        ("Réunion Microsoft Teams\nRejoindre : https://teams.microsoft.com/meet/26893311074512"
         "?p=tok\nID de la réunion : 268 933 110 745 12\nCode secret : Ab3xY9\n",
         "26893311074512", "Ab3xY9"),
        ("Reunión de Microsoft Teams\nUnirse: https://teams.microsoft.com/meet/26893311074512"
         "?p=tok\nCódigo de acceso: Ab3xY9\n", "26893311074512", "Ab3xY9"),
        ("Webex: https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef0123456789abcdef\n"
         "Número de reunión (código de acceso): 2550 123 4567\n"
         "Unirse por teléfono\n+1-415-555-0133\nCódigo de acceso: 2550 123 4567\n",
         "25501234567", None),
        ("Webex: https://acme.webex.com/meet/jo\n会議のパスコード：Kq7m2\n"
         "ミーティング番号：2648 113 0957", "26481130957", "Kq7m2"),
        ("Webex: https://acme.webex.com/meet/jo\nMeetingnummer: 2648 113 0957\nPasscode: Kq7m2",
         "26481130957", "Kq7m2"),
    ],
    ids=["fr-teams", "es-teams", "es-webex-access-code", "ja-in-a-sentence", "de-webex"],
)  # fmt: skip
def test_localized_labels_in_other_invites(
    body: str, meeting_id: str, passcode: str | None
) -> None:
    found = detect_join(location="", body=body)

    assert found is not None
    assert (found.meeting_id, found.passcode) == (meeting_id, passcode)


def test_a_localized_passcode_of_another_meeting_is_not_taken() -> None:
    body = (
        "Rejoindre : https://zoom.us/j/81234567890\n\n"
        "Ancienne réunion : https://zoom.us/j/95550001111\nCode secret : 123123\n"
    )

    found = detect_join(location="", body=body)

    assert found is not None
    assert found.join_url == "https://zoom.us/j/81234567890"
    assert found.passcode is None


def test_a_label_glued_to_a_word_is_no_label() -> None:
    found = detect_join(location="", body="https://zoom.us/j/81234567890 onetimepasscode: 55")

    assert found is not None
    assert found.passcode is None


@pytest.mark.parametrize("name", sorted(label_invites(MEGABYTE // 10)))
def test_a_megabyte_of_localized_labels_parses_in_linear_time(name: str) -> None:
    """Ten times the text may take about ten times as long, never a hundred (quadratic). The
    ratio holds on a slow or busy machine; the 50 ms target for a hostile megabyte is
    ``calhub bench joinlink``'s, which parses these bodies too."""
    location, tenth_body = label_invites(MEGABYTE // 10)[name]
    _, whole_body = label_invites(MEGABYTE)[name]

    tenth = fastest(location, tenth_body, "text")
    whole = fastest(location, whole_body, "text")

    assert whole < 20 * tenth + 0.005  # measured: 4.5 to 10 times


LABEL_FRAGMENTS = [
    "Meetingnummer", "Numéro de réunion", "Número de reunión", "ミーティング番号", "Code secret",
    "Código de acceso", "パスコード", "Passcode", "x", "会議の", " : ", ": ", "：", "(", ")", " ",
    "\n", "1", "1 2", "-", "<", "é",
]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(st.sampled_from(LABEL_FRAGMENTS) | st.text(max_size=6), min_size=1, max_size=12),
    size=st.integers(min_value=1_000, max_value=20_000),
    setting=st.sampled_from(sorted(LABEL_WHOLE_BODY)),
)
def test_no_label_soup_raises_or_grows_faster_than_linear(
    parts: list[str], size: int, setting: str
) -> None:
    location, prefix = LABEL_WHOLE_BODY[setting]
    unit = "".join(parts) or "x"
    soup = (unit * (10 * size // len(unit) + 1))[: 10 * size]
    tenth, whole = prefix + soup[:size], prefix + soup

    seconds_tenth, seconds_whole = least_cpu_seconds_each(
        lambda: detect_join(location, tenth, "text"), lambda: detect_join(location, whole, "text")
    )

    # As in test_linear_time: ten times the text, never a hundred times as long.
    assert seconds_whole < 20 * seconds_tenth + 0.005, (seconds_tenth, seconds_whole)
