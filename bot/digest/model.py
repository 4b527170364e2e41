"""The digest model: plain data in, one platform-free ``Digest`` out (no I/O, no ORM objects).

Every renderer (Telegram HTML, Slack Block Kit, text, Markdown) reads the same ``Digest``, so the
facts a subscriber sees cannot drift between platforms.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Verdict = Literal["new", "repeated", "updated"]


# --------------------------------------------------------------------------------------------
# Input


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an earlier claim came from: enough to name and link it."""

    claim_id: int
    text: str
    outlet: str | None = None
    title: str | None = None
    url: str | None = None
    published: datetime | None = None

    @property
    def name(self) -> str:
        """The outlet, or the story title when the outlet is unknown."""
        return self.outlet or self.title or f"claim #{self.claim_id}"


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A figure that differs from the matched claim."""

    what: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """One claim of a story with its verdict and the provenance the claim engine found."""

    claim_id: int
    position: int
    text: str
    verdict: Verdict
    score: float | None = None
    changes: tuple[ChangeRecord, ...] = ()
    matched: SourceRef | None = None  # the claim it was judged against
    first_reported: SourceRef | None = None  # the earliest claim of the same fact
    seen_in: frozenset[str] = frozenset()  # the distinct outlets that carried the fact
    event_id: int | None = None
    path: str | None = None  # the figure's series up to this claim: "containers ...: 1,000 → ..."
    series: str | None = None  # that series' slug, for "/track SLUG"


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One story (article) in the window, with its claims."""

    article_id: int
    title: str
    url: str | None
    outlet: str | None
    published: datetime | None
    seen_at: datetime
    claims: tuple[ClaimRecord, ...] = ()
    event_id: int | None = None
    event_title: str | None = None
    relevance: float = 0.0
    also_in: tuple[str, ...] = ()  # other outlets that carried the same story


@dataclass(frozen=True, slots=True)
class DigestLimits:
    """Caps that keep a digest readable; what they cut is counted, never silently dropped."""

    max_stories: int = 12
    max_claims_per_story: int = 6  # new + updated lines per story
    max_claim_lines: int = 40  # new + updated lines in the whole digest
    max_claim_chars: int = 600
    max_title_chars: int = 160
    max_repeat_lines: int = 10  # repeated facts listed per story (behind a button in chats)
    max_repeat_chars: int = 140  # one repeated fact, shortened to a glanceable line


# --------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True, slots=True)
class NewLine:
    text: str
    url: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class UpdatedLine:
    text: str
    url: str | None
    changes: tuple[ChangeRecord, ...]
    earlier: SourceRef | None  # the claim whose figure changed
    path: str | None = None  # how the figure moved so far (its series), when it has one
    series: str | None = None  # the series' slug: its chart is "/track SLUG"


@dataclass(frozen=True, slots=True)
class RepeatLine:
    """One repeated fact: the story's claim, shortened, and where the fact was first reported.

    It lets a reader check the summary line: a repeat of a different happening shows at once.
    """

    text: str
    first: SourceRef | None

    def provenance(self) -> str:
        """``first reported 2023-07-13 by Pyongyang Desk`` (empty when unknown)."""
        first = self.first
        if first is None:
            return ""
        when = f" {first.published.date().isoformat()}" if first.published else ""
        return f"first reported{when} by {first.name}"

    def plain(self) -> str:
        """The line as plain text, without the link."""
        tail = self.provenance()
        return f"{self.text} — {tail}" if tail else self.text


