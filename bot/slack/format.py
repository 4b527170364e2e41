"""Render a platform-free ``Reply`` as a Slack message: Block Kit sections in mrkdwn.

Every span is escaped here (``&``, ``<``, ``>``), so user or feed text cannot make links or
``<!channel>`` pings; links are made only from http(s) URLs. Slack's limits hold for every
message built here: at most 50 blocks and 3,000 characters per text block. A block longer than
that is clipped as text; a reply with more blocks than fit is summarised with a count.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.chat.reply import Block, Reply, Span, fit_block
from bot.digest.model import clip
from bot.digest.payloads import mrkdwn_escape
from bot.digest.render import SLACK_MAX_BLOCKS, SLACK_TEXT_LIMIT, safe_url

ACTION_PREFIX = "nkwatch:"
BUTTON_LABEL_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ACTIONS_PER_BLOCK = 25
FALLBACK_LIMIT = 3000


def slack_link(label: str, url: str | None) -> str:
    """``<url|label>`` for an http(s) URL, else the escaped label; ``|<>`` cannot break out."""
    target = safe_url(url)
    if target is None:
        return mrkdwn_escape(label)
    target = quote(target, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{mrkdwn_escape(target)}|{mrkdwn_escape(label.replace('|', '/'))}>"


def _styled(text: str, marker: str) -> str:
    """Wrap the non-blank core of ``text`` in ``marker``: Slack ignores ``*bold *``."""
    core = text.strip()
    if not core:
        return text
    start = text.index(core)
    return f"{text[:start]}{marker}{core}{marker}{text[start + len(core) :]}"


def span_mrkdwn(part: Span) -> str:
    text = part.text
    if safe_url(part.url) is not None:
        out = slack_link(text, part.url)
        return _styled(out, "*") if part.bold else out
    out = mrkdwn_escape(text)
    if part.code:
        out = _styled(out.replace("`", "ʼ"), "`")
    if part.bold:
        out = _styled(out, "*")
    return out


def block_mrkdwn(block: Block, limit: int = SLACK_TEXT_LIMIT) -> str:
    """One block as mrkdwn of at most ``limit`` characters."""
    return fit_block(block, limit=limit, span=span_mrkdwn, escape=mrkdwn_escape)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}


def reply_sections(reply: Reply, limit: int = SLACK_TEXT_LIMIT) -> list[str]:
    """mrkdwn texts, one per section; consecutive list items share a section while they fit."""
    texts: list[str] = []
    previous_item = False
    for block in reply.blocks:
        text = block_mrkdwn(block, limit)
        if block.item and previous_item and len(texts[-1]) + 1 + len(text) <= limit:
            texts[-1] += "\n" + text
        else:
            texts.append(text)
        previous_item = block.item
    return texts


def action_buttons(reply: Reply) -> list[dict[str, Any]]:
    """``actions`` blocks for the reply's buttons; ``value`` carries the command layer's action."""
    elements = [
        {
            "type": "button",
            "text": {
                "type": "plain_text",
                "text": clip(button.label, BUTTON_LABEL_LIMIT),
                "emoji": True,
            },
            "action_id": f"{ACTION_PREFIX}{index}",
            "value": button.action[:BUTTON_VALUE_LIMIT],
        }
        for index, button in enumerate(reply.buttons)
    ]
    return [
        {"type": "actions", "elements": elements[start : start + ACTIONS_PER_BLOCK]}
        for start in range(0, len(elements), ACTIONS_PER_BLOCK)
    ]


def render_reply(reply: Reply, *, max_blocks: int = SLACK_MAX_BLOCKS) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}`` for ``chat.postMessage`` or a response URL."""
    actions = action_buttons(reply)
    sections = [_section(t) for t in reply_sections(reply)] or [_section("(empty)")]
    room = max_blocks - len(actions)
    if len(sections) > room:
        shown = sections[: room - 1]
        left = len(sections) - len(shown)
        sections = [
            *shown,
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"{left} more not shown; ask for fewer results."}
                ],
            },
        ]
    blocks = sections + actions
    fallback = reply.plain_text() or " "
    if reply.error:
        fallback = f"⚠️ {fallback}"
    if len(fallback) > FALLBACK_LIMIT:  # notification text; the blocks carry the full reply
        fallback = fallback[: FALLBACK_LIMIT - 1] + "…"
    return {"text": mrkdwn_escape(fallback), "blocks": blocks}


def message_problems(message: dict[str, Any]) -> list[str]:
    """Where a message breaks Slack's limits (empty when it is fine); used by tests and senders."""
    problems: list[str] = []
    blocks = message.get("blocks") or []
    if len(blocks) > SLACK_MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {SLACK_MAX_BLOCKS}")
    for index, block in enumerate(blocks):
        texts: list[str] = []
        if isinstance(block.get("text"), dict):
            texts.append(str(block["text"].get("text", "")))
        texts += [
            str(e.get("text", ""))
            for e in block.get("elements", [])
            if e.get("type") in ("mrkdwn", "plain_text")
        ]
        for text in texts:
            if len(text) > SLACK_TEXT_LIMIT:
                problems.append(f"block {index}: {len(text)} characters > {SLACK_TEXT_LIMIT}")
            if not text:
                problems.append(f"block {index}: empty text")
    return problems
