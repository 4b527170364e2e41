"""Renderers: one ``Digest`` to Telegram HTML, Slack Block Kit, plain text and Markdown.

Every string that came from a feed or a user is escaped for its format here and nowhere else.
Links are only made from http(s) URLs; anything else (``javascript:``, ``seed:``) is shown as text
or dropped, so a hostile feed cannot plant a link.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from bot.digest.model import (
    ChangeRecord,
    Digest,
    SourceRef,
    StoryDigest,
    UpdatedLine,
    clip,
)

Format = Literal["text", "md", "html", "slack-json"]

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


def path_text(line: UpdatedLine) -> str:
    """The figure's path so far and where its chart is, or "" when it has no series."""
    if not line.path:
        return ""
    return f"{line.path} (chart: /track {line.series})" if line.series else line.path


def _updated_suffix(line: UpdatedLine) -> str:
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
            for line in story.updated:
                out.append(f"  UPDATED: {line.text}{_updated_suffix(line)}")
                out.extend(f"    {text}" for text in (path_text(line),) if text)
            if story.repeated:
                out.append(f"  {story.repeated.line()}")
            if story.omitted_claims:
                out.append(f"  (+{story.omitted_claims} more new/updated claims not shown)")
    tail = [line for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        out.append("")
        out.extend(tail)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Markdown, CommonMark flavour

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_link(label: str, url: str | None) -> str:
    target = safe_url(url)
    if target is None:
        return md_escape(label)
    return f"[{md_escape(label)}](<{target.replace('>', '%3E').replace('<', '%3C')}>)"


def render_markdown(digest: Digest) -> str:
    if digest.is_empty:
        return md_escape(digest.empty_line())
    out = [f"# {md_escape(heading(digest))}", "", md_escape(totals_line(digest))]
    for group in digest.groups:
        if group.show_header:
            out += ["", f"## {md_escape(group.title)}"]
        for story in group.stories:
            meta = story_meta(story)
            out += ["", f"### {_md_link(story.title, story.url)}"]
            if meta:
                out.append(f"*{md_escape(meta)}*")
            out.append("")
            out.extend(f"- **New:** {md_escape(line.text)}" for line in story.new)
            for line in story.updated:
                out.append(
                    f"- **Updated:** {md_escape(line.text)}{md_escape(_updated_suffix(line))}"
                )
                out.extend(f"  - {md_escape(text)}" for text in (path_text(line),) if text)
            if story.repeated:
                out.append(f"- _{md_escape(story.repeated.line())}_")
            if story.omitted_claims:
                out.append(
                    f"- {md_escape(f'(+{story.omitted_claims} more new/updated claims not shown)')}"
                )
    tail = [line for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        out.append("")
        out.extend(md_escape(line) for line in tail)
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


def _telegram_story(story: StoryDigest, limit: int) -> list[str]:
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
        suffix = _updated_suffix(up)
        lines.append(_fit(up.text + suffix, lambda t: f"🔄 {h(t)}", limit))
        if path_text(up):
            lines.append(_fit(path_text(up), lambda t: f"📈 {h(t)}", limit))
    if story.repeated:
        lines.append(f"<i>↩ {h(story.repeated.line())}</i>")
    if story.omitted_claims:
        lines.append(f"<i>(+{story.omitted_claims} more new/updated claims not shown)</i>")
    # One paragraph per story while it fits; otherwise one per line.
    joined = "\n".join(lines)
    return [joined] if len(joined) <= limit else lines


def telegram_paragraphs(digest: Digest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    if digest.is_empty:
        return [h(digest.empty_line())]
    paragraphs = [f"<b>{h(heading(digest))}</b>\n{h(totals_line(digest))}"]
    for group in digest.groups:
        if group.show_header:
            paragraphs.append(_fit(group.title, lambda t: f"<b>📌 {h(t)}</b>", limit))
        for story in group.stories:
            paragraphs.extend(_telegram_story(story, limit))
    tail = "\n".join(h(line) for line in (omitted_line(digest), sources_line(digest)) if line)
    if tail:
        paragraphs.append(tail if len(tail) <= limit else h(omitted_line(digest)))
    return paragraphs


def pack(paragraphs: list[str], limit: int, sep: str = "\n\n") -> list[str]:
    """Join paragraphs into messages of at most ``limit`` characters, never splitting one."""
    messages: list[str] = []
    current = ""
    for para in paragraphs:
        if len(para) > limit:
            msg = f"paragraph of {len(para)} characters exceeds the limit of {limit}"
            raise ValueError(msg)
        candidate = f"{current}{sep}{para}" if current else para
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = para
    if current:
        messages.append(current)
    return messages


def render_telegram(digest: Digest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """HTML messages (parse_mode=HTML), each at most ``limit`` characters."""
    return pack(telegram_paragraphs(digest, limit), limit)


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


def _slack_story(story: StoryDigest) -> list[dict[str, Any]]:
    limit = SLACK_TEXT_LIMIT
    meta = story_meta(story)
    head = f"*{_slack_link(story.title, story.url)}*"
    if len(head) > limit // 2:
        head = _fit(story.title, lambda t: f"*{mrkdwn_escape(t)}*", limit // 2)
    lines = [head]
    lines += [_fit(n.text, lambda t: f":new: {mrkdwn_escape(t)}", limit) for n in story.new]
    lines += [
        _fit(
            u.text + _updated_suffix(u),
            lambda t: f":arrows_counterclockwise: {mrkdwn_escape(t)}",
            limit,
        )
        for u in story.updated
    ]
    lines += [
        _fit(path_text(u), lambda t: f":chart_with_upwards_trend: {mrkdwn_escape(t)}", limit)
        for u in story.updated
        if path_text(u)
    ]
    blocks = [_section(text) for text in pack(lines, limit, sep="\n")]
    notes = []
    if meta:
        notes.append(mrkdwn_escape(meta))
    if story.repeated:
        notes.append(mrkdwn_escape(story.repeated.line()))
    if story.omitted_claims:
        notes.append(f"+{story.omitted_claims} more new/updated claims not shown")
    if notes:
        blocks.append(_context(notes))
    return blocks


def _slack_header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, SLACK_HEADER_LIMIT), "emoji": True},
    }


def render_slack(digest: Digest) -> list[dict[str, Any]]:
    """``chat.postMessage`` payloads (``text`` fallback + ``blocks``), each within Slack's limits.

    A digest too long for one message is split between stories into several messages.
    """
    fallback = f"{heading(digest)}: {totals_line(digest)}"
    if digest.is_empty:
        return [
            {"text": digest.empty_line(), "blocks": [_section(mrkdwn_escape(digest.empty_line()))]}
        ]
    units: list[list[dict[str, Any]]] = [[_section(mrkdwn_escape(totals_line(digest)))]]
    for group in digest.groups:
        unit: list[dict[str, Any]] = [{"type": "divider"}]
        if group.show_header:
            unit.append(
                _section(
                    _fit(group.title, lambda t: f"*:pushpin: {mrkdwn_escape(t)}*", SLACK_TEXT_LIMIT)
                )
            )
        units.append(unit)
        units.extend(_slack_story(story) for story in group.stories)
    tail = [mrkdwn_escape(line) for line in (omitted_line(digest), sources_line(digest)) if line]
    if tail:
        units.append([_context([_fit(t, lambda x: x, SLACK_TEXT_LIMIT) for t in tail])])

    messages: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = [_slack_header(heading(digest))]
    for unit in units:
        if len(blocks) + len(unit) > SLACK_MAX_BLOCKS:
            messages.append({"text": fallback, "blocks": blocks})
            blocks = [_slack_header(f"{digest.title} (continued)")]
        blocks.extend(unit)
    messages.append({"text": fallback, "blocks": blocks})
    return messages


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
        return "\n\n—— message break ——\n\n".join(render_telegram(digest))
    return json.dumps(render_slack(digest), ensure_ascii=False, indent=2)


def platform_messages(digest: Digest, platform: str) -> list[dict[str, Any]]:
    """The messages an outbox row carries for ``platform``, one dict per platform send."""
    if platform == "telegram":
        return [{"text": text, "parse_mode": "HTML"} for text in render_telegram(digest)]
    if platform == "slack":
        return render_slack(digest)
    return [{"text": render_text(digest)}]
