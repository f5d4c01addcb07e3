"""Join settings as JSON: what an admin writes is read back unchanged, and every mistake is named
by its field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.joinlinks import DEFAULT_KEYWORDS, KeywordRule, KeywordTable
from calhub.domain.joinlinks.backends import (
    InvalidBackendConfiguration,
    JitsiRooms,
    SipVirtualRooms,
    WebexPersonalRoom,
)
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import (
    KNOWN_BACKENDS,
    InvalidJoinSetting,
    settings_from_json,
    settings_to_json,
)

ACME = JoinSettings(
    keywords=DEFAULT_KEYWORDS.with_rule(
        KeywordRule("teams", "teams", "teams", (("jitsi", "jitsi"), ("vmr", "sip_vmr")))
    ),
    webex_personal_room=WebexPersonalRoom(site="acme"),
    jitsi=JitsiRooms(domain="meet.acme.example"),
    sip_vmr=SipVirtualRooms(uri_template="sip:{user}@vmr.acme.example"),
    teams=False,
    header="Join from a video system:\n",
    footer="Problems? Call the\tservice desk.",
    write_back=False,
)


def _round_trip(settings: JoinSettings) -> JoinSettings:
    return settings_from_json(json.loads(json.dumps(settings_to_json(settings))))


def test_the_document_has_the_documented_shape() -> None:
    document = settings_to_json(ACME)

    assert document["keywords"][2] == {
        "keyword": "teams",
        "backend": "teams",
        "provider": "teams",
        "modifiers": {"jitsi": "jitsi", "vmr": "sip_vmr"},
    }
    assert document["backends"] == {
        "webex_personal_room": {
            "site": "acme",
            "url_template": "https://{site}.webex.com/meet/{user}",
        },
        "jitsi": {"domain": "meet.acme.example"},
        "sip_vmr": {"uri_template": "sip:{user}@vmr.acme.example"},
        "teams": False,
    }
    assert (document["header"], document["footer"], document["write_back"]) == (
        ACME.header,
        ACME.footer,
        False,
    )
    assert _round_trip(ACME) == ACME


def test_defaults_round_trip_and_an_empty_document_means_the_defaults() -> None:
    assert settings_from_json({}) == JoinSettings()
    assert _round_trip(JoinSettings()) == JoinSettings()
    assert settings_to_json(JoinSettings())["backends"] == {
        "webex_personal_room": None,
        "jitsi": None,
        "sip_vmr": None,
        "teams": True,
    }


def test_absent_fields_take_defaults_and_an_empty_keyword_list_means_none() -> None:
    settings = settings_from_json(
        {"keywords": [], "backends": {"jitsi": {}, "webex_personal_room": {"site": "acme"}}}
    )

    assert settings.keywords == KeywordTable()
    assert settings.jitsi == JitsiRooms(domain="meet.jit.si")
    assert settings.webex_personal_room == WebexPersonalRoom(site="acme")
    assert settings.teams is True
    rule = settings_from_json(
        {"keywords": [{"keyword": "zoom", "backend": "jitsi", "provider": "jitsi"}]}
    ).keywords.rules[0]
    assert rule == KeywordRule("zoom", "jitsi", "jitsi")


_names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
_modifiers = st.dictionaries(
    st.from_regex(r"[a-z0-9._-]{1,8}", fullmatch=True), st.sampled_from(KNOWN_BACKENDS), max_size=3
)
_rules = st.builds(
    lambda name, backend, provider, modifiers: KeywordRule(
        name, backend, provider, tuple(modifiers.items())
    ),
    _names,
    st.sampled_from(KNOWN_BACKENDS),
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    _modifiers,
)
_frames = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\r\t"), max_size=60
)
_settings = st.builds(
    JoinSettings,
    keywords=st.lists(_rules, max_size=4, unique_by=lambda rule: rule.name).map(
        lambda rules: KeywordTable(tuple(rules))
    ),
    webex_personal_room=st.none() | st.builds(WebexPersonalRoom, site=_names),
    jitsi=st.none() | st.builds(JitsiRooms, domain=st.sampled_from(["meet.jit.si", "j.example"])),
    sip_vmr=st.none() | st.just(SipVirtualRooms("sips:{user}@vmr.example.com")),
    teams=st.booleans(),
    header=_frames,
    footer=_frames,
    write_back=st.booleans(),
)


@given(_settings)
def test_any_settings_round_trip_through_json_text(settings: JoinSettings) -> None:
    assert _round_trip(settings) == settings


def _valid() -> dict[str, Any]:
    return settings_to_json(ACME)


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    document = _valid()
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected an object, got a list"),
        (_valid() | {"colour": "red"}, "unknown field 'colour'"),
        (_with(("keywords", 2, "backend"), "zom"), "keywords[2].backend: unknown backend 'zom'"),
        (_with(("keywords", 1, "keyword"), "@meet"), "keywords[1].keyword: a keyword name is"),
        (_with(("keywords", 2, "keyword"), "webex"), "keywords[2].keyword: 'webex' appears more"),
        (_with(("keywords", 0, "provider"), "Web Ex"), "keywords[0].provider: a provider is"),
        (_with(("keywords", 0, "provider"), 7), "keywords[0].provider: expected a string"),
        (_with(("keywords", 0, "colour"), 7), "keywords[0]: unknown field 'colour'"),
        (
            _with(("keywords", 0, "modifiers", "space"), "zoom"),
            "keywords[0].modifiers.space: unknown backend 'zoom'",
        ),
        (
            _with(("keywords", 0, "modifiers", "My Room"), "jitsi"),
            "keywords[0].modifiers: 'My Room' is not a modifier",
        ),
        (_with(("keywords", 0, "modifiers"), ["myroom"]), "keywords[0].modifiers: expected an"),
        (_with(("keywords",), {"webex": {}}), "keywords: expected a list, got an object"),
        (
            {"keywords": [{"keyword": "webex", "provider": "webex"}]},
            "keywords[0].backend: missing",
        ),
        (
            _with(("backends", "webex_personal_room", "url_template"), "http://{site}/{user}"),
            "backends.webex_personal_room.url_template: the Personal Room URL template must be",
        ),
        (
            _with(("backends", "webex_personal_room", "url_template"), "https://x/{room}"),
            "backends.webex_personal_room.url_template: the template may only use {site}, {user}",
        ),
        (
            _with(("backends", "webex_personal_room"), {}),
            "backends.webex_personal_room.site: missing",
        ),
        (
            _with(("backends", "webex_personal_room", "site"), "acme.webex.com"),
            "backends.webex_personal_room.site: a Webex site is a host label",
        ),
        (
            _with(("backends", "jitsi", "domain"), "meet jit si"),
            "backends.jitsi.domain: a Jitsi domain",
        ),
        (
            _with(("backends", "sip_vmr", "uri_template"), "{user}@vmr.example.com"),
            "backends.sip_vmr.uri_template: a virtual room template is a SIP URI",
        ),
        (_with(("backends", "zoom"), {}), "backends: unknown field 'zoom'"),
        (_with(("backends", "teams"), "yes"), "backends.teams: expected true or false"),
        (_with(("write_back",), 1), "write_back: expected true or false, got a number"),
        (_with(("header",), "x" * 1025), "header: 1025 characters; at most 1024 are allowed"),
        (_with(("footer",), None), "footer: expected a string, got null"),
        (_with(("footer",), "bell\x07"), "footer: control characters other than line breaks"),
        (_with(("header",), "\ud800"), "header: not valid Unicode text"),
        (
            _with(("backends", "jitsi", "domain"), "meet.jit.si\x00"),
            "backends.jitsi.domain: control characters",
        ),
    ],
)
def test_mistakes_are_refused_with_the_field_named(document: object, message: str) -> None:
    with pytest.raises(InvalidBackendConfiguration) as refused:
        settings_from_json(document)
    assert str(refused.value).startswith(message), str(refused.value)


def test_a_refusal_carries_the_fields_location() -> None:
    with pytest.raises(InvalidJoinSetting) as refused:
        settings_from_json(_with(("keywords", 2, "backend"), "zom"))

    assert refused.value.location == ("keywords", 2, "backend")
    assert refused.value.reason.startswith("unknown backend 'zom'; expected one of webex_personal")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.sampled_from(
        [
            ("keywords",),
            ("keywords", 0),
            ("keywords", 0, "modifiers"),
            ("keywords", 1, "backend"),
            ("backends",),
            ("backends", "webex_personal_room"),
            ("backends", "jitsi", "domain"),
            ("backends", "sip_vmr"),
            ("header",),
        ]
    ),
    _json,
)
def test_any_value_anywhere_is_refused_by_name_or_read_for_good(
    path: tuple[str | int, ...], value: object
) -> None:
    try:
        settings = settings_from_json(_with(path, value))
    except InvalidJoinSetting:
        return
    assert _round_trip(settings) == settings
