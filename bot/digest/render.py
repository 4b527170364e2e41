"""Renderers: one ``Digest`` to plain text, Markdown and Telegram HTML (Slack: ``chat``).

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
from urllib.parse import urlsplit

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
RESERVED_REPEAT_LINES = 3  # repeated facts per story a Telegram message keeps room for
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


def day(value: datetime | None) -> str:
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
    when = f", {day(ref.published)}" if ref.published else ""
    return f"earlier: {ref.name}{when}"


def story_meta(story: StoryDigest) -> str:
    bits = [b for b in (story.outlet, day(story.published)) if b]
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


def repeat_line(
    line: RepeatLine, *, escape: Callable[[str], str], link: Callable[[str, str | None], str]
) -> str:
    """One repeated fact in a format: the claim, then its first report (outlet linked)."""
    first = line.first
    text = escape(line.text)
    if first is None:
        return text
    when = f" {day(first.published)}" if first.published else ""
    return f"{text} — first reported{when} by {link(first.name, first.url)}"


def path_text(line: UpdatedLine) -> str:
    """The figure's path so far and where its chart is, or "" when it has no series."""
    if not line.path:
        return ""
    return f"{line.path} (chart: /track {line.series})" if line.series else line.path


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
            for line in story.updated:
                out.append(f"  UPDATED: {line.text}{updated_suffix(line)}")
                out.extend(f"    {text}" for text in (path_text(line),) if text)
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


def _md_story(story: StoryDigest, level: int) -> list[str]:
    out = ["", f"{'#' * level} {_md_link(story.title, story.url)}"]
    meta = story_meta(story)
    if meta:
        out.append(f"*{md_escape(meta)}*")
    out.append("")
    out.extend(f"- **New:** {md_escape(line.text)}" for line in story.new)
    for line in story.updated:
        out.append(f"- **Updated:** {md_escape(line.text + updated_suffix(line))}")
        out.extend(f"  - {md_escape(text)}" for text in (path_text(line),) if text)
    if story.omitted_claims:
        out.append(f"- {md_escape(f'(+{story.omitted_claims} more new/updated claims not shown)')}")
    if story.repeated:
        out.append(f"- _{md_escape(story.repeated.line())}_")
        out.extend(
            f"  - {repeat_line(line, escape=md_escape, link=_md_link)}"
            for line in story.repeated.lines
        )
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


def fit(raw: str, render: Callable[[str], str], limit: int) -> str:
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
        head = fit(story.title, lambda t: f"<b>{h(t)}</b>", limit)
    lines = [head]
    lines += [fit(line.text, lambda t: f"🆕 {h(t)}", limit) for line in story.new]
    for up in story.updated:
        suffix = updated_suffix(up)
        lines.append(fit(up.text + suffix, lambda t: f"🔄 {h(t)}", limit))
        if path_text(up):
            lines.append(fit(path_text(up), lambda t: f"📈 {h(t)}", limit))
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
            paras.append(_Para(fit(group.title, lambda t: f"<b>📌 {h(t)}</b>", limit)))
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


def _shown(para: _Para, most: int) -> str:
    """The paragraph with up to ``most`` of its story's repeated facts under it."""
    summary = para.repeats
    if summary is None:
        return para.text
    lines = [
        f"    ◦ {repeat_line(line, escape=h, link=_html_link)}" for line in summary.lines[:most]
    ]
    hidden = summary.count - len(lines)
    if hidden:
        lines.append(f"    <i>(+{hidden} more)</i>")
    return "\n".join([para.text, *lines])


def _reserved(para: _Para, limit: int) -> str:
    """The paragraph as packing sees it: with room for its first few repeated facts, so a
    message that is expanded later can always show some of them."""
    for most in range(RESERVED_REPEAT_LINES, 0, -1):
        shown = _shown(para, most)
        if len(shown) <= limit:
            return shown
    return para.text


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
    for index, group in enumerate(pack_groups([_reserved(p, limit) for p in paras], limit)):
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
    from bot.digest.payloads import render_slack  # noqa: PLC0415 - the Slack renderer imports this

    return json.dumps(render_slack(digest), ensure_ascii=False, indent=2)
