"""Whether an invite needs calhub's join block written, replaced or removed (docs/joinlinks.md,
"Write-back"; shared/reference/joinlinks.md §1.3–1.6).

Only the organizer's copy of a single event or series master is edited, never a cancelled one
and never one instance of a series (a keyword there is ignored, as Hybrid Calendar does). With a
keyword in Location the invite gets a block for it, unless it already carries calhub's block for
that keyword; without one, calhub's block is removed. A block is calhub's for *this* event when
the hash in its start marker is the hash calhub's marker property on the event names; a block
copied from another invite is not, so it is replaced when there is a keyword and left alone
when there is none (it may be the meeting the organizer wants).

The sync engine decides with what delta reports, which never includes extended properties
(``marker=UNREAD``): it queues every invite that may need a write, and the worker that drains the
queue decides again on the event read just before writing, property included.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from calhub.domain.joinlinks.block import BLOCK_VERSION, JoinBlock, find_block
from calhub.domain.joinlinks.keywords import KeywordMatch, find_keyword
from calhub.domain.joinlinks.settings import JoinSettings

__all__ = ["UNREAD", "JoinAction", "JoinDecision", "decide_join_write", "join_marker"]


class _Unread(enum.Enum):
    UNREAD = "unread"


UNREAD: Final = _Unread.UNREAD


class JoinAction(enum.StrEnum):
    LEAVE = "leave"
    WRITE = "write"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class JoinDecision:
    action: JoinAction
    reason: str
    keyword: KeywordMatch | None = None


def join_marker(keyword: str, content_hash: str) -> str:
    """The value of calhub's marker property for a block it wrote."""
    return f"v{BLOCK_VERSION};{keyword};{content_hash}"


def _is_ours(block: JoinBlock, marker: str | None) -> bool:
    return marker == join_marker(block.keyword, block.content_hash)


def decide_join_write(
    *,
    location: str,
    body: str,
    is_organizer: bool,
    is_cancelled: bool,
    is_instance: bool,
    settings: JoinSettings,
    marker: str | _Unread | None = UNREAD,
) -> JoinDecision:
    """What to do about the join block of one invite (module docstring)."""
    if not settings.write_back:
        return JoinDecision(JoinAction.LEAVE, "join write-back is switched off for the tenant")
    if not is_organizer:
        return JoinDecision(JoinAction.LEAVE, "not the organizer's copy")
    if is_cancelled:
        return JoinDecision(JoinAction.LEAVE, "the meeting is cancelled")
    if is_instance:
        return JoinDecision(JoinAction.LEAVE, "one occurrence of a series: see its master")
    keyword = find_keyword(location, settings.keywords)
    block = find_block(body)
    if keyword is None:
        if block is None:
            return JoinDecision(JoinAction.LEAVE, "no keyword and no join block")
        if marker is not UNREAD and not _is_ours(block, marker):
            return JoinDecision(JoinAction.LEAVE, "the join block was not written for this event")
        return JoinDecision(JoinAction.REMOVE, "the keyword was removed")
    if block is None:
        return JoinDecision(JoinAction.WRITE, f"{keyword.keyword} without a join block", keyword)
    if block.keyword != keyword.keyword:
        return JoinDecision(JoinAction.WRITE, f"the keyword changed to {keyword.keyword}", keyword)
    if marker is not UNREAD and not _is_ours(block, marker):
        return JoinDecision(
            JoinAction.WRITE, "the join block was not written for this event", keyword
        )
    return JoinDecision(JoinAction.LEAVE, "the join block is in place", keyword)
