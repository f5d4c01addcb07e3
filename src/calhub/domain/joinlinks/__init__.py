"""Join-link detection: keywords, meeting links, video addresses and dial strings in invites.

``detect_join(location, body, body_format, hints=..., keywords=...)`` returns ``JoinDetails``
or None; ``KeywordTable``/``KeywordRule`` are the per-tenant keyword setting (defaults
``DEFAULT_KEYWORDS``: ``@webex`` and ``@meet``); ``ProviderHints`` carries Graph/Google
structured meeting data. Pure and linear in the size of the invite; see docs/joinlinks.md.
"""

from calhub.domain.joinlinks.detection import detect_join, link_from_url
from calhub.domain.joinlinks.keywords import (
    DEFAULT_KEYWORDS,
    KeywordMatch,
    KeywordRule,
    KeywordTable,
    find_keyword,
)
from calhub.domain.joinlinks.links import MeetingLink
from calhub.domain.joinlinks.model import (
    BodyFormat,
    ConferenceEntryPoint,
    JoinDetails,
    JoinSource,
    ProviderHints,
    entry_points_from_conference_data,
)
from calhub.domain.joinlinks.text import PROCESSED_MARKER

__all__ = [
    "DEFAULT_KEYWORDS",
    "PROCESSED_MARKER",
    "BodyFormat",
    "ConferenceEntryPoint",
    "JoinDetails",
    "JoinSource",
    "KeywordMatch",
    "KeywordRule",
    "KeywordTable",
    "MeetingLink",
    "ProviderHints",
    "detect_join",
    "entry_points_from_conference_data",
    "find_keyword",
    "link_from_url",
]
