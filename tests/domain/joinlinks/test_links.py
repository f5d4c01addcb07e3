"""Link detection: providers, canonical forms, wrappers, lookalikes and precedence."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from calhub.domain.joinlinks import (
    PROCESSED_MARKER,
    ConferenceEntryPoint,
    ProviderHints,
    detect_join,
    entry_points_from_conference_data,
    link_from_url,
)

TID = "C2A8F6E0-7D3B-4A51-9E4F-1B2C3D4E5F60"
OID = "0f9e8d7c-6b5a-4c3d-8e2f-a1b2c3d4e5f6"
TEAMS = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_QUJD%40thread.v2/0?context="
    f"%7b%22Tid%22%3a%22{TID.lower()}%22%2c%22Oid%22%3a%22{OID}%22%7d"
)


def canonical(url: str) -> str | None:
    link = link_from_url(url)
    return link.join_url if link else None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.WEBEX.com/example/k2/j.php?MTID=m0123456789abcdef0123456789abcdef&x=1",
         "https://example.webex.com/example/j.php?MTID=m0123456789abcdef0123456789abcdef"),
        ("https://zoomgov.com/j/1612345678?pwd=abc123.1&from=addon",
         "https://zoomgov.com/j/1612345678?pwd=abc123.1"),
        ("https://examplecorp.zoom.us/my/jvale", "https://examplecorp.zoom.us/my/jvale"),
        ("https://zoom.us/wc/join/81234567890?pwd=Zz9-x", "https://zoom.us/j/81234567890?pwd=Zz9"),
        ("https://meet.google.com/_meet/abc-defg-hij?authuser=1",
         "https://meet.google.com/abc-defg-hij"),
        ("https://meet.goto.com/123456789", "https://meet.goto.com/123456789"),
        ("https://app.gotomeeting.com/?meetingId=123456789",
         "https://global.gotomeeting.com/join/123456789"),
        ("https://bluejeans.com/556677880/4321?src=x", "https://bluejeans.com/556677880/4321"),
        ("https://chime.aws/4455667788", "https://chime.aws/4455667788"),
        ("https://meet.jit.si/Weekly", "https://meet.jit.si/Weekly"),
        ("https://team.whereby.com/design", "https://team.whereby.com/design"),
        ("https://v.ringcentral.com/join/123456789?pw=abc", "https://v.ringcentral.com/join/123456789"),
        ("https://acme.vidyocloud.com/join/AbCd1234", "https://acme.vidyocloud.com/join/AbCd1234"),
        ("https://vc.example.org/webapp/#/?conference=meet.x&pin=1",
         "https://vc.example.org/webapp/m/meet.x"),
        ("https://teams.live.com/meet/9388512345678?p=AbC", "https://teams.live.com/meet/9388512345678?p=AbC"),
    ],
)  # fmt: skip
def test_links_are_canonicalised(url: str, expected: str) -> None:
    assert canonical(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://zoom.us.mail-check.example/j/84412345678",
        "https://myzoom.us/j/84412345678",
        "https://zoom-us.example/j/84412345678",
        "https://zoom.us@phish.example/j/84412345678",
        "https://zооm.us/j/84412345678",  # Cyrillic o
        "https://xn--zm-jbba.us/j/84412345678",
        "https://zoom%2Eus/j/84412345678",
        "https://zoom.us:8443/j/84412345678",
        "https://phish.example/site.webex.com/meet/x",
        "https://phish.example/?u=https://zoom.us/j/84412345678",
        "https://zoom.us/s/84412345678?zak=token",
        "https://zoom.us/rec/share/abc",
        "https://zoom.us/meeting/register/abc",
        "https://example.webex.com/recordingservice/sites/x/recording/1/playback",
        "https://www.webex.com/downloads.html",
        "https://teams.microsoft.com/meetingOptions/?organizerId=x",
        "https://meet.google.com/new",
        "https://meet.google.com/landing",
        "https://whereby.com/user",
        "https://protect-eu.mimecast.com/s/abc?domain=zoom.us",
        "mailto:x@zoom.us",
    ],
)
def test_lookalikes_and_non_joins_are_rejected(url: str) -> None:
    assert canonical(url) is None


def test_wrappers_are_unwrapped_one_layer_at_a_time() -> None:
    safe = f"https://eur01.safelinks.protection.outlook.com/?url={quote(TEAMS, safe='')}&data=05"
    google = f"https://www.google.com/url?q={quote(TEAMS, safe=':/')}&sa=D"
    barracuda = f"https://linkprotect.cudasvc.com/url?a={quote(safe, safe='')}&c=E"
    for wrapped in (safe, google, barracuda):
        assert canonical(wrapped) == TEAMS


def test_proofpoint_v3_replaces_starred_characters() -> None:
    target = "https://zoom.us/j/81234567890?pwd=Ab1"
    starred = target.replace("?", "*")
    encoded = base64.urlsafe_b64encode(b"?").decode().rstrip("=")
    wrapped = f"https://urldefense.com/v3/__{starred}__;{encoded}!!AbC!xyz$"
    assert canonical(wrapped) == target


@pytest.mark.parametrize(
    "form",
    [
        TEAMS.replace("%7b", "%7B").replace("%3a", "%3A"),
        "https://teams.microsoft.com/dl/launcher/launcher.html?url="
        + quote("/_#" + TEAMS.split(".com", 1)[1], safe=""),
        "https://teams.microsoft.com/v2/?meetingjoin=true#" + TEAMS.split(".com", 1)[1],
        "https://teams.microsoft.com/light-meetings/launch?coords="
        + base64.b64encode(
            json.dumps(
                {"conversationId": "19:meeting_QUJD@thread.v2", "tenantId": TID,
                 "organizerId": OID, "messageId": "0"}
            ).encode()
        ).decode(),
    ],
)  # fmt: skip
def test_every_teams_form_gives_the_classic_canonical_link(form: str) -> None:
    assert canonical(form) == TEAMS


def test_html_entities_wbr_and_wrapped_text_urls_are_undone() -> None:
    html = "Join: https://zoom.us/j/<wbr>81234567890?pwd=a&amp;x=1 &#80;asscode&#58; 99"
    found = detect_join("", html, "html")
    assert found is not None
    assert (found.join_url, found.passcode) == ("https://zoom.us/j/81234567890?pwd=a", "99")
    wrapped = "Join <https://zoom.us/j/812345\n 67890?pwd=b> now"
    found = detect_join("", wrapped, "text")
    assert found is not None
    assert found.join_url == "https://zoom.us/j/81234567890?pwd=b"


def test_location_beats_body_and_the_first_body_link_beats_later_ones() -> None:
    body = "New: https://meet.google.com/abc-defg-hij\nOld: https://zoom.us/j/81234567890"
    found = detect_join("https://meet.jit.si/Room", body, "text")
    assert found is not None
    assert (found.provider, found.source) == ("jitsi", "location")
    found = detect_join("", body, "text")
    assert found is not None
    assert (found.provider, found.source) == ("google_meet", "body")


def test_a_passcode_next_to_another_meeting_is_not_taken() -> None:
    body = (
        "Join: https://zoom.us/j/81234567890\nMeeting ID: 812 3456 7890\nPasscode: right\n\n"
        "Forwarded: Meeting ID: 955 5000 1111\nPasscode: wrong"
    )
    found = detect_join("", body, "text")
    assert found is not None
    assert (found.meeting_id, found.passcode) == ("81234567890", "right")


def test_keyword_beats_body_links_except_calhubs_own_block() -> None:
    body = "Old: https://zoom.us/j/81234567890"
    found = detect_join("@webex", body, "text")
    assert found is not None
    assert (found.keyword, found.join_url) == ("@webex", None)
    own = f"{body}\n<!-- {PROCESSED_MARKER} v=1 -->\nJoin https://site.webex.com/meet/jo\n"
    found = detect_join("@webex", own, "text")
    assert found is not None
    assert (found.keyword, found.join_url) == ("@webex", "https://site.webex.com/meet/jo")


def test_links_beat_addresses_and_dial_strings_are_the_last_resort() -> None:
    found = detect_join("sip:room@video.example.org", "https://meet.jit.si/R", "text")
    assert found is not None
    assert (found.provider, found.sip_uri) == ("jitsi", "sip:room@video.example.org")
    found = detect_join("tel:+1 (415) 555-0142,,123#", "h323:192.0.2.1##55", "text")
    assert found is not None
    assert (found.provider, found.dial_string, found.meeting_id) == (
        "tel",
        "tel:+14155550142,,123#",
        "123",
    )
    assert detect_join("", "Call tel:+14155550142 any time", "text") is None


def test_provider_data_beats_the_text() -> None:
    points = entry_points_from_conference_data(
        {
            "entryPoints": [
                {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"},
                {"entryPointType": "sip", "uri": "sip:123@gmeet.example.com"},
                {"entryPointType": "more"},
                "junk",
            ]
        }
    )
    assert points[1] == ConferenceEntryPoint("sip", "sip:123@gmeet.example.com")
    found = detect_join(
        "https://zoom.us/j/81234567890", "", "text", hints=ProviderHints(entry_points=points)
    )
    assert found is not None
    assert (found.provider, found.source, found.sip_uri) == (
        "google_meet",
        "provider_data",
        "sip:123@gmeet.example.com",
    )
    graph = ProviderHints(online_meeting_join_url=TEAMS)
    found = detect_join(
        "", f"{TEAMS}\nMeeting ID: 111 222 333 444\nPasscode: Pq1", "text", hints=graph
    )
    assert found is not None
    assert (found.meeting_id, found.passcode) == ("111222333444", "Pq1")


def test_email_addresses_are_not_video_addresses() -> None:
    assert detect_join("", "Questions: ops@webex.com or jo@example.org", "text") is None
    found = detect_join("", "Video address: jo@vc.example.org", "text")
    assert found is not None
    assert found.sip_uri == "sip:jo@vc.example.org"
