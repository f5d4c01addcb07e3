"""Structured logs with structlog: JSON lines by default, one event per line.

Logs never carry sensitive values: the ``redact_sensitive`` processor blanks any key that names
a sensitive field, as a guard behind the rule that code logs ids, never subjects or addresses.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "subject",
        "body",
        "email",
        "organizer",
        "attendees",
        "join_url",
        "passcode",
        "password",
        "secret",
        "token",
        "api_key",
        "authorization",
        "client_secret",
        "refresh_token",
        "access_token",
    }
)
REDACTED = "[redacted]"


def redact_sensitive(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in event_dict:
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(level: str = "info", json: bool = True, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging to ``stream`` (stderr by default)."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared], processor=renderer
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # pgserver narrates every initdb and pg_ctl call at INFO; only its problems matter here.
    logging.getLogger("pgserver").setLevel(max(numeric, logging.WARNING))