@dataclass(frozen=True, slots=True)
class RepeatSummary:
    """All repeated claims of one story: one summary line, and one short line per fact."""

    count: int
    first_reported: SourceRef | None
    sources: int  # distinct outlets that carried these facts (this story's included)
    lines: tuple[RepeatLine, ...] = ()  # at most ``DigestLimits.max_repeat_lines``

    @property
    def hidden_lines(self) -> int:
        """Repeated facts beyond the listed lines."""
        return self.count - len(self.lines)

    def line(self) -> str:
        """The sentence as a line of its own (first letter capitalised, names untouched)."""
        text = self.sentence()
        return text[:1].upper() + text[1:]

    def sentence(self) -> str:
        noun = "claim" if self.count == 1 else "claims"
        parts = [f"repeats {self.count} earlier {noun}"]
        first = self.first_reported
        if first is not None:
            when = f" {first.published.date().isoformat()}" if first.published else ""
            parts.append(f", first reported{when} by {first.name}")
        if self.sources > 1:
            parts.append(f"; seen in {self.sources} sources")
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class StoryDigest:
    article_id: int
    title: str
    url: str | None
    outlet: str | None
    published: datetime | None
    new: tuple[NewLine, ...]
    updated: tuple[UpdatedLine, ...]
    repeated: RepeatSummary | None
    omitted_claims: int  # new/updated lines cut by the caps
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventGroup:
    event_id: int | None
    title: str
    stories: tuple[StoryDigest, ...]

    @property
    def show_header(self) -> bool:
        """An event heading only where it gathers several stories (else it repeats a claim)."""
        return self.event_id is not None and len(self.stories) > 1


@dataclass(frozen=True, slots=True)
class Totals:
    stories: int = 0
    new: int = 0
    updated: int = 0
    repeated: int = 0


@dataclass(frozen=True, slots=True)
class Digest:
    title: str
    since: datetime | None
    until: datetime
    groups: tuple[EventGroup, ...]
    totals: Totals
    omitted_stories: int = 0
    omitted_claims: int = 0  # new/updated lines left out (in shown and omitted stories)
    article_ids: tuple[int, ...] = field(default=())  # every story the digest covers

    @property
    def is_empty(self) -> bool:
        return self.totals.stories == 0

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct outlets of the shown stories, in order of appearance."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for story in group.stories:
                for name in (story.outlet, *story.also_in):
                    if name:
                        seen.setdefault(name, None)
        return tuple(seen)

    def empty_line(self) -> str:
        since = f" since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else ""
        return f"Nothing new{since}."


# --------------------------------------------------------------------------------------------
# Buttons of a sent digest

SHOW, HIDE = "dx", "dc"
_ACTION = re.compile(r"^(dx|dc):(\d{1,12})\.(\d{1,4})$")


@dataclass(frozen=True, slots=True)
class PartAction:
    """A pressed "Show repeated" / "Hide" button: which digest part, shown or hidden."""

    delivery_id: int
    part: int
    expand: bool


def action_data(delivery_id: int, part: int, *, expand: bool) -> str:
    """The button's data: at most 21 bytes, well under Telegram's 64."""
    return f"{SHOW if expand else HIDE}:{delivery_id}.{part}"


def parse_action(data: str) -> PartAction | None:
    """The action, or None when the data is not a digest button (or is malformed)."""
    found = _ACTION.match(data or "")
    if found is None:
        return None
    kind, delivery_id, part = found.groups()
    return PartAction(delivery_id=int(delivery_id), part=int(part), expand=kind == SHOW)


# --------------------------------------------------------------------------------------------
# Building


