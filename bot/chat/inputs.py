"""The checks a command's text passes before any handler sees it, and the small parsers the
handlers share (times, zones, on/off). Every front end applies ``check_text`` the same way."""

from __future__ import annotations

import re
import unicodedata
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_ARGS_CHARS = 300  # every command but /claim
MAX_CLAIM_CHARS = 1000  # a claim is one or two sentences; longer is a pasted article
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL

# A tag-shaped run: "<b>", "</a>", "<script src=...>", "<!-- -->". A bare "<" ("range < 500 km")
# is fine and simply escaped on output.
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^<>]*>")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_ON = {"on", "yes", "true", "1", "enable", "enabled"}
_OFF = {"off", "no", "false", "0", "disable", "disabled"}


def check_text(args: str, *, limit: int) -> str | None:
    """The reason ``args`` is refused, or None. Every front end applies it before a command."""
    if len(args) > limit:
        return f"That is too long ({len(args):,} characters); the limit is {limit:,}."
    for char in args:
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co") or char in "\u2028\u2029":
            return "Your text contains control characters; please send plain text."
    if _HTML_TAG.search(args):
        return "Please send plain text, not HTML."
    return None


def parse_hhmm(value: str) -> time | None:
    found = _HHMM.match(value.strip())
    if not found:
        return None
    return time(int(found.group(1)), int(found.group(2)))


def parse_timezone(value: str) -> str | None:
    """An IANA zone name as Python knows it ("Asia/Seoul"), or None when unknown."""
    name = value.strip()
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def parse_switch(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    return None
