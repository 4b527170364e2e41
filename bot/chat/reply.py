"""The reply model: plain blocks, links, buttons and an optional image, with no platform markup.

Each front end renders a ``Reply`` its own way (Telegram HTML, Slack mrkdwn/Block Kit); the small
text helpers at the bottom keep dates, counts and links worded alike across the handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.digest.model import clip

ACTION_MAX_BYTES = 64  # Telegram's callback_data limit; Slack's is larger


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text; ``url`` makes it a link, ``bold``/``code`` style it."""

    text: str
    url: str | None = None
    bold: bool = False
    code: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph, or one list item when ``item`` is set (items render without blank lines)."""

    spans: tuple[Span, ...]
    item: bool = False

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


def fit_block(
    block: Block, *, limit: int, span: Callable[[Span], str], escape: Callable[[str], str]
) -> str:
    """A block rendered span by span; too long even alone, the markup goes and the text is
    clipped until its escaped form fits ``limit`` (each platform passes its own escaping)."""
    bullet = "• " if block.item else ""
    out = bullet + "".join(span(part) for part in block.spans)
    if len(out) <= limit:
        return out
    text = block.text
    size = len(text)
    while size > 1:
        size = max(1, min(size - 1, size * limit // max(len(out), 1)))
        out = bullet + escape(clip(text, size))
        if len(out) <= limit:
            break
    return out


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; ``action`` goes back to ``bot.chat.dispatch.handle_action`` when
    pressed."""

    label: str
    action: str


@dataclass(frozen=True, slots=True)
class Image:
    """A picture sent before the reply's text (Telegram sendPhoto, Slack file upload)."""

    data: bytes
    filename: str
    title: str


@dataclass(frozen=True, slots=True)
class Reply:
    blocks: tuple[Block, ...]
    buttons: tuple[Button, ...] = ()
    error: bool = False
    image: Image | None = None

    def plain_text(self) -> str:
        """Text without markup (logs, tests, terminal and notification fallbacks)."""
        out: list[str] = []
        for index, block in enumerate(self.blocks):
            if index:
                out.append("\n" if block.item and self.blocks[index - 1].item else "\n\n")
            out.append(("• " if block.item else "") + block.text)
        return "".join(out)


def span(text: str, *, url: str | None = None, bold: bool = False, code: bool = False) -> Span:
    return Span(text=text, url=url, bold=bold, code=code)


def para(*parts: Span | str) -> Block:
    return Block(spans=tuple(p if isinstance(p, Span) else Span(p) for p in parts))


def item(*parts: Span | str) -> Block:
    return Block(spans=tuple(p if isinstance(p, Span) else Span(p) for p in parts), item=True)


def reply(*blocks: Block, buttons: Sequence[Button] = (), image: Image | None = None) -> Reply:
    return Reply(blocks=tuple(blocks), buttons=tuple(buttons), image=image)


def error_reply(message: str) -> Reply:
    return Reply(blocks=(para(message),), error=True)


# --------------------------------------------------------------------------- button actions


def encode_ids(prefix: str, ids: Sequence[int]) -> str:
    """``prefix:1,2,3`` with as many ids as fit in a button's callback data."""
    out = prefix + ":"
    for index, value in enumerate(ids):
        piece = ("," if index else "") + str(value)
        if len((out + piece).encode()) > ACTION_MAX_BYTES:
            break
        out += piece
    return out


def decode_ids(payload: str) -> list[int] | None:
    try:
        ids = [int(x) for x in payload.split(",") if x]
    except ValueError:
        return None
    return ids or None


# --------------------------------------------------------------------------- shared wording


def fmt_date(value: datetime | date | None) -> str:
    if value is None:
        return "undated"
    return value.strftime("%Y-%m-%d")


def fmt_when(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def web_link(url: str | None) -> str | None:
    """Only web links become links; seed provenance ("seed:file.txt") stays plain text."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None