def clip(text: str, limit: int) -> str:
    """Shorten on a word boundary with an ellipsis; never returns more than ``limit`` chars."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def _earliest(refs: list[SourceRef]) -> SourceRef | None:
    dated = [r for r in refs if r.published is not None]
    if dated:
        return min(dated, key=lambda r: (r.published, r.claim_id))
    return min(refs, key=lambda r: r.claim_id) if refs else None


def _story_digest(story: StoryRecord, limits: DigestLimits, budget: int) -> tuple[StoryDigest, int]:
    """Build one story; returns it and how many new/updated lines it used of ``budget``."""
    claims = sorted(story.claims, key=lambda c: c.position)
    new = [c for c in claims if c.verdict == "new"]
    updated = [c for c in claims if c.verdict == "updated"]
    repeated = [c for c in claims if c.verdict == "repeated"]

    room = min(limits.max_claims_per_story, budget)
    new_lines = tuple(
        NewLine(clip(c.text, limits.max_claim_chars), story.url, story.outlet) for c in new[:room]
    )
    room -= len(new_lines)
    updated_lines = tuple(
        UpdatedLine(
            clip(c.text, limits.max_claim_chars),
            story.url,
            c.changes,
            c.matched,
            path=c.path,
            series=c.series,
        )
        for c in updated[: max(room, 0)]
    )
    used = len(new_lines) + len(updated_lines)

    summary = None
    if repeated:
        refs = [c.first_reported or c.matched for c in repeated]
        seen: set[str] = set()
        for c in repeated:
            seen |= c.seen_in
        summary = RepeatSummary(
            count=len(repeated),
            first_reported=_earliest([r for r in refs if r is not None]),
            sources=len(seen),
            lines=tuple(
                RepeatLine(clip(c.text, limits.max_repeat_chars), c.first_reported or c.matched)
                for c in repeated[: limits.max_repeat_lines]
            ),
        )
    digest = StoryDigest(
        article_id=story.article_id,
        title=story.title,
        url=story.url,
        outlet=story.outlet,
        published=story.published,
        new=new_lines,
        updated=updated_lines,
        repeated=summary,
        omitted_claims=len(new) + len(updated) - used,
        also_in=story.also_in,
    )
    return digest, used


def _rank(story: StoryRecord) -> tuple[int, int, float, int]:
    """New claims first, then updated, then newer stories."""
    counts = Counter(c.verdict for c in story.claims)
    when = (story.published or story.seen_at).timestamp()
    return (-counts["new"], -counts["updated"], -when, story.article_id)


def build_digest(
    stories: list[StoryRecord],
    *,
    since: datetime | None,
    until: datetime,
    title: str = "nkwatch digest",
    limits: DigestLimits | None = None,
) -> Digest:
    """Group stories by event and order them by what is new, within the caps in ``limits``."""
    limits = limits or DigestLimits()
    totals = Totals(
        stories=len(stories),
        new=sum(1 for s in stories for c in s.claims if c.verdict == "new"),
        updated=sum(1 for s in stories for c in s.claims if c.verdict == "updated"),
        repeated=sum(1 for s in stories for c in s.claims if c.verdict == "repeated"),
    )
    ranked = sorted(stories, key=_rank)
    shown = ranked[: limits.max_stories]
    cut = ranked[limits.max_stories :]
    omitted_claims = sum(1 for s in cut for c in s.claims if c.verdict in ("new", "updated"))

    # Groups keep the order of their best story; ungrouped stories stand alone.
    order: list[tuple[int | None, int]] = []
    members: dict[tuple[int | None, int], list[StoryRecord]] = {}
    for story in shown:
        key: tuple[int | None, int] = (
            (story.event_id, 0) if story.event_id is not None else (None, story.article_id)
        )
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(story)

    budget = limits.max_claim_lines
    groups: list[EventGroup] = []
    for key in order:
        built: list[StoryDigest] = []
        for story in members[key]:
            digest, used = _story_digest(story, limits, budget)
            budget -= used
            omitted_claims += digest.omitted_claims
            built.append(digest)
        first = members[key][0]
        name = first.event_title if key[0] is not None and first.event_title else first.title
        groups.append(
            EventGroup(
                event_id=key[0], title=clip(name, limits.max_title_chars), stories=tuple(built)
            )
        )

    return Digest(
        title=title,
        since=since,
        until=until,
        groups=tuple(groups),
        totals=totals,
        omitted_stories=len(cut),
        omitted_claims=omitted_claims,
        article_ids=tuple(sorted(s.article_id for s in stories)),
    )


def should_send(digest: Digest, *, send_empty: bool) -> bool:
    """An empty period is sent as a short "nothing new" line only if the chat asked for it."""
    return send_empty or not digest.is_empty
