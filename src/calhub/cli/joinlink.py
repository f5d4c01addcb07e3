"""``calhub joinlink [FILE]``: join details of invites given as JSON Lines (docs/joinlinks.md).

Each input line is a JSON object with ``location`` and ``body`` (strings) and optionally
``body_format`` (``"text"``, the default, or ``"html"``). Each output line is the corpus's
``expected`` object (``shared/corpus/README.md``): ``provider`` (``"none"`` when nothing is
found), ``join_url``, ``sip_uri``, ``meeting_id``, ``passcode``, ``keyword``, plus
``dial_string`` for ``h323`` and ``tel``. A line that cannot be read gets
``{"line": N, "error": "..."}`` on stderr instead; the rest are still processed and the exit
code is 2 at the end. Blank lines are skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from calhub.domain.joinlinks import JoinDetails, detect_join

__all__ = ["InvalidInvite", "join_record", "read_invite", "register"]

RECORD_KEYS = ("provider", "join_url", "sip_uri", "meeting_id", "passcode", "keyword")


class InvalidInvite(ValueError):
    """An input line that is not an invite object."""


def join_record(details: JoinDetails | None) -> dict[str, str | None]:
    """``details`` in the corpus's ``expected`` shape."""
    if details is None:
        return {key: "none" if key == "provider" else None for key in RECORD_KEYS}
    record: dict[str, str | None] = {key: getattr(details, key) for key in RECORD_KEYS}
    if details.provider in ("h323", "tel"):
        record["dial_string"] = details.dial_string
    return record


def read_invite(line: str) -> tuple[str, str, Any]:
    """``(location, body, body_format)`` of one JSON line; raises ``InvalidInvite``."""
    try:
        invite = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInvite(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(invite, dict):
        raise InvalidInvite("not a JSON object")
    location, body = invite.get("location"), invite.get("body")
    body_format = invite.get("body_format", "text")
    if not isinstance(location, str) or not isinstance(body, str):
        raise InvalidInvite("'location' and 'body' must be strings")
    if body_format not in ("text", "html"):
        raise InvalidInvite('\'body_format\' must be "text" or "html"')
    return location, body, body_format


def _lines(source: BinaryIO) -> Iterable[tuple[int, str | None]]:
    for number, raw in enumerate(source, start=1):
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def joinlink(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSON Lines file of invites ({location, body, body_format}); default: stdin.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Detect join details (keyword, meeting link, video address, dial string) per invite."""
    bad = 0
    with file.open("rb") if file else sys.stdin.buffer as source:
        for number, line in _lines(source):
            if line is not None and not line.strip():
                continue
            try:
                if line is None:
                    raise InvalidInvite("not UTF-8")
                location, body, body_format = read_invite(line)
            except InvalidInvite as exc:
                bad += 1
                error = {"line": number, "error": str(exc)}
                sys.stderr.write(json.dumps(error) + "\n")
                continue
            record = join_record(detect_join(location, body, body_format))
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if bad:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("joinlink")(joinlink)
