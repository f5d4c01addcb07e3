"""The join block written into keyword invites: localized, recognised by our own detector, and
inserted, replaced and removed without touching a byte of the user's text."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.backends import SipVirtualRooms
from calhub.domain.joinlinks.block import (
    LOCALES,
    JoinBlock,
    find_block,
    language_for,
    remove_block,
    render_block,
    replace_block,
)
from calhub.domain.joinlinks.model import BodyFormat, JoinDetails
from tests.domain.joinlinks.timing import least_cpu_seconds_each

WEBINAR_URL = "https://acme.zoom.us/w/93212345678?pwd=abc123&tk=tok9"
WEBINAR = JoinDetails(
    provider="zoom",
    source="location",
    join_url=WEBINAR_URL,
    sip_uri="sip:93212345678@zoomcrc.com",
    meeting_id="93212345678",
    passcode="618203",
)
FORMATS: tuple[BodyFormat, ...] = ("html", "text")
HTML_BODY = (
    '<html><head><title>x</title></head><body dir="ltr"><p>Agenda &amp; notes</p>\r\n</body></html>'
)
CRLF_TEXT = "Agenda:\r\n- budget\r\n\r\nSee you there.\r\n"
# The older marker shape (corpus example kw-11-already-processed): no keyword, no end marker.
LEGACY_BEFORE = '<html><body><div class="x"><p>Budget sync</p>'
LEGACY_BLOCK = (
    '<!-- joinsvc:processed v=1 hash=5c1e0d --><div id="joinsvc-block"><p>-- Do not delete or'
    ' change any of the following text. --</p><p><a href="https://exampleco.webex.com/meet/'
    'priya.n">Join meeting</a></p><div>nested</div></div>'
)
LEGACY_AFTER = "</div></body></html>"


def block(
    meeting: JoinDetails = WEBINAR,
    body_format: BodyFormat = "text",
    locale: str | None = "en",
    keyword: str = "@webex:myroom",
    header: str = "",
    footer: str = "",
) -> str:
    return render_block(
        meeting,
        keyword=keyword,
        body_format=body_format,
        locale=locale,
        header=header,
        footer=footer,
    )


@pytest.mark.parametrize(
    ("locale", "phrases"),
    [
        ("en", ["Do not delete or change", "Join the meeting: ", "video system or application: ",
                "Meeting number: 93212345678", "Passcode: 618203"]),
        ("de", ["nicht löschen oder ändern", "Am Meeting teilnehmen: ",
                "Über ein Videosystem oder eine Anwendung teilnehmen: ",
                "Meetingnummer: 93212345678", "Passcode: 618203"]),
        ("fr", ["Ne supprimez pas et ne modifiez pas", "Rejoindre la réunion : ",
                "depuis un système vidéo ou une application : ",
                "Numéro de réunion : 93212345678", "Code secret : 618203"]),
        ("es", ["No elimine ni modifique", "Unirse a la reunión: ",
                "Unirse desde un sistema de vídeo o una aplicación: ",
                "Número de reunión: 93212345678", "Código de acceso: 618203"]),
        ("ja", ["削除または変更しないでください", "ミーティングに参加：",
                "ビデオシステムまたはアプリケーションから参加：",
                "ミーティング番号：93212345678", "パスコード：618203"]),
    ],
)  # fmt: skip
def test_each_language_writes_its_own_phrases(locale: str, phrases: list[str]) -> None:
    text = block(locale=locale)
    for phrase in phrases:
        assert phrase in text
    joins = {"Join the meeting", "Am Meeting teilnehmen", "Rejoindre la réunion",
             "Unirse a la reunión", "ミーティングに参加"}  # fmt: skip
    assert [join for join in joins if join in text] == [phrases[1].rstrip(": ：")]


def test_the_five_languages_give_five_different_blocks() -> None:
    assert LOCALES == ("en", "de", "fr", "es", "ja")
    assert len({block(body_format=f, locale=locale) for f in FORMATS for locale in LOCALES}) == 10


@pytest.mark.parametrize(
    ("locale", "language"),
    [("de-DE", "de"), ("ja", "ja"), ("FR_ca", "fr"), ("es-419", "es"), ("EN-gb", "en"),
     ("pt-BR", "en"), ("deu", "en"), ("", "en"), (None, "en"), (" de-AT ", "de")],
)  # fmt: skip
def test_the_language_comes_from_the_mailbox_locale(locale: str | None, language: str) -> None:
    assert language_for(locale) == language


@pytest.mark.parametrize("locale", ["pt-BR", "zz", "", None])
def test_an_unsupported_locale_gets_the_english_block(locale: str | None) -> None:
    for body_format in FORMATS:
        assert block(body_format=body_format, locale=locale) == block(body_format=body_format)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("body_format", FORMATS)
def test_our_detector_reads_the_meeting_back_from_our_block(
    body_format: BodyFormat, locale: str
) -> None:
    user_body = HTML_BODY if body_format == "html" else CRLF_TEXT
    body = replace_block(user_body, body_format, block(body_format=body_format, locale=locale))

    found = detect_join("@webex", body, body_format)

    assert found is not None
    assert found.keyword == "@webex"
    assert found.join_url == WEBINAR_URL
    assert found.sip_uri == WEBINAR.sip_uri
    assert found.meeting_id == WEBINAR.meeting_id
    assert found.passcode == WEBINAR.passcode


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("body_format", FORMATS)
def test_a_video_address_alone_is_found_in_every_language(
    body_format: BodyFormat, locale: str
) -> None:
    room = SipVirtualRooms("sip:{user}@vmr.example.com").meeting("jane.doe@example.com")
    rendered = block(room, body_format=body_format, locale=locale)

    found = detect_join("@webex", replace_block("Agenda", body_format, rendered), body_format)

    assert found is not None
    assert found.sip_uri == "sip:jane.doe@vmr.example.com"
    assert "Join the meeting" not in rendered


def test_html_shows_the_address_without_its_scheme_and_escapes_the_link() -> None:
    rendered = block(body_format="html")

    assert f'href="{html.escape(WEBINAR_URL)}"' in rendered
    assert "pwd=abc123&amp;tk=tok9" in rendered
    assert '<a href="sip:93212345678@zoomcrc.com">93212345678@zoomcrc.com</a>' in rendered
    assert rendered.startswith("<!-- joinsvc:processed v=1 hash=")
    assert rendered.endswith("</div><!-- joinsvc:end -->")
    assert '--><div id="joinsvc-block">' in rendered


def test_text_block_is_framed_by_marker_lines() -> None:
    lines = block().split("\n")

    assert re.fullmatch(r"-- joinsvc:processed v=1 hash=[0-9a-f]{16} keyword=@webex:myroom --",
                        lines[0])  # fmt: skip
    assert lines[-1] == "-- joinsvc:end --"
    assert f"Join the meeting: {WEBINAR_URL}" in lines


def test_html_block_goes_before_the_closing_body_tag() -> None:
    rendered = block(body_format="html")
    at = HTML_BODY.index("</body>")

    assert replace_block(HTML_BODY, "html", rendered) == HTML_BODY[:at] + rendered + HTML_BODY[at:]
    assert replace_block("<p>fragment</p>", "html", rendered) == "<p>fragment</p>" + rendered


def test_text_block_follows_a_blank_line_with_the_body_line_ends() -> None:
    rendered = block()

    new_body = replace_block(CRLF_TEXT, "text", rendered)

    assert new_body == CRLF_TEXT + "\r\n\r\n" + rendered.replace("\n", "\r\n")
    assert "\n" not in new_body.replace("\r\n", "")
    assert replace_block("Hello", "text", rendered) == "Hello\n\n" + rendered


@pytest.mark.parametrize("body_format", FORMATS)
def test_an_empty_body_becomes_the_block(body_format: BodyFormat) -> None:
    rendered = block(body_format=body_format)

    assert replace_block("", body_format, rendered) == rendered
    assert remove_block(rendered) == ""


@pytest.mark.parametrize(
    ("body_format", "body"),
    [("html", HTML_BODY), ("html", "<p>no body tag</p>"), ("html", ""), ("text", CRLF_TEXT),
     ("text", "one line"), ("text", "ends with blank lines\n\n"), ("text", "")],
)  # fmt: skip
def test_a_new_block_replaces_the_old_one_and_removing_it_restores_the_body(
    body_format: BodyFormat, body: str
) -> None:
    first = block(body_format=body_format)
    second = block(JoinDetails("webex", "location", join_url="https://acme.webex.com/meet/jo"),
                   body_format=body_format, locale="fr")  # fmt: skip

    once = replace_block(body, body_format, first)
    again = replace_block(once, body_format, second)

    assert once.count("joinsvc:processed") == again.count("joinsvc:processed") == 1
    assert "Rejoindre la réunion" in again
    assert "618203" not in again
    assert replace_block(again, body_format, second) == again
    assert remove_block(again) == remove_block(once) == body


def test_a_body_without_a_block_is_left_alone() -> None:
    assert remove_block(HTML_BODY) == HTML_BODY
    assert find_block(HTML_BODY) is None
    mention = "Our joinsvc:processed marker <!-- is not --> a block"
    assert find_block(mention) is None
    assert remove_block(mention) == mention


def test_find_block_reports_keyword_hash_and_version() -> None:
    for body_format in FORMATS:
        rendered = block(body_format=body_format, keyword="@webex:myroom")
        body = replace_block(CRLF_TEXT if body_format == "text" else HTML_BODY, body_format,
                             rendered)  # fmt: skip

        found = find_block(body)

        assert found is not None
        assert (found.keyword, found.version) == ("@webex:myroom", 1)
        assert re.fullmatch("[0-9a-f]{16}", found.content_hash)
        assert found == find_block(rendered)


def test_the_older_marker_without_end_marker_is_found_replaced_and_removed() -> None:
    body = LEGACY_BEFORE + LEGACY_BLOCK + LEGACY_AFTER
    rendered = block(body_format="html")

    assert find_block(body) == JoinBlock(keyword="", content_hash="5c1e0d", version=1)
    assert replace_block(body, "html", rendered) == LEGACY_BEFORE + rendered + LEGACY_AFTER
    assert remove_block(body) == LEGACY_BEFORE + LEGACY_AFTER
    unclosed = LEGACY_BEFORE + LEGACY_BLOCK.removesuffix("</div>") + "</body></html>"
    assert remove_block(unclosed) == LEGACY_BEFORE + "</body></html>"


def test_duplicated_blocks_collapse_into_one() -> None:
    old = block(locale="de")
    body = f"Hi\n\n{old}\nquoted reply:\n\n{old}"

    new_body = replace_block(body, "text", block())

    assert new_body == f"Hi\n\n{block()}\nquoted reply:"
    assert remove_block(body) == "Hi\nquoted reply:"


def test_a_text_block_a_mail_client_turned_into_html_gives_way_to_an_html_block() -> None:
    lines = "".join(f"<div>{line}</div>" for line in block().split("\n"))
    body = f"<html><body><div>Agenda</div>{lines}</body></html>"

    new_body = replace_block(body, "html", block(body_format="html"))

    assert find_block(body) == find_block(block())
    assert (
        new_body
        == f"<html><body><div>Agenda</div><div></div>{block(body_format='html')}</body></html>"
    )
    assert replace_block(new_body, "html", block(body_format="html")) == new_body


def test_the_hash_follows_the_content_only() -> None:
    def hash_of(rendered: str) -> str:
        found = find_block(rendered)
        assert found is not None
        return found.content_hash

    same = hash_of(block())
    assert hash_of(block()) == same
    assert hash_of(block(keyword="@meet")) == same
    other_passcode = JoinDetails("zoom", "location", join_url=WEBINAR_URL, passcode="000000")
    for changed in (block(locale="de"), block(header="Welcome"), block(footer="Bye"),
                    block(other_passcode), block(body_format="html")):  # fmt: skip
        assert hash_of(changed) != same


def test_admin_header_and_footer_are_escaped_and_keep_their_lines() -> None:
    header, footer = "<script>alert(1)</script>\r\nCall IT & ask", "Line 1\nLine 2"

    rendered = block(body_format="html", header=header, footer=footer)
    text = block(header=header, footer=footer)

    assert "<script>" not in rendered
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;<br>Call IT &amp; ask</p>" in rendered
    assert rendered.index("script") < rendered.index("Join the meeting") < rendered.index("Line 2")
    assert "\nCall IT & ask\n" in text
    assert "\nLine 1\nLine 2\n" in text


@pytest.mark.parametrize("frame", ["header", "footer"])
def test_admin_text_over_1024_characters_is_refused(frame: str) -> None:
    assert "x" * 1024 in block(**{frame: "x" * 1024})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1025 characters"):
        block(**{frame: "x" * 1025})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="joinsvc"):
        block(**{frame: "ok\n-- joinsvc:end --"})  # type: ignore[arg-type]


def test_a_keyword_cannot_break_out_of_the_marker() -> None:
    rendered = block(body_format="html", keyword="@webex:a--b -->x")

    comment = rendered[: rendered.index("-->") + 3]
    assert "--" not in comment[4:-3]
    found = find_block(rendered)
    assert found is not None
    assert found.keyword == "@webex:a--b -->x"


def test_meetings_and_blocks_that_cannot_be_written_are_refused() -> None:
    with pytest.raises(ValueError, match="neither"):
        block(JoinDetails("webex", "location", meeting_id="123456789"))
    with pytest.raises(ValueError, match="http"):
        block(JoinDetails("webex", "location", join_url="javascript:alert(1)"))
    with pytest.raises(ValueError, match="single text join block"):
        replace_block("body", "text", "not a block")
    with pytest.raises(ValueError, match="single html join block"):
        replace_block("body", "html", block(body_format="text"))


TEXT_PIECES = st.lists(
    st.sampled_from(["\r\n", "\n", "\r", " ", "--", "<!--", "-->", "</body>", "<div>", "x"])
    | st.text(max_size=6),
    max_size=20,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(body=TEXT_PIECES.filter(lambda body: "joinsvc" not in body),
       body_format=st.sampled_from(FORMATS), locale=st.sampled_from(LOCALES))  # fmt: skip
def test_any_body_survives_insert_and_remove(
    body: str, body_format: BodyFormat, locale: str
) -> None:
    rendered = block(body_format=body_format, locale=locale)

    new_body = replace_block(body, body_format, rendered)

    assert remove_block(new_body) == body
    assert replace_block(new_body, body_format, rendered) == new_body
    assert new_body.count("joinsvc:processed") == 1


OLD_TEXT = block(locale="ja")
OLD_PIECES = st.sampled_from(
    [LEGACY_BLOCK, OLD_TEXT, OLD_TEXT.replace("\n", "\r\n"), block(body_format="html", locale="ja"),
     "-- joinsvc:processed v=1 hash=cd --\n", "<!-- joinsvc:end -->", "-- joinsvc:end --"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(TEXT_PIECES.filter(lambda text: "joinsvc" not in text) | OLD_PIECES,
                      max_size=8),
       body_format=st.sampled_from(FORMATS))  # fmt: skip
def test_whatever_blocks_a_body_holds_one_remains_and_a_second_replace_changes_nothing(
    parts: list[str], body_format: BodyFormat
) -> None:
    body = "".join(parts)
    rendered = block(body_format=body_format)

    new_body = replace_block(body, body_format, rendered)

    assert new_body.count("joinsvc:processed") == 1
    assert rendered in new_body or rendered.replace("\n", "\r\n") in new_body
    assert replace_block(new_body, body_format, rendered) == new_body


HOSTILE = {  # a unit and how many times it is repeated: about a megabyte each
    "open comments": ("<!-- joinsvc:processed v=1 ", 40_000),
    "marker lines": ("-- joinsvc:processed v=1 hash=ab --\n", 30_000),
    "unclosed divs": (
        '<!-- joinsvc:processed v=1 hash=ab --><div id="joinsvc-block"><div>',
        16_000,
    ),
    "end markers": ("<!-- joinsvc:end -->-- joinsvc:end --\n", 28_000),
    "divs": ("<div><div></div>", 65_000),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_megabyte_is_handled_in_linear_time(name: str) -> None:
    """Ten times the body may take about ten times as long, never a hundred (quadratic); a
    ratio of CPU times holds on a slow or busy machine, where a bound on the clock did not."""
    unit, count = HOSTILE[name]
    rendered = block(body_format="html")

    def replace_and_remove(body: str) -> None:
        replace_block(body, "html", rendered)
        remove_block(body)

    tenth_body, whole_body = unit * (count // 10), unit * count
    tenth, whole = least_cpu_seconds_each(
        lambda: replace_and_remove(tenth_body), lambda: replace_and_remove(whole_body)
    )

    assert whole < 20 * tenth + 0.005, (name, tenth, whole)
