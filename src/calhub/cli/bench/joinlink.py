"""``calhub bench joinlink``: join-link detection throughput, p99 per invite, hostile bodies.

The invites come from a corpus file (JSON Lines as read by ``calhub joinlink``; the shared
labelled corpus ``shared/corpus/joinlinks.jsonl`` is the intended one) or, without one, from a
built-in set of representative invites generated here. They are replicated in order to
100,000 invites (10,000 with ``--quick``) and each is timed on its own; ``invites_per_s`` is
the count over the loop's wall-clock time, ``p99_ms`` the 99th percentile of the per-invite
times. When corpus lines carry ``expected`` results, ``corpus_pass_rate`` says how many match.

Then a set of 1 MB adversarial bodies (runs of anchors such as ``<``, ``@``, ``://``, entities,
``tel:``, CVI phrases, unclosed tags; docs/joinlinks.md, "Linear time") and of localized
meeting-number and passcode labels read as one label block (``label_invites``) is parsed,
three times each in each format, and the slowest median is ``adversarial_1mb_ms``. Targets:
10,000 invites/s, 50 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calhub.cli.joinlink import InvalidInvite, join_record, read_invite
from calhub.domain.joinlinks import detect_join

__all__ = [
    "HOSTILE_LABEL_UNITS",
    "LABEL_WHOLE_BODY",
    "adversarial_bodies",
    "builtin_invites",
    "label_invites",
    "run_joinlink_benchmark",
]

Progress = Callable[[str, int, int], None]
Invite = tuple[str, str, Any]

FULL_SIZE = 100_000
QUICK_SIZE = 10_000
MEGABYTE = 1_000_000
REPETITIONS = 3
TARGETS = {"invites_per_s": 10_000.0, "adversarial_1mb_ms": 50.0}
_GUID = "c2a8f6e0-7d3b-4a51-9e4f-1b2c3d4e5f60"


def builtin_invites() -> list[Invite]:
    """Representative invites, one per common shape (used without a corpus file)."""
    teams = (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_QmVuY2htYXJr%40thread.v2/0"
        f"?context=%7b%22Tid%22%3a%22{_GUID}%22%2c%22Oid%22%3a%22{_GUID}%22%7d"
    )
    safelink = "https://nam12.safelinks.protection.outlook.com/?url=" + teams.replace(
        "%", "%25"
    ).replace(":", "%3A").replace("/", "%2F").replace("?", "%3F").replace("=", "%3D")
    html = (
        "<html><head><style>p {margin:0}</style></head><body><div>Microsoft Teams meeting</div>"
        f'<div>Join: <a href="{safelink}&amp;data=05%7C02&amp;reserved=0">Join now</a></div>'
        "<div>Meeting ID: 291 447 160 398</div><div>Passcode: Tq7Hk2</div>"
        '<div><a href="https://aka.ms/JoinTeamsMeeting">Need help?</a></div></body></html>'
    )
    zoom = (
        "Jordan is inviting you to a scheduled Zoom meeting.\n\nJoin Zoom Meeting\n"
        "https://us02web.zoom.us/j/81234567890?pwd=QmVuY2htYXJr.1\n\nMeeting ID: 812 3456 7890\n"
        "Passcode: 447120\n\nOne tap mobile\n+14155550123,,81234567890#,,,,*447120# US\n\n"
        "Join by SIP\n81234567890@zoomcrc.com\n"
    )
    webex = (
        "Join meeting: https://example.webex.com/example/j.php?MTID=m0123456789abcdef0123456789abcdef"
        "\nMeeting number (access code): 2315 447 8209\nMeeting password: Bench42\n"
        "Join by video system\nDial 23154478209@example.webex.com\n"
    )
    meet = (
        'Join with Google Meet: <a href="https://meet.google.com/qwe-rtyu-iop">'
        "meet.google.com/qwe-rtyu-iop</a><br>Or dial: (US) +1 347-555-0119 PIN: 602 884 915#"
    )
    agenda = "Agenda:\n1. Roadmap\n2. Hiring\n\nThanks,\nJordan\njordan@example.com\n" * 4
    return [
        ("Microsoft Teams Meeting", html, "html"),
        ("", zoom, "text"),
        ("", webex, "text"),
        ("", meet, "html"),
        ("Conf Rm Fjord; @webex:space", agenda, "text"),
        ("Room 4.01", agenda, "text"),
        ("sip:board.room@video.example.org;transport=tls", "Legacy bridge.", "text"),
        ("", "Audio only: tel:+1-415-555-0142,,88123456#", "text"),
    ]


def _read_corpus(path: Path) -> tuple[list[Invite], list[dict[str, Any] | None]]:
    invites: list[Invite] = []
    expected: list[dict[str, Any] | None] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            invites.append(read_invite(line))
        except InvalidInvite as exc:
            raise InvalidInvite(f"{path}, line {number}: {exc}") from exc
        value = json.loads(line).get("expected")
        expected.append(value if isinstance(value, dict) else None)
    if not invites:
        raise InvalidInvite(f"{path} holds no invites")
    return invites, expected


def adversarial_bodies(size: int = MEGABYTE) -> dict[str, str]:
    """``size``-character bodies built to make a careless parser slow (docs/joinlinks.md, "Linear
    time")."""

    def repeated(unit: str) -> str:
        return _repeated(unit, size)

    return {
        "letters": "a" * size,
        "angle_brackets": "<" * size,
        "at_signs": "@" * size,
        "email_like": repeated("dial a@b.cd "),
        "schemes": repeated("https://"),
        "bad_zoom_links": repeated("https://zoom.us/x "),
        "bare_hosts": repeated("zoom.us/j/1 "),
        "unclosed_hrefs": repeated('<a href="x href="y '),
        "anchors": repeated("<a href=x>"),
        "entities": repeated("&#1;&amp;"),
        "teams_context": repeated("https://teams.microsoft.com/l/meetup-join/x?context={"),
        "cvi_phrases": repeated("join with a video conferencing device "),
        "labels": repeated("Meeting ID: 123456 Passcode: x "),
        "dial_strings": repeated("tel:+123456,,1# 1.2.3.4##1 sip:a@b.cd "),
        "quoted_printable": repeated("=3D=\r\n"),
        "invisible": "\u200b\xa0" * (size // 2),
    }


# Localized meeting-number and passcode labels that a parser reading calhub's own join block
# must not take quadratic time on, and the two settings that make a whole body one label block:
# a video address in calhub's block, and a join link in the Location.
HOSTILE_LABEL_UNITS = {
    "glued_latin_labels": "xpasscode: xcódigo de acceso: xmeeting number ",
    "japanese_labels": "パスコード：ミーティング番号：",
    "grouped_numbers": "Código de acceso: 1 2 ",
    "localized_ids": "Numéro de réunion : 1 2 3 4 5 6 7 ",
    "spaced_labels": "Meeting ID" + " " * 60 + "Meetingnummer" + " " * 60,
}
LABEL_WHOLE_BODY = {  # setting → (Location, start of the body)
    "own_sip_block": ("@webex", "-- joinsvc:processed v=1 hash=00 --\nsip:jo@vmr.example.org\n"),
    "location_link": ("https://acme.webex.com/meet/jo", ""),
}


def label_invites(size: int = MEGABYTE) -> dict[str, tuple[str, str]]:
    """``size``-character bodies of each hostile label unit in each whole-body label setting, as
    (Location, body)."""
    invites = {}
    for setting, (location, prefix) in LABEL_WHOLE_BODY.items():
        for name, unit in HOSTILE_LABEL_UNITS.items():
            invites[f"{name}_{setting}"] = (location, prefix + _repeated(unit, size))
    return invites


def _repeated(unit: str, size: int) -> str:
    """``unit`` over and over, cut at ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def _adversarial(progress: Progress | None) -> dict[str, float]:
    invites = {name: (body[:1000], body) for name, body in adversarial_bodies().items()}
    invites |= label_invites()
    timings: dict[str, float] = {}
    for index, (name, (location, body)) in enumerate(invites.items(), start=1):
        runs = []
        for body_format in ("text", "html"):
            for _ in range(REPETITIONS):
                began = time.perf_counter()
                detect_join(location, body, body_format)
                runs.append(time.perf_counter() - began)
        timings[name] = statistics.median(runs) * 1000
        if progress is not None:
            progress("joinlink 1 MB bodies", index, len(invites))
    return timings


def run_joinlink_benchmark(
    quick: bool, corpus: Path | None = None, progress: Progress | None = None
) -> dict[str, object]:
    """Run the benchmark; returns a JSON-ready dict (see the module docstring)."""
    if corpus is not None:
        invites, expected = _read_corpus(corpus)
    else:
        invites, expected = builtin_invites(), []
    passed = sum(
        join_record(detect_join(*invite)) == want
        for invite, want in zip(invites, expected, strict=False)
        if want is not None
    )
    labelled = sum(want is not None for want in expected)
    size = QUICK_SIZE if quick else FULL_SIZE
    durations = [0.0] * size
    step = max(1, size // 100)
    clock = time.perf_counter
    began = clock()
    for index in range(size):
        location, body, body_format = invites[index % len(invites)]
        start = clock()
        detect_join(location, body, body_format)
        durations[index] = clock() - start
        if progress is not None and (index + 1) % step == 0:
            progress("joinlink invites", index + 1, size)
    elapsed = clock() - began
    durations.sort()
    adversarial = _adversarial(progress)
    rate = size / elapsed
    worst = max(adversarial.values())
    return {
        "benchmark": "joinlink",
        "quick": quick,
        "corpus": str(corpus) if corpus else "built-in",
        "distinct_invites": len(invites),
        "invites": size,
        "corpus_pass_rate": passed / labelled if labelled else None,
        "invites_per_s": rate,
        "p50_ms": durations[size // 2] * 1000,
        "p99_ms": durations[min(size - 1, (size * 99) // 100)] * 1000,
        "max_ms": durations[-1] * 1000,
        "adversarial_1mb_ms": worst,
        "adversarial_1mb_by_body_ms": adversarial,
        "targets": TARGETS,
        "meets_targets": rate >= TARGETS["invites_per_s"] and worst < TARGETS["adversarial_1mb_ms"],
    }
