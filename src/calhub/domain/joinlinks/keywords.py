"""Hybrid-Calendar keywords typed into Location (``@webex``, ``@meet``, tenant additions).

Follows ``shared/reference/joinlinks.md`` §1.2 and the corpus README ("keyword"): only the
leftmost keyword counts; letter case does not matter; a keyword glued to a preceding letter,
digit or one of ``_ @ . + -`` is part of an e-mail address and one running on into a letter,
digit, ``_``, ``@`` or ``-`` is part of a longer word. ``:modifier`` (letters, digits, ``. _ -``)
picks another action; unknown modifiers are kept and fall back to the keyword's default action.
Full-width ``＠`` is not ``@`` (no NFKC folding).

``KeywordTable`` is a per-tenant setting: which keywords exist and which meeting backend each
(keyword, modifier) asks for. Backends are names here (``webex_personal_room``, ``jitsi``,
``teams``, ``sip_vmr``, ``google_meet``, ...); the services layer maps them to code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["DEFAULT_KEYWORDS", "KeywordMatch", "KeywordRule", "KeywordTable", "find_keyword"]

_NAME = re.compile(r"[a-z][a-z0-9]{0,31}")
_MODIFIER = re.compile(r"[a-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """``@<name>`` asks for ``backend``; ``modifiers`` maps ``:<modifier>`` to another backend.

    ``provider`` is what the invite's join details will be (``webex`` for Hybrid Calendar's own
    keywords, whatever the backend produces for tenant additions such as ``@teams``).
    """

    name: str
    backend: str
    provider: str
    modifiers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError("a keyword name is lower-case letters and digits, at most 32")
        for modifier, _backend in self.modifiers:
            if not _MODIFIER.fullmatch(modifier):
                raise ValueError("a modifier is lower-case letters, digits, '.', '_' or '-'")

    def backend_for(self, modifier: str | None) -> str:
        """The backend for ``@name:modifier``; unknown modifiers get the default backend."""
        return dict(self.modifiers).get(modifier or "", self.backend)


_WEBEX_MODIFIERS = (
    ("myroom", "webex_personal_room"),
    ("space", "webex_space"),
    ("onetime", "webex_one_time"),
)


@dataclass(frozen=True, slots=True)
class KeywordTable:
    """A tenant's keywords; names are unique. ``with_rule`` adds or replaces one."""

    rules: tuple[KeywordRule, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("each keyword may appear once in a keyword table")

    def with_rule(self, rule: KeywordRule) -> KeywordTable:
        return KeywordTable((*(r for r in self.rules if r.name != rule.name), rule))

    def rule(self, name: str) -> KeywordRule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


DEFAULT_KEYWORDS = KeywordTable(
    (
        KeywordRule("webex", "webex_personal_room", "webex", _WEBEX_MODIFIERS),
        KeywordRule("meet", "webex_space", "webex", _WEBEX_MODIFIERS),
    )
)


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """The leftmost keyword: ``keyword`` as reported (``@webex:space``) and what it asks for."""

    keyword: str
    modifier: str | None
    rule: KeywordRule

    @property
    def backend(self) -> str:
        return self.rule.backend_for(self.modifier)


@lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    # Longest names first so that '@meetup' (if a tenant adds it) is not read as '@meet'.
    alternatives = "|".join(sorted(names, key=len, reverse=True))
    return re.compile(
        rf"(?<![\w@.+-])@({alternatives})(?::([A-Za-z0-9._-]+))?(?![\w@-])", re.IGNORECASE
    )


def find_keyword(location: str, table: KeywordTable = DEFAULT_KEYWORDS) -> KeywordMatch | None:
    """The leftmost keyword in ``location`` (NBSP counts as a space), or None."""
    if not table.rules or "@" not in location:
        return None
    found = _pattern(tuple(rule.name for rule in table.rules)).search(location)
    if found is None:
        return None
    rule = {rule.name: rule for rule in table.rules}[found.group(1).lower()]
    modifier = found.group(2).lower() if found.group(2) else None
    keyword = f"@{rule.name}:{modifier}" if modifier else f"@{rule.name}"
    return KeywordMatch(keyword=keyword, modifier=modifier, rule=rule)
