"""Keywords in Location: leftmost wins, modifiers, e-mail and longer-word look-alikes, tenants."""

from __future__ import annotations

import pytest

from calhub.domain.joinlinks import (
    DEFAULT_KEYWORDS,
    KeywordRule,
    KeywordTable,
    detect_join,
    find_keyword,
)


@pytest.mark.parametrize(
    ("location", "keyword"),
    [
        ("@webex", "@webex"),
        ("@WebEx:Space", "@webex:space"),
        ("Conf Rm A; @meet:myroom", "@meet:myroom"),
        ("@webex:onetime, @meet", "@webex:onetime"),
        ("@meet @webex", "@meet"),
        ("@webex: planning", "@webex"),
        ("@webex:jdoe", "@webex:jdoe"),
        ("Room\xa0@webex", "@webex"),
        ("(@meet)", "@meet"),
    ],
)
def test_the_leftmost_keyword_is_found(location: str, keyword: str) -> None:
    found = find_keyword(location)
    assert found is not None
    assert found.keyword == keyword


@pytest.mark.parametrize(
    "location",
    [
        "ops@webex.com",
        "team@meet.example.org",
        "@webexinar",
        "@meeting",
        "@meet-up",
        "a.@webex",
        "x+@meet",
        "＠webex",
        "webex",
        "",
    ],
)
def test_look_alikes_are_not_keywords(location: str) -> None:
    assert find_keyword(location) is None


def test_modifiers_choose_the_backend_and_unknown_ones_fall_back() -> None:
    backends = {
        location: found.backend
        for location in ("@webex", "@webex:space", "@meet", "@meet:myroom", "@webex:jdoe")
        if (found := find_keyword(location))
    }
    assert backends == {
        "@webex": "webex_personal_room",
        "@webex:space": "webex_space",
        "@meet": "webex_space",
        "@meet:myroom": "webex_personal_room",
        "@webex:jdoe": "webex_personal_room",
    }


def test_a_keyword_in_the_body_is_ignored() -> None:
    assert detect_join("Room 4", "Please use @webex for this one", "text") is None


def test_a_tenant_adds_keywords_and_chooses_their_action() -> None:
    table = DEFAULT_KEYWORDS.with_rule(KeywordRule("jitsi", "jitsi", "jitsi")).with_rule(
        KeywordRule("teams", "teams", "teams")
    )
    found = detect_join("@Teams", "", "text", keywords=table)
    assert found is not None
    assert (found.provider, found.keyword, found.meeting_backend) == ("teams", "@teams", "teams")
    assert find_keyword("@jitsi", DEFAULT_KEYWORDS) is None
    assert find_keyword("@webex", KeywordTable()) is None


def test_keyword_tables_refuse_bad_rules() -> None:
    with pytest.raises(ValueError, match="keyword name"):
        KeywordRule("We bex", "webex_personal_room", "webex")
    with pytest.raises(ValueError, match="once"):
        KeywordTable((KeywordRule("sip", "sip_vmr", "sip"), KeywordRule("sip", "x", "sip")))


def test_keyword_result_carries_modifier_and_backend() -> None:
    found = detect_join("@meet:space", "", "text")
    assert found is not None
    assert (found.provider, found.source, found.keyword_modifier, found.meeting_backend) == (
        "webex",
        "location",
        "space",
        "webex_space",
    )
    assert "space" not in repr(found)
