"""Renderers: one ``Digest`` to Telegram HTML, Slack Block Kit, plain text and Markdown.

Every string that came from a feed or a user is escaped for its format here and nowhere else.
Links are only made from http(s) URLs; anything else (``javascript:``, ``seed:``) is shown as text
or dropped, so a hostile feed cannot plant a link.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from bot.digest.model import (
    ChangeRecord,
    Digest,
    RepeatLine,
    RepeatSummary,
    SourceRef,
    StoryDigest,
    UpdatedLine,
    action_data,
    clip,
)

Format = Literal["text", "md", "html", "telegram-html", "slack-json"]
FORMATS: tuple[Format, ...] = ("text", "md", "html", "telegram-html", "slack-json")

TELEGRAM_LIMIT = 4096
SLACK_MAX_BLOCKS = 50
SLACK_TEXT_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_CONTEXT_ELEMENTS = 10


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) address without control characters, else None."""
    if not url or any(ord(ch) < 32 or ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def _stamp(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def heading(digest: Digest) -> str:
    since = f" (since {_stamp(digest.since)})" if digest.since else ""
    return f"{digest.title} — {_stamp(digest.until)}{since}"


def totals_line(digest: Digest) -> str:
    t = digest.totals
    stories = "story" if t.stories == 1 else "stories"
    return f"{t.stories} {stories}: {t.new} new claims, {t.updated} updated, {t.repeated} repeated"


def change_text(changes: Iterable[ChangeRecord]) -> str:
    return "; ".join(f"{c.what}: {c.old} → {c.new}" for c in changes)


def earlier_text(ref: SourceRef | None) -> str:
    if ref is None:
        return ""
    when = f", {_day(ref.published)}" if ref.published else ""
    return f"earlier: {ref.name}{when}"


def story_meta(story: StoryDigest) -> str:
    bits = [b for b in (story.outlet, _day(story.published)) if b]
    if story.also_in:
        bits.append("also in " + ", ".join(story.also_in))
    return ", ".join(bits)


def omitted_line(digest: Digest) -> str:
    if not digest.omitted_stories and not digest.omitted_claims:
        return ""
    parts = []
    if digest.omitted_stories:
        noun = "story" if digest.omitted_stories == 1 else "stories"
        parts.append(f"{digest.omitted_stories} more {noun}")
    if digest.omitted_claims:
        noun = "claim" if digest.omitted_claims == 1 else "claims"
        parts.append(f"{digest.omitted_claims} more new/updated {noun}")
    return "Not shown: " + " and ".join(parts) + "."


def sources_line(digest: Digest) -> str:
    return "Sources: " + ", ".join(digest.sources) if digest.sources else ""


def hidden_line(summary: RepeatSummary) -> str:
    """The count of repeated facts beyond the listed lines (empty when all are listed)."""
    return f"(+{summary.hidden_lines} more)" if summary.hidden_lines > 0 else ""


def updated_suffix(line: UpdatedLine) -> str:
    bits = [b for b in (change_text(line.changes), earlier_text(line.earlier)) if b]
    return f" ({'; '.join(bits)})" if bits else ""


# --------------------------------------------------------------------------------------------
# Plain text


def render_text(digest: Digest) -> str:
    if digest.is_empty:
        return digest.empty_line()
    out = [heading(digest), totals_line(digest)]
    for group in digest.groups:
        out.append("")
        if group.show_header:
            out.append(f"== {group.title} ==")
        for story in group.stories:
            meta = story_meta(story)
            out.append(f"* {story.title}" + (f" — {meta}" if meta else ""))
            if safe_url(story.url):
                out.append(f"  {story.url}")
            out.extend(f"  NEW: {line.text}" for line in story.new)
            out.extend(f"  UPDATED: {line.text}{updated_suffix(line)}" for line in story.updated)
            if story.omitted_claims:
                out.append(f"  (+{story.omitted_claims} more new/updated claims not shown)")
            if story.repeated:
                out.append(f"  {story.repeated.line()}")
                for rep in story.repeated.lines:
                    link = safe_url(rep.first.url) if rep.first else None
                    out.append(f"    - {rep.plain()}" + (f" <{link}>" if link else ""))
                if hidden_line(story.repeated):
                    out.append(f"    {hidden_line(story.repeated)}")
    tail = [line for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        out.append("")
        out.extend(tail)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Markdown, CommonMark flavour

# Escaped wherever they stand: they open emphasis, code, links, raw HTML, tables, strikethrough.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")  # "&amp;" would be read as an entity
_MD_LINE_START = re.compile(r"^([#>+=-])")  # heading, quote, list item, setext underline
_MD_ORDERED = re.compile(r"^(\d+)([.)])")  # "1." or "1)" would start a numbered list
_MD_CLOSING = re.compile(r"(\s)(#+)$")  # a trailing "#" run would close an ATX heading


def md_escape(text: str) -> str:
    """Escape only what Markdown would read as markup, so dates and hyphens stay readable."""
    text = " ".join(text.split())
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    text = _MD_LINE_START.sub(r"\\\1", text)
    text = _MD_ORDERED.sub(r"\1\\\2", text)
    return _MD_CLOSING.sub(r"\1\\\2", text)


def _md_link(label: str, url: str | None) -> str:
    target = safe_url(url)
    if target is None:
        return md_escape(label)
    return f"[{md_escape(label)}](<{target.replace('>', '%3E').replace('<', '%3C')}>)"


def _md_repeat(line: RepeatLine) -> str:
    first = line.first
    if first is None:
        return f"  - {md_escape(line.text)}"
    when = f" {_day(first.published)}" if first.published else ""
    return f"  - {md_escape(line.text)} — first reported{when} by {_md_link(first.name, first.url)}"


def _md_story(story: StoryDigest, level: int) -> list[str]:
    out = ["", f"{'#' * level} {_md_link(story.title, story.url)}"]
    meta = story_meta(story)
    if meta:
        out.append(f"*{md_escape(meta)}*")
    out.append("")
    out.extend(f"- **New:** {md_escape(line.text)}" for line in story.new)
    out.extend(
        f"- **Updated:** {md_escape(line.text)}{md_escape(updated_suffix(line))}"
        for line in story.updated
    )
    if story.omitted_claims:
        out.append(f"- {md_escape(f'(+{story.omitted_claims} more new/updated claims not shown)')}")
    if story.repeated:
        out.append(f"- _{md_escape(story.repeated.line())}_")
        out.extend(_md_repeat(line) for line in story.repeated.lines)
        if hidden_line(story.repeated):
            out.append(f"  - {md_escape(hidden_line(story.repeated))}")
    return out


def render_markdown(digest: Digest) -> str:
    """CommonMark: one level-1 title; an event is level 2 and its stories level 3, a story on
    its own is level 2, so no heading skips a level."""
    if digest.is_empty:
        return md_escape(digest.empty_line()) + "\n"
    out = [f"# {md_escape(heading(digest))}", "", md_escape(totals_line(digest))]
    for group in digest.groups:
        if group.show_header:
            out += ["", f"## {md_escape(group.title)}"]
        for story in group.stories:
            out += _md_story(story, 3 if group.show_header else 2)
    tail = [line for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        out.append("")
        out.append("  \n".join(md_escape(line) for line in tail))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Telegram HTML


def h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_link(label: str, url: str | None) -> str:
    target = safe_url(url)
    if target is None:
        return h(label)
    return f'<a href="{h(target)}">{h(label)}</a>'


def _fit(raw: str, render: Callable[[str], str], limit: int) -> str:
    """Shorten ``raw`` until its rendered (escaped) form fits in ``limit`` characters."""
    out = render(raw)
    size = len(raw)
    while len(out) > limit and size > 1:
        size = max(1, min(size - 1, size * limit // max(len(out), 1)))
        out = render(clip(raw, size))
    return out


@dataclass(frozen=True, slots=True)
class _Para:
    """A Telegram paragraph; ``repeats`` is set on the one that ends with a story's repeat line,
    so showing the repeated facts appends them right under it."""

    text: str
    repeats: RepeatSummary | None = None


def _telegram_story(story: StoryDigest, limit: int) -> list[_Para]:
    """Paragraphs for one story, each a balanced HTML fragment no longer than ``limit``."""
    meta = story_meta(story)
    head = f"<b>{_html_link(story.title, story.url)}</b>"
    if meta:
        head += f"\n<i>{h(meta)}</i>"
    if len(head) > limit:
        head = _fit(story.title, lambda t: f"<b>{h(t)}</b>", limit)
    lines = [head]
    lines += [_fit(line.text, lambda t: f"🆕 {h(t)}", limit) for line in story.new]
    for up in story.updated:
        suffix = updated_suffix(up)
        lines.append(_fit(up.text + suffix, lambda t: f"🔄 {h(t)}", limit))
    if story.omitted_claims:
        lines.append(f"<i>(+{story.omitted_claims} more new/updated claims not shown)</i>")
    if story.repeated:
        lines.append(f"<i>↩ {h(story.repeated.line())}</i>")
    # One paragraph per story while it fits; otherwise one per line.
    joined = "\n".join(lines)
    paras = [_Para(joined)] if len(joined) <= limit else [_Para(line) for line in lines]
    if story.repeated:
        paras[-1] = _Para(paras[-1].text, story.repeated)
    return paras


def _telegram_paras(digest: Digest, limit: int) -> list[_Para]:
    if digest.is_empty:
        return [_Para(h(digest.empty_line()))]
    paras = [_Para(f"<b>{h(heading(digest))}</b>\n{h(totals_line(digest))}")]
    for group in digest.groups:
        if group.show_header:
            paras.append(_Para(_fit(group.title, lambda t: f"<b>📌 {h(t)}</b>", limit)))
        for story in group.stories:
            paras.extend(_telegram_story(story, limit))
    tail = "\n".join(h(line) for line in (omitted_line(digest), sources_line(digest)) if line)
    if tail:
        paras.append(_Para(tail if len(tail) <= limit else h(omitted_line(digest))))
    return paras


def telegram_paragraphs(digest: Digest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    return [para.text for para in _telegram_paras(digest, limit)]


def pack_groups(paragraphs: list[str], limit: int, sep: str = "\n\n") -> list[list[int]]:
    """Indices of the paragraphs each message holds: at most ``limit`` characters joined by
    ``sep``, never splitting a paragraph."""
    groups: list[list[int]] = []
    size = 0
    for index, para in enumerate(paragraphs):
        if len(para) > limit:
            msg = f"paragraph of {len(para)} characters exceeds the limit of {limit}"
            raise ValueError(msg)
        if groups and size + len(sep) + len(para) <= limit:
            groups[-1].append(index)
            size += len(sep) + len(para)
        else:
            groups.append([index])
            size = len(para)
    return groups


def pack(paragraphs: list[str], limit: int, sep: str = "\n\n") -> list[str]:
    """Join paragraphs into messages of at most ``limit`` characters, never splitting one."""
    return [sep.join(paragraphs[i] for i in group) for group in pack_groups(paragraphs, limit, sep)]


def _telegram_repeat(line: RepeatLine) -> str:
    first = line.first
    text = f"    ◦ {h(line.text)}"
    if first is None:
        return text
    when = f" {_day(first.published)}" if first.published else ""
    return f"{text} — first reported{when} by {_html_link(first.name, first.url)}"


def _shown(para: _Para, most: int) -> str:
    """The paragraph with up to ``most`` of its story's repeated facts under it."""
    summary = para.repeats
    if summary is None:
        return para.text
    lines = [_telegram_repeat(line) for line in summary.lines[:most]]
    hidden = summary.count - len(lines)
    if hidden:
        lines.append(f"    <i>(+{hidden} more)</i>")
    return "\n".join([para.text, *lines])


@dataclass(frozen=True, slots=True)
class TelegramPart:
    """One message of a digest: its HTML and how many repeated facts a button can show."""

    text: str
    repeats: int


def telegram_parts(
    digest: Digest, *, limit: int = TELEGRAM_LIMIT, expanded: int | None = None
) -> list[TelegramPart]:
    """The digest's messages; part ``expanded`` lists its repeated facts (as many as fit)."""
    paras = _telegram_paras(digest, limit)
    parts: list[TelegramPart] = []
    for index, group in enumerate(pack_groups([p.text for p in paras], limit)):
        members = [paras[i] for i in group]
        text = "\n\n".join(p.text for p in members)
        if index == expanded:
            most = max((len(p.repeats.lines) for p in members if p.repeats), default=0)
            for n in range(most, -1, -1):  # fewer lines per story until the message fits
                shown = "\n\n".join(_shown(p, n) for p in members)
                if len(shown) <= limit:
                    text = shown
                    break
        repeats = sum(p.repeats.count for p in members if p.repeats)
        parts.append(TelegramPart(text=text, repeats=repeats))
    return parts


def render_telegram(digest: Digest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """HTML messages (parse_mode=HTML), each at most ``limit`` characters."""
    return [part.text for part in telegram_parts(digest, limit=limit)]


def telegram_markup(delivery_id: int, part: int, repeats: int, *, expanded: bool) -> dict[str, Any]:
    """The inline keyboard under a digest message: show or hide its repeated facts."""
    label = "Hide repeated" if expanded else f"Show repeated ({repeats})"
    data = action_data(delivery_id, part, expand=not expanded)
    return {"inline_keyboard": [[{"text": label, "callback_data": data}]]}


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
        head = _fit(story.title, lambda t: f"*{mrkdwn_escape(t)}*", limit // 2)
    lines = [head]
    lines += [_fit(n.text, lambda t: f":new: {mrkdwn_escape(t)}", limit) for n in story.new]
    lines += [
        _fit(
            u.text + updated_suffix(u),
            lambda t: f":arrows_counterclockwise: {mrkdwn_escape(t)}",
            limit,
        )
        for u in story.updated
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


def _slack_repeat(line: RepeatLine) -> str:
    first = line.first
    text = f"◦ {mrkdwn_escape(line.text)}"
    if first is None:
        return text
    when = f" {_day(first.published)}" if first.published else ""
    return f"{text} — first reported{when} by {_slack_link(first.name, first.url)}"


def _slack_repeats(summary: RepeatSummary) -> dict[str, Any]:
    """The story's repeated facts, one line each, in one context block within Slack's limit."""
    lines = [_slack_repeat(line) for line in summary.lines]
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
                    _fit(group.title, lambda t: f"*:pushpin: {mrkdwn_escape(t)}*", SLACK_TEXT_LIMIT)
                )
            )
        units.append(_SlackUnit(tuple(unit)))
        units.extend(_slack_story(story) for story in group.stories)
    tail = [mrkdwn_escape(line) for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        units.append(
            _SlackUnit((_context([_fit(t, lambda x: x, SLACK_TEXT_LIMIT) for t in tail]),))
        )
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


# --------------------------------------------------------------------------------------------
# Dispatch


def render(digest: Digest, fmt: Format) -> str:
    """One string for previews (``nkwatch digest --format``)."""
    import json  # noqa: PLC0415 - only the slack-json preview needs it

    if fmt == "text":
        return render_text(digest)
    if fmt == "md":
        return render_markdown(digest)
    if fmt == "html":
        from bot.digest.page import render_page  # noqa: PLC0415 - only this format needs it

        return render_page(digest)
    if fmt == "telegram-html":
        return "\n\n—— message break ——\n\n".join(render_telegram(digest))
    return json.dumps(render_slack(digest), ensure_ascii=False, indent=2)


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
