"""Which meeting service a guarded URL belongs to, and its canonical join link: one table.

``HOST_RULES`` maps a provider domain to a classifier; a URL is looked up by its exact host and
then by each dot-suffix (``us02web.zoom.us`` → ``zoom.us``), never by substring, so lookalikes
(``zoom.us.evil.example``, ``myzoom.us``, a provider host in another host's path) find nothing.
Each classifier accepts only join shapes (``shared/reference/joinlinks.md`` §2.1-2.5) and so
rejects recordings, start links, registration, help and option pages (§2.9). Pexip Infinity
runs on any host and is recognised by its ``/webapp/m/<alias>`` path.

Adding a provider: write a classifier ``(ParsedUrl) -> MeetingLink | None`` and add a
``HostRule`` (docs/joinlinks.md, "Adding a provider").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from calhub.domain.joinlinks.links import Classifier, MeetingLink
from calhub.domain.joinlinks.teams import TEAMS_HOSTS, teams_link
from calhub.domain.joinlinks.urls import ParsedUrl, query_value

__all__ = ["BARE_TLDS", "HOST_RULES", "HostRule", "classify", "is_provider_host"]


@dataclass(frozen=True, slots=True)
class HostRule:
    """URLs on ``domain`` (and, unless ``exact``, its subdomains) go to ``classify``."""

    domain: str
    classify: Classifier
    exact: bool = False


def _keep(provider: str, url: ParsedUrl, meeting_id: str | None = None) -> MeetingLink:
    """Scheme https, host and path as found, no query (§2.5's canonical form)."""
    path = url.path.rstrip("/")
    join_url = f"https://{url.host}{path}"
    return MeetingLink(provider, join_url, f"{provider}:{url.host}{path.lower()}", meeting_id)


_WEBEX_SCHEDULED = re.compile(r"/([A-Za-z0-9-]{1,64})/(?:k2/)?([je])\.php")
_WEBEX_JOINSERVICE = re.compile(
    r"/wbxmjs/joinservice/sites/([A-Za-z0-9-]{1,64})/meeting/download/([0-9a-fA-F]{32})/?"
)
_WEBEX_ROOM = re.compile(r"/(meet|join)/([A-Za-z0-9._-]{1,64})/?")
_MTID = re.compile(r"[mer][0-9a-fA-F]{32}")
_WEBEX_NOT_SITES = frozenset({"www.webex.com", "help.webex.com", "m.webex.com", "webex.com"})


def _webex(url: ParsedUrl) -> MeetingLink | None:
    if url.host in _WEBEX_NOT_SITES:
        return None
    mtid = query_value(url.query, "MTID")
    mtid = mtid if mtid and _MTID.fullmatch(mtid) else None
    if found := _WEBEX_SCHEDULED.fullmatch(url.path):
        page = f"{found.group(2)}.php"
        if mtid is None or mtid[0] != ("m" if page == "j.php" else "e"):
            return None
        join_url = f"https://{url.host}/{found.group(1)}/{page}?MTID={mtid}"
        return MeetingLink("webex", join_url, f"webex:{mtid.lower()}")
    if found := _WEBEX_JOINSERVICE.fullmatch(url.path):
        site = query_value(url.query, "siteurl") or found.group(1)
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", site):
            return None
        if mtid is not None and mtid.startswith("m"):
            join_url = f"https://{url.host}/{site}/j.php?MTID={mtid}"
            return MeetingLink("webex", join_url, f"webex:{mtid.lower()}")
        join_url = f"https://{url.host}{url.path}?siteurl={site}"
        return MeetingLink("webex", join_url, f"webex:{found.group(2).lower()}")
    if found := _WEBEX_ROOM.fullmatch(url.path):
        join_url = f"https://{url.host}/{found.group(1)}/{found.group(2)}"
        return MeetingLink("webex", join_url, f"webex:{url.host}/{found.group(2).lower()}")
    return None


_ZOOM_ID = r"(\d{9,11})"
_ZOOM_JOIN = re.compile(rf"/j/{_ZOOM_ID}/?")
_ZOOM_WEB_CLIENT = re.compile(rf"/wc/(?:join/)?{_ZOOM_ID}(?:/join)?/?")
_ZOOM_WEBINAR = re.compile(rf"/w/{_ZOOM_ID}/?")
_ZOOM_VANITY = re.compile(r"/my/([A-Za-z0-9._-]{1,64})/?")
_ZOOM_EVENT = re.compile(r"/ejl/[A-Za-z0-9._~/-]{1,512}")
_ZOOM_PWD = re.compile(r"[A-Za-z0-9]+(?:\.\d+)?")
_ZOOM_TK = re.compile(r"[A-Za-z0-9._-]{1,512}")


def _zoom(url: ParsedUrl) -> MeetingLink | None:
    pwd = _clean(query_value(url.query, "pwd"), _ZOOM_PWD, prefix=True)
    if url.scheme in ("zoommtg", "zoomus"):
        number = query_value(url.query, "confno") or ""
        found = re.fullmatch(_ZOOM_ID, number) if url.path.rstrip("/") == "/join" else None
        return _zoom_join(url.host, found.group(1), pwd) if found else None
    if found := _ZOOM_JOIN.fullmatch(url.path) or _ZOOM_WEB_CLIENT.fullmatch(url.path):
        return _zoom_join(url.host, found.group(1), pwd)
    if found := _ZOOM_WEBINAR.fullmatch(url.path):
        number = found.group(1)
        token = _clean(query_value(url.query, "tk"), _ZOOM_TK)
        params = "&".join(
            f"{name}={value}" for name, value in (("pwd", pwd), ("tk", token)) if value
        )
        join_url = f"https://{url.host}/w/{number}" + (f"?{params}" if params else "")
        return MeetingLink("zoom", join_url, f"zoom:{number}", number, richness=len(params))
    if found := _ZOOM_VANITY.fullmatch(url.path):
        name = found.group(1)
        return MeetingLink("zoom", f"https://{url.host}/my/{name}", f"zoom:my:{name.lower()}")
    if url.host == "events.zoom.us" and _ZOOM_EVENT.fullmatch(url.path):
        return _keep("zoom", url)
    return None


def _zoom_join(host: str, number: str, pwd: str | None) -> MeetingLink:
    join_url = f"https://{host}/j/{number}" + (f"?pwd={pwd}" if pwd else "")
    return MeetingLink("zoom", join_url, f"zoom:{number}", number, richness=int(bool(pwd)))


def _clean(value: str | None, shape: re.Pattern[str], *, prefix: bool = False) -> str | None:
    """``value`` when it has ``shape`` (with ``prefix``: its leading part of that shape)."""
    if not value:
        return None
    found = shape.match(value) if prefix else shape.fullmatch(value)
    return found.group() if found else None


_MEET_CODE = re.compile(r"/(?:_meet/)?([a-z]{3}-[a-z]{4}-[a-z]{3})/?", re.I)
_MEET_LOOKUP = re.compile(r"/lookup/([A-Za-z0-9._-]{1,64})/?")


def _google_meet(url: ParsedUrl) -> MeetingLink | None:
    if found := _MEET_CODE.fullmatch(url.path):
        code = found.group(1).lower()
        return MeetingLink("google_meet", f"https://meet.google.com/{code}", f"meet:{code}", code)
    if found := _MEET_LOOKUP.fullmatch(url.path):
        name = found.group(1)
        join_url = f"https://meet.google.com/lookup/{name}"
        return MeetingLink("google_meet", join_url, f"meet:lookup:{name.lower()}")
    return None


def _numbered(provider: str, pattern: str) -> Classifier:
    """A provider whose join path carries the numeric meeting ID as its first group."""
    compiled = re.compile(pattern)

    def classify(url: ParsedUrl) -> MeetingLink | None:
        found = compiled.fullmatch(url.path)
        return _keep(provider, url, found.group(1)) if found else None

    return classify


def _named(provider: str, pattern: str, reserved: frozenset[str] = frozenset()) -> Classifier:
    """A provider whose join path ends in a room name, the meeting ID (Jitsi, Whereby, ...)."""
    compiled = re.compile(pattern)

    def classify(url: ParsedUrl) -> MeetingLink | None:
        found = compiled.fullmatch(url.path)
        if found is None or found.group(1).lower() in reserved:
            return None
        return _keep(provider, url, found.group(1))

    return classify


def _gotomeeting(url: ParsedUrl) -> MeetingLink | None:
    if found := re.fullmatch(r"/join/(\d{9})/?", url.path):
        return _keep("gotomeeting", url, found.group(1))
    number = query_value(url.query, "meetingId") or ""
    if (
        url.host == "app.gotomeeting.com"
        and url.path in ("", "/")
        and re.fullmatch(r"\d{9}", number)
    ):
        join_url = f"https://global.gotomeeting.com/join/{number}"
        return MeetingLink("gotomeeting", join_url, f"gotomeeting:{number}", number)
    return None


_GOTO_RESERVED = frozenset({"install", "download", "help", "login", "signin", "join", "start"})


def _goto_room(url: ParsedUrl) -> MeetingLink | None:
    if found := re.fullmatch(r"/(\d{9})/?", url.path):
        return _keep("gotomeeting", url, found.group(1))
    found = re.fullmatch(r"/([A-Za-z][A-Za-z0-9_-]{2,63})/?", url.path)
    if found is None or found.group(1).lower() in _GOTO_RESERVED:
        return None
    return _keep("gotomeeting", url)


def _bluejeans(url: ParsedUrl) -> MeetingLink | None:
    found = re.fullmatch(r"/(\d{6,12})(?:/(\d{4,6}))?/?", url.path)
    if found is None:
        return None
    number, passcode = found.groups()
    join_url = f"https://{url.host}/{number}" + (f"/{passcode}" if passcode else "")
    return MeetingLink(
        "bluejeans", join_url, f"bluejeans:{number}", number, passcode, int(bool(passcode))
    )


def _chime(url: ParsedUrl) -> MeetingLink | None:
    found = re.fullmatch(r"(?:/meetings)?/(\d{10})/?", url.path)
    if found is None or (url.host != "app.chime.aws" and url.path.startswith("/meetings")):
        return None
    number = found.group(1)
    return MeetingLink("chime", f"https://chime.aws/{number}", f"chime:{number}", number)


def _skype_for_business(url: ParsedUrl) -> MeetingLink | None:
    if not url.host.startswith("meet"):
        return None
    found = re.fullmatch(
        r"/[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,64}/([A-Za-z0-9]{4,16})/?", url.path
    )
    return _keep("skype_for_business", url, found.group(1)) if found else None


def _slack_huddle(url: ParsedUrl) -> MeetingLink | None:
    found = re.fullmatch(r"/huddle/T[A-Z0-9]{2,20}/C[A-Z0-9]{2,20}/?", url.path)
    return _keep("slack_huddle", url) if found else None


def _vidyo(url: ParsedUrl) -> MeetingLink | None:
    found = re.fullmatch(r"/join/[A-Za-z0-9_-]{4,64}/?", url.path)
    return _keep("vidyo", url) if found else None


_PEXIP_ALIAS = re.compile(r"[A-Za-z0-9._+-]{1,128}")


def _pexip(url: ParsedUrl) -> MeetingLink | None:
    """Pexip Infinity web app on any host: ``/webapp/m/<alias>`` or ``/webapp/#/?conference=``."""
    if url.path.startswith("/webapp/m/"):
        alias = unquote(url.path[len("/webapp/m/") :].rstrip("/"))
    elif url.path.rstrip("/") == "/webapp" and url.fragment.startswith("/?"):
        alias = query_value(url.fragment[2:], "conference") or ""
    else:
        return None
    if not _PEXIP_ALIAS.fullmatch(alias):
        return None
    join_url = f"https://{url.host}/webapp/m/{alias}"
    return MeetingLink("pexip", join_url, f"pexip:{url.host}/{alias.lower()}", alias)


_WHEREBY_RESERVED = frozenset(
    {"user", "information", "org", "login", "signup", "pricing", "blog", "download", "support"}
)
_JITSI_RESERVED = frozenset({"static", "libs", "images", "sounds", "css", "fonts"})

HOST_RULES: tuple[HostRule, ...] = (
    HostRule("webex.com", _webex),
    *(HostRule(domain, _zoom) for domain in ("zoom.us", "zoom.com", "zoomgov.com")),
    *(HostRule(domain, _zoom) for domain in ("zoom.com.cn", "zoom.de", "zoom-x.de")),
    *(HostRule(host, teams_link, exact=True) for host in TEAMS_HOSTS),
    HostRule("meet.google.com", _google_meet, exact=True),
    HostRule("gotomeeting.com", _gotomeeting),
    HostRule("meet.goto.com", _goto_room, exact=True),
    HostRule("gotomeet.me", _named("gotomeeting", r"/([A-Za-z0-9_-]{1,64})/?"), exact=True),
    HostRule("bluejeans.com", _bluejeans),
    HostRule("chime.aws", _chime),
    HostRule(
        "meet.jit.si",
        _named("jitsi", r"/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})/?", _JITSI_RESERVED),
        exact=True,
    ),
    HostRule(
        "8x8.vc",
        _named("jitsi", r"/[A-Za-z0-9_.-]{1,64}/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})/?"),
        exact=True,
    ),
    HostRule(
        "whereby.com", _named("whereby", r"/([A-Za-z0-9][A-Za-z0-9_-]{0,63})/?", _WHEREBY_RESERVED)
    ),
    HostRule("meetings.ringcentral.com", _numbered("ringcentral", r"/j/(\d{9,11})/?"), exact=True),
    HostRule("v.ringcentral.com", _numbered("ringcentral", r"/join/(\d{6,12})/?"), exact=True),
    HostRule("lync.com", _skype_for_business),
    HostRule("app.slack.com", _slack_huddle, exact=True),
    HostRule("vidyocloud.com", _vidyo),
    HostRule("call.lifesizecloud.com", _numbered("lifesize", r"/(\d{4,12})/?"), exact=True),
)

_BY_DOMAIN = {rule.domain: rule for rule in HOST_RULES}

# Scheme-less provider links (``meet.google.com/abc-defg-hij``) are found from their top-level
# domain followed by a slash; see urls.find_urls.
BARE_TLDS = re.compile(
    r"\.(?:"
    + "|".join(sorted({re.escape(rule.domain.rsplit(".", 1)[1]) for rule in HOST_RULES}))
    + ")/"
)


def is_provider_host(host: str) -> bool:
    """Whether ``host`` is a provider domain of the table or a subdomain of one."""
    if host in _BY_DOMAIN:
        return True
    dot = host.find(".")
    while dot >= 0:
        rule = _BY_DOMAIN.get(host[dot + 1 :])
        if rule is not None and not rule.exact:
            return True
        dot = host.find(".", dot + 1)
    return False


def classify(url: ParsedUrl) -> MeetingLink | None:
    """The join link ``url`` is, by exact host or dot-suffix, else by Pexip's path; or None."""
    host = url.host
    rule = _BY_DOMAIN.get(host)
    if rule is not None:
        return rule.classify(url)
    dot = host.find(".")
    while dot >= 0:
        rule = _BY_DOMAIN.get(host[dot + 1 :])
        if rule is not None and not rule.exact:
            return rule.classify(url)
        dot = host.find(".", dot + 1)
    return _pexip(url)
