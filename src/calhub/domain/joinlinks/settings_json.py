"""A tenant's ``JoinSettings`` as JSON: the document stored in ``join_settings`` and exchanged by
``GET/PUT /api/v1/join-settings`` and ``calhub join-settings`` (issue 5, "Meetings for keyword
invites" and "Write-back"; docs/joinlinks.md, "Meeting backends for keyword invites")::

    {"keywords": [{"keyword": "webex", "backend": "webex_personal_room", "provider": "webex",
                   "modifiers": {"myroom": "webex_personal_room", "space": "webex_space"}}],
     "backends": {"webex_personal_room": {"site": "acme", "url_template": "https://..."},
                  "jitsi": {"domain": "meet.jit.si"}, "sip_vmr": null, "teams": true},
     "header": "", "footer": "", "write_back": true}

``settings_to_json`` writes every field; ``settings_from_json`` reads a parsed document in which
any field may be left out (it then takes the ``JoinSettings`` default; a backend set to ``null``
is not configured) and refuses anything else with ``InvalidJoinSetting``, an
``InvalidBackendConfiguration`` whose ``location`` and message name the field:
``keywords[2].backend: unknown backend 'zom'``. Unknown fields are refused at every level, so a
typo is never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from calhub.domain.joinlinks.backends import (
    InvalidBackendConfiguration,
    JitsiRooms,
    SipVirtualRooms,
    WebexPersonalRoom,
)
from calhub.domain.joinlinks.keywords import KeywordRule, KeywordTable
from calhub.domain.joinlinks.settings import MAX_FRAME_CHARS, JoinSettings
from calhub.domain.json_fields import Location, checked_object, field_path, json_kind, quoted

__all__ = [
    "KNOWN_BACKENDS",
    "MAX_KEYWORDS",
    "MAX_MODIFIERS",
    "InvalidJoinSetting",
    "settings_from_json",
    "settings_to_json",
]

# Every backend a keyword may ask for; the write-back reports one it cannot use as "not configured".
KNOWN_BACKENDS: Final = (
    "webex_personal_room",
    "webex_space",
    "webex_one_time",
    "jitsi",
    "sip_vmr",
    "teams",
    "google_meet",
)
# Every keyword joins one alternation run against each invite's Location; keep it small.
MAX_KEYWORDS: Final = 64
MAX_MODIFIERS: Final = 16
_PROVIDER = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MODIFIER = re.compile(r"[a-z0-9._-]{1,64}")  # as KeywordRule and find_keyword read them
_DEFAULTS: Final = JoinSettings()
_TOP_LEVEL_FIELDS: Final = ("keywords", "backends", "header", "footer", "write_back")
_BACKENDS_FIELDS: Final = ("webex_personal_room", "jitsi", "sip_vmr", "teams")
_BACKEND_CONFIG_FIELDS: Final = {
    "webex_personal_room": ("site", "url_template"),
    "jitsi": ("domain",),
    "sip_vmr": ("uri_template",),
}
_KEYWORD_FIELDS: Final = ("keyword", "backend", "provider", "modifiers")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

T = TypeVar("T")


class InvalidJoinSetting(InvalidBackendConfiguration):
    """One field of a join-settings document is wrong: ``location`` is its path (``()`` for the
    document itself), ``reason`` says what to fix."""

    def __init__(self, location: Location, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(f"{field_path(location)}: {reason}" if location else reason)


def settings_to_json(settings: JoinSettings) -> dict[str, Any]:
    """The whole document, defaults included; ``settings_from_json`` reads it back unchanged."""
    personal_room = settings.webex_personal_room
    return {
        "keywords": [
            {
                "keyword": rule.name,
                "backend": rule.backend,
                "provider": rule.provider,
                "modifiers": dict(rule.modifiers),
            }
            for rule in settings.keywords.rules
        ],
        "backends": {
            "webex_personal_room": None
            if personal_room is None
            else {"site": personal_room.site, "url_template": personal_room.url_template},
            "jitsi": None if settings.jitsi is None else {"domain": settings.jitsi.domain},
            "sip_vmr": None
            if settings.sip_vmr is None
            else {"uri_template": settings.sip_vmr.uri_template},
            "teams": settings.teams,
        },
        "header": settings.header,
        "footer": settings.footer,
        "write_back": settings.write_back,
    }


def settings_from_json(document: object) -> JoinSettings:
    """``JoinSettings`` from a parsed JSON document; raises ``InvalidJoinSetting``."""
    fields = _object(document, (), _TOP_LEVEL_FIELDS)
    backends = _object(fields.get("backends", {}), ("backends",), _BACKENDS_FIELDS)
    return JoinSettings(
        keywords=_optional(fields, "keywords", (), _keyword_table, _DEFAULTS.keywords),
        webex_personal_room=_backend(backends, "webex_personal_room", _personal_room),
        jitsi=_backend(backends, "jitsi", _jitsi),
        sip_vmr=_backend(backends, "sip_vmr", _sip_vmr),
        teams=_optional(backends, "teams", ("backends",), _bool, _DEFAULTS.teams),
        header=_optional(fields, "header", (), _frame, _DEFAULTS.header),
        footer=_optional(fields, "footer", (), _frame, _DEFAULTS.footer),
        write_back=_optional(fields, "write_back", (), _bool, _DEFAULTS.write_back),
    )


def _object(value: object, location: Location, known: tuple[str, ...]) -> Mapping[str, object]:
    return checked_object(value, location, known, InvalidJoinSetting)


def _optional(
    fields: Mapping[str, object],
    name: str,
    parent: Location,
    read: Callable[[object, Location], T],
    default: T,
) -> T:
    return read(fields[name], (*parent, name)) if name in fields else default


def _backend(
    backends: Mapping[str, object],
    name: str,
    build: Callable[[Mapping[str, object], Location], T],
) -> T | None:
    """The backend's configuration, or None when it is absent or ``null`` (not configured)."""
    value = backends.get(name)
    if value is None:
        return None
    location: Location = ("backends", name)
    return build(_object(value, location, _BACKEND_CONFIG_FIELDS[name]), location)


