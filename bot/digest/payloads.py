"""Chat payloads: Slack Block Kit, and the outbox messages with their "Show repeated" buttons.

Each message of a digest can show its stories' repeated facts on demand; ``with_buttons`` adds the
button once the outbox row exists, ``telegram_part``/``slack_part`` redraw one message when it is
pressed. Feed strings are escaped here for mrkdwn; links only from http(s) URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.digest.model import Digest, RepeatSummary, StoryDigest, action_data, clip
from bot.digest.render import (
    SLACK_CONTEXT_ELEMENTS,
    SLACK_HEADER_LIMIT,
    SLACK_MAX_BLOCKS,
    SLACK_TEXT_LIMIT,
    fit,
    heading,
    omitted_line,
    pack,
    path_text,
    render_text,
    repeat_line,
    safe_url,
    sources_line,
    story_meta,
    telegram_markup,
    telegram_parts,
    totals_line,
    updated_suffix,
)

# --------------------------------------------------------------------------------------------
# Slack Block Kit


def mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(label: str, url: str | None) -> str:
    target = safe_url(url)
    if target is None:
        return mrkdwn_escape(label)
    target = quote(target, safe=":/?#[]@!$&'()*+,;=%~-._")  # no < > | left in the URL
    return f"<{mrkdwn_escape(target)}|{mrkdwn_escape(label.replace('|', '/'))}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: list[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": t} for t in texts[:SLACK_CONTEXT_ELEMENTS]],
    }


@dataclass(frozen=True, slots=True)
class _SlackUnit:
    """Blocks that stay in one message; ``repeats`` when a button can list a story's facts."""

    blocks: tuple[dict[str, Any], ...]
    repeats: RepeatSummary | None = None

    @property
    def size(self) -> int:
        """Blocks including room for the repeated facts, so showing them never overflows."""
        return len(self.blocks) + (1 if self.repeats else 0)


def _slack_story(story: StoryDigest) -> _SlackUnit:
    limit = SLACK_TEXT_LIMIT
    meta = story_meta(story)
    head = f"*{_slack_link(story.title, story.url)}*"
    if len(head) > limit // 2:
        head = fit(story.title, lambda t: f"*{mrkdwn_escape(t)}*", limit // 2)
    lines = [head]
    lines += [fit(n.text, lambda t: f":new: {mrkdwn_escape(t)}", limit) for n in story.new]
    lines += [
        fit(
            u.text + updated_suffix(u),
            lambda t: f":arrows_counterclockwise: {mrkdwn_escape(t)}",
            limit,
        )
        for u in story.updated
    ]
    lines += [
        fit(path_text(u), lambda t: f":chart_with_upwards_trend: {mrkdwn_escape(t)}", limit)
        for u in story.updated
        if path_text(u)
    ]
    blocks = [_section(text) for text in pack(lines, limit, sep="\n")]
    notes = []
    if meta:
        notes.append(mrkdwn_escape(meta))
    if story.omitted_claims:
        notes.append(f"+{story.omitted_claims} more new/updated claims not shown")
    if story.repeated:
        notes.append(mrkdwn_escape(story.repeated.line()))
    if notes:
        blocks.append(_context(notes))
    return _SlackUnit(tuple(blocks), story.repeated)


def _slack_repeats(summary: RepeatSummary) -> dict[str, Any]:
    """The story's repeated facts, one line each, in one context block within Slack's limit."""
    lines = [
        f"◦ {repeat_line(line, escape=mrkdwn_escape, link=_slack_link)}" for line in summary.lines
    ]
    hidden = summary.count - len(lines)
    while lines and len("\n".join(lines)) + 20 > SLACK_TEXT_LIMIT:
        lines.pop()
        hidden += 1
    if hidden:
        lines.append(f"(+{hidden} more)")
    return _context(["\n".join(lines)])


def _slack_header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, SLACK_HEADER_LIMIT), "emoji": True},
    }


SLACK_REPEATS_ACTION = "digest_repeats"  # action_id of the "Show more" / "Hide" button


def slack_actions(delivery_id: int, part: int, repeats: int, *, expanded: bool) -> dict[str, Any]:
    """The button under a digest message that shows or hides its repeated facts."""
    label = "Hide repeated" if expanded else f"Show more ({repeats} repeated)"
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "action_id": SLACK_REPEATS_ACTION,
                "value": action_data(delivery_id, part, expand=not expanded),
            }
        ],
    }


