"""Keep API keys and resumption handles out of third-party logs, even at DEBUG.

relive never logs a key or a handle itself, but the libraries under it do at DEBUG: `websockets`
prints every handshake header (`x-goog-api-key: ...`) and every frame (a setup carrying
`"handle": "..."`), `httpx` every URL (`?key=...`). A filter on their loggers rewrites such
records before any handler sees them. A logger's filters only run for records created on that
very logger, so each one is named.
"""

from __future__ import annotations

import logging
import re

# Loggers of the libraries relive drives that may print a key, a token or a handle.
LOGGERS = (
    "websockets.client",
    "websockets.server",
    "websockets",
    "httpx",
    "httpcore.http11",
    "httpcore.connection",
    "google_genai._api_client",
    "google_genai.live",
)

_PATTERNS = (
    # Headers, dict reprs: `x-goog-api-key: K`, `'x-goog-api-key': 'K'`, `Authorization: Token T`.
    re.compile(
        r"(?P<keep>(?:x-goog-api-key|authorization)['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|token)\s+)?)"
        r"[^\s'\",}]+",
        re.IGNORECASE,
    ),
    # URL query parameters: `?key=K`, `&access_token=T`.
    re.compile(r"(?P<keep>[?&](?:key|access_token)=)[^&\s'\"]+", re.IGNORECASE),
    # Resumption handles in frames: `"handle": "H"`, `"newHandle":"H"`, `new_handle='H'`.
    re.compile(
        r"(?P<keep>(?:handle|newHandle|new_handle)['\"]?\s*[:=]\s*['\"])[^'\"]+",
        re.IGNORECASE,
    ),
)
REDACTED = "<redacted>"
# `websockets` data frames (`> TEXT '{"setup": ...}' [812 bytes]`): the payload is elided in its
# middle to fit a line, which can cut a handle away from its field name, so it goes whole.
_FRAME = re.compile(r"(?P<head>[<>] (?:TEXT|BINARY|CONT) ).*(?P<tail> \[[^\]]*\])", re.DOTALL)


def redact_text(text: str) -> str:
    """`text` with every key, token and handle value replaced by `<redacted>`."""
    frame = _FRAME.fullmatch(text)
    if frame is not None:
        return f"{frame.group('head')}<payload {REDACTED}>{frame.group('tail')}"
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets redacted (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Attach the filter to every logger in `LOGGERS` (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
