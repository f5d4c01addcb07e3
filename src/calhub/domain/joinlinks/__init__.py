"""Join-link detection: keywords, meeting links, video addresses and dial strings in invites.

``detect_join(location, body, body_format, hints=..., keywords=...)`` returns ``JoinDetails``
or None; ``KeywordTable``/``KeywordRule`` are the per-tenant keyword setting (defaults
``DEFAULT_KEYWORDS``: ``@webex`` and ``@meet``); ``ProviderHints`` carries Graph/Google
structured meeting data. Pure and linear in the size of the invite; see docs/joinlinks.md.
``render_block``/``replace_block``/``find_block``/``remove_block`` write and read calhub's own
localized join block (``block.py``).
"""

from calhub.domain.joinlinks.block import (
    BLOCK_VERSION,
    LOCALES,
    JoinBlock,
    find_block,
    language_for,
    remove_block,
    render_block,
    replace_block,
)
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
    "BLOCK_VERSION",
    "DEFAULT_KEYWORDS",
    "LOCALES",
    "PROCESSED_MARKER",
    "BodyFormat",
    "ConferenceEntryPoint",
    "JoinBlock",
    "JoinDetails",
    "JoinSource",
    "KeywordMatch",
    "KeywordRule",
    "KeywordTable",
    "MeetingLink",
    "ProviderHints",
    "detect_join",
    "entry_points_from_conference_data",
    "find_block",
    "find_keyword",
    "language_for",
    "link_from_url",
    "remove_block",
    "render_block",
    "replace_block",
]