def _slack_units(digest: Digest) -> list[_SlackUnit]:
    units = [_SlackUnit((_section(mrkdwn_escape(totals_line(digest))),))]
    for group in digest.groups:
        unit: list[dict[str, Any]] = [{"type": "divider"}]
        if group.show_header:
            unit.append(
                _section(
                    fit(group.title, lambda t: f"*:pushpin: {mrkdwn_escape(t)}*", SLACK_TEXT_LIMIT)
                )
            )
        units.append(_SlackUnit(tuple(unit)))
        units.extend(_slack_story(story) for story in group.stories)
    tail = [mrkdwn_escape(line) for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        units.append(_SlackUnit((_context([fit(t, lambda x: x, SLACK_TEXT_LIMIT) for t in tail]),)))
    return units


def slack_parts(
    digest: Digest, *, delivery_id: int | None = None, expanded: int | None = None
) -> list[dict[str, Any]]:
    """``chat.postMessage`` payloads (``text`` fallback + ``blocks``) within Slack's limits.

    A digest too long for one message is split between stories. Each message keeps one block
    free for its button and one per story for its repeated facts; with ``delivery_id`` the
    button is added, and message ``expanded`` lists the facts.
    """
    fallback = f"{heading(digest)}: {totals_line(digest)}"
    if digest.is_empty:
        return [
            {"text": digest.empty_line(), "blocks": [_section(mrkdwn_escape(digest.empty_line()))]}
        ]
    groups: list[list[_SlackUnit]] = [[]]
    used = 1  # the header
    for unit in _slack_units(digest):
        if groups[-1] and used + unit.size > SLACK_MAX_BLOCKS - 1:
            groups.append([])
            used = 1
        groups[-1].append(unit)
        used += unit.size
    messages: list[dict[str, Any]] = []
    for index, members in enumerate(groups):
        title = heading(digest) if index == 0 else f"{digest.title} (continued)"
        blocks = [_slack_header(title)]
        for unit in members:
            blocks.extend(unit.blocks)
            if index == expanded and unit.repeats is not None:
                blocks.append(_slack_repeats(unit.repeats))
        repeats = sum(u.repeats.count for u in members if u.repeats)
        if delivery_id is not None and repeats:
            blocks.append(slack_actions(delivery_id, index, repeats, expanded=index == expanded))
        messages.append({"text": fallback, "blocks": blocks, "repeats": repeats})
    return messages


def render_slack(digest: Digest) -> list[dict[str, Any]]:
    """``chat.postMessage`` payloads for a preview: no buttons, no repeated facts listed."""
    return [{k: v for k, v in m.items() if k != "repeats"} for m in slack_parts(digest)]


def platform_messages(digest: Digest, platform: str) -> list[dict[str, Any]]:
    """The messages an outbox row carries for ``platform``, one dict per platform send.

    ``repeats`` counts the repeated facts a message can show; :func:`with_buttons` adds the
    buttons once the outbox row (whose id they carry) exists.
    """
    if platform == "telegram":
        return [
            {"text": part.text, "parse_mode": "HTML", "repeats": part.repeats}
            for part in telegram_parts(digest)
        ]
    if platform == "slack":
        return slack_parts(digest)
    return [{"text": render_text(digest)}]


def with_buttons(
    messages: list[dict[str, Any]], platform: str, delivery_id: int
) -> list[dict[str, Any]]:
    """The messages with a "Show repeated" button under each one that has repeated facts."""
    out = []
    for index, message in enumerate(messages):
        repeats = int(message.get("repeats") or 0)
        shown = message
        if repeats and platform == "telegram":
            markup = telegram_markup(delivery_id, index, repeats, expanded=False)
            shown = {**message, "reply_markup": markup}
        elif repeats and platform == "slack":
            button = slack_actions(delivery_id, index, repeats, expanded=False)
            shown = {**message, "blocks": [*message.get("blocks", []), button]}
        out.append(shown)
    return out


def telegram_part(digest: Digest, part: int, delivery_id: int, *, expanded: bool) -> dict[str, Any]:
    """Message ``part`` of a sent digest, redrawn: ``text`` and ``reply_markup`` (or none if
    the digest has changed so much that the part is gone)."""
    parts = telegram_parts(digest, expanded=part if expanded else None)
    if part >= len(parts):
        return {}
    shown = parts[part]
    markup = (
        telegram_markup(delivery_id, part, shown.repeats, expanded=expanded)
        if shown.repeats
        else None
    )
    return {"text": shown.text, "reply_markup": markup}


def slack_part(digest: Digest, part: int, delivery_id: int, *, expanded: bool) -> dict[str, Any]:
    """Message ``part`` of a sent digest, redrawn for ``chat.update`` (empty if it is gone)."""
    parts = slack_parts(digest, delivery_id=delivery_id, expanded=part if expanded else None)
    if part >= len(parts):
        return {}
    return {"text": parts[part]["text"], "blocks": parts[part]["blocks"]}
