"""What a classified join link is: ``MeetingLink`` (shared by the provider modules)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from calhub.domain.joinlinks.urls import ParsedUrl

__all__ = ["Classifier", "MeetingLink"]


@dataclass(frozen=True, slots=True)
class MeetingLink:
    """A join link in canonical form.

    ``identity`` names the meeting independently of the link's form, so two links to the same
    meeting compare equal; of two such links the one with the higher ``richness`` (e.g. a Zoom
    link with ``pwd``) is kept. ``meeting_id``/``passcode`` are what the link itself carries.
    """

    provider: str
    join_url: str
    identity: str
    meeting_id: str | None = None
    passcode: str | None = None
    richness: int = 0


Classifier = Callable[[ParsedUrl], MeetingLink | None]
