"""Render a platform-free ``Reply`` as Telegram HTML messages (parse_mode=HTML).

Every span is escaped here; links are made only from http(s) URLs. Long replies are split with
the digest renderer's ``pack`` on block boundaries, so no message breaks a tag: each block is a
balanced fragment, and a block longer than a message is clipped as text before it is escaped.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.reply import Block, Reply, Span, fit_block
from bot.digest.render import TELEGRAM_LIMIT, h, pack, safe_url


def text_html(text: str) -> str:
    """Escape for an HTML text node (quotes stay readable; attributes use ``h``)."""
    return html.escape(text, quote=False)


def span_html(part: Span) -> str:
    out = text_html(part.text)
    if part.code:
        out = f"<code>{out}</code>"
    if part.bold:
        out = f"<b>{out}</b>"
    target = safe_url(part.url)
    if target is not None:
        out = f'<a href="{h(target)}">{out}</a>'
    return out


def block_html(block: Block, limit: int = TELEGRAM_LIMIT) -> str:
    """One block as balanced HTML of at most ``limit`` characters."""
    return fit_block(block, limit=limit, span=span_html, escape=text_html)


def reply_messages(reply: Reply, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """HTML messages for one reply; consecutive list items share a paragraph."""
    paragraphs: list[str] = []
    previous_item = False
    for block in reply.blocks:
        html = block_html(block, limit)
        if block.item and previous_item and len(paragraphs[-1]) + 1 + len(html) <= limit:
            paragraphs[-1] += "\n" + html
        else:
            paragraphs.append(html)
        previous_item = block.item
    return pack(paragraphs, limit) or ["(empty)"]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action)] for b in reply.buttons]
    )