def _personal_room(config: Mapping[str, object], location: Location) -> WebexPersonalRoom:
    site = _required(config, "site", location)
    room = _checked((*location, "site"), lambda: WebexPersonalRoom(site=site))
    if "url_template" not in config:
        return room
    at = (*location, "url_template")
    template = _line(config["url_template"], at)
    return _checked(at, lambda: WebexPersonalRoom(site=site, url_template=template))


def _jitsi(config: Mapping[str, object], location: Location) -> JitsiRooms:
    if "domain" not in config:
        return JitsiRooms()
    domain = _line(config["domain"], (*location, "domain"))
    return _checked((*location, "domain"), lambda: JitsiRooms(domain=domain))


def _sip_vmr(config: Mapping[str, object], location: Location) -> SipVirtualRooms:
    template = _required(config, "uri_template", location)
    return _checked((*location, "uri_template"), lambda: SipVirtualRooms(uri_template=template))


def _checked(location: Location, build: Callable[[], T]) -> T:
    """``build()``, its ``InvalidBackendConfiguration`` located at ``location``."""
    try:
        return build()
    except InvalidBackendConfiguration as exc:
        raise InvalidJoinSetting(location, str(exc)) from exc


def _keyword_table(value: object, location: Location) -> KeywordTable:
    if not isinstance(value, list):
        raise InvalidJoinSetting(location, f"expected a list, got {json_kind(value)}")
    if len(value) > MAX_KEYWORDS:
        raise InvalidJoinSetting(location, f"at most {MAX_KEYWORDS} keywords are allowed")
    rules: list[KeywordRule] = []
    for index, item in enumerate(value):
        rule = _keyword_rule(item, (*location, index))
        if any(existing.name == rule.name for existing in rules):
            raise InvalidJoinSetting(
                (*location, index, "keyword"), f"{quoted(rule.name)} appears more than once"
            )
        rules.append(rule)
    return KeywordTable(tuple(rules))


def _keyword_rule(value: object, location: Location) -> KeywordRule:
    fields = _object(value, location, _KEYWORD_FIELDS)
    name = _required(fields, "keyword", location)
    backend = _backend_name(_required(fields, "backend", location), (*location, "backend"))
    provider = _required(fields, "provider", location)
    try:
        KeywordRule(name, backend, provider)
    except ValueError as exc:
        raise InvalidJoinSetting((*location, "keyword"), f"{exc}, without '@'") from exc
    if not _PROVIDER.fullmatch(provider):
        raise InvalidJoinSetting(
            (*location, "provider"), "a provider is lower-case letters, digits and '_', at most 32"
        )
    if "modifiers" not in fields:
        return KeywordRule(name, backend, provider)
    modifiers = fields["modifiers"]
    return KeywordRule(name, backend, provider, _modifiers(modifiers, (*location, "modifiers")))


def _modifiers(value: object, location: Location) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise InvalidJoinSetting(location, f"expected an object, got {json_kind(value)}")
    if len(value) > MAX_MODIFIERS:
        raise InvalidJoinSetting(location, f"at most {MAX_MODIFIERS} modifiers are allowed")
    modifiers: list[tuple[str, str]] = []
    for modifier, target in value.items():
        if not isinstance(modifier, str) or not _MODIFIER.fullmatch(modifier):
            raise InvalidJoinSetting(
                location,
                f"{quoted(modifier)} is not a modifier: lower-case letters, digits, '.', '_' "
                "or '-', at most 64",
            )
        backend = _backend_name(_line(target, (*location, modifier)), (*location, modifier))
        modifiers.append((modifier, backend))
    return tuple(modifiers)


def _backend_name(name: str, location: Location) -> str:
    if name not in KNOWN_BACKENDS:
        raise InvalidJoinSetting(
            location,
            f"unknown backend {quoted(name)}; expected one of {', '.join(KNOWN_BACKENDS)}",
        )
    return name


def _required(fields: Mapping[str, object], name: str, parent: Location) -> str:
    if name not in fields:
        raise InvalidJoinSetting((*parent, name), "missing")
    return _line(fields[name], (*parent, name))


def _line(value: object, location: Location) -> str:
    text = _string(value, location)
    if _CONTROL.search(text):
        raise InvalidJoinSetting(location, "control characters and line breaks are not allowed")
    return text


def _frame(value: object, location: Location) -> str:
    text = _string(value, location)
    if len(text) > MAX_FRAME_CHARS:
        raise InvalidJoinSetting(
            location, f"{len(text)} characters; at most {MAX_FRAME_CHARS} are allowed"
        )
    if _CONTROL_BUT_LINE_BREAKS.search(text):
        raise InvalidJoinSetting(
            location, "control characters other than line breaks and tabs are not allowed"
        )
    return text


def _string(value: object, location: Location) -> str:
    if not isinstance(value, str):
        raise InvalidJoinSetting(location, f"expected a string, got {json_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a "\ud800" escape
        raise InvalidJoinSetting(location, "not valid Unicode text") from exc
    return value


def _bool(value: object, location: Location) -> bool:
    if not isinstance(value, bool):
        raise InvalidJoinSetting(location, f"expected true or false, got {json_kind(value)}")
    return value
