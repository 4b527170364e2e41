"""A labelled news stream: load and check it, render it as RSS, score stored claims against it.

Pure: parsed data in, figures out. ``bot.claims.stream_run`` does the I/O (feeds served over
loopback HTTP, the real poll path, a fresh database) and hands the stored claims back here.
The format is documented in eval/streams/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from bot.errors import InputError

__all__ = [
    "GOLD",
    "PREDICTED",
    "StoredClaim",
    "Story",
    "StreamError",
    "StreamLabel",
    "StreamReport",
    "format_stream_report",
    "load_stream",
    "parse_labels",
    "parse_stories",
    "rss_feed",
    "score_stream",
]

Label = Literal["new", "repeated", "updated", "not_claim"]
GOLD: tuple[Label, ...] = ("new", "repeated", "updated", "not_claim")
PREDICTED: tuple[str, ...] = ("new", "repeated", "updated", "dropped")
KNOWN = frozenset({"repeated", "updated"})
MIN_COVERAGE = 0.5
_WORD = re.compile(r"\w+", re.UNICODE)
_SEED_REF = re.compile(r"^seed:\d{3}$")


class StreamError(InputError, ValueError):
    """The stream directory is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Story:
    id: str
    feed: str
    outlet: str
    title: str
    url: str
    published: datetime
    text: str


@dataclass(frozen=True, slots=True)
class StreamLabel:
    story: str
    text: str
    label: Label
    refs: tuple[str, ...] = ()
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """A claim the real path stored, mapped back to the stream.

    ``source`` is the story id or ``seed:NNN`` of the claim's article (None if neither);
    ``matched_source`` and ``matched_published`` describe the claim its verdict cites.
    """

    source: str | None
    text: str
    verdict: str
    published: datetime | None = None
    matched_source: str | None = None
    matched_published: datetime | None = None
    root_published: datetime | None = None


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    label: StreamLabel
    predicted: str  # a verdict, or "dropped" when no stored claim covers the label
    coverage: float
    claim_text: str | None
    matched_source: str | None


@dataclass
class StreamReport:
    labels: int
    claim_labels: int
    accuracy: float
    known_precision: float
    known_recall: float
    known_f1: float
    updated_recall: float
    updated_total: int
    non_claims_kept: int
    non_claims_total: int
    attribution: float
    attribution_total: int
    later_source: int
    judged_known: int
    confusion: dict[str, dict[str, int]]
    outcomes: list[LabelOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "outcomes"}
        data["non_claims_kept_share"] = _div(self.non_claims_kept, self.non_claims_total)
        data["errors"] = [
            {
                "story": o.label.story,
                "text": o.label.text,
                "gold": o.label.label,
                "refs": list(o.label.refs),
                "predicted": o.predicted,
                "matched": o.matched_source,
                "claim": o.claim_text,
                "coverage": round(o.coverage, 3),
            }
            for o in self.outcomes
            if not _correct(o)
        ]
        return data


# ------------------------------------------------------------------------------ loading


def _lines(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StreamError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise StreamError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise StreamError(f"{path.name} line {number}: expected an object")
        yield number, obj


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise StreamError(f"{where}: {key} must be a non-empty string")
    return value


def parse_stories(path: Path) -> list[Story]:
    stories: list[Story] = []
    seen: set[str] = set()
    for number, obj in _lines(path):
        where = f"{path.name} line {number}"
        sid = _text(obj, "id", where)
        if sid in seen or sid.startswith("seed:"):
            raise StreamError(f"{where}: story id {sid!r} is repeated or reserved")
        seen.add(sid)
        feed = _text(obj, "feed", where)
        if feed not in ("a", "b"):
            raise StreamError(f"{where}: feed must be 'a' or 'b'")
        try:
            published = datetime.fromisoformat(_text(obj, "published", where))
        except ValueError as exc:
            raise StreamError(f"{where}: published is not an ISO date") from exc
        if published.tzinfo is None:
            raise StreamError(f"{where}: published needs a time zone")
        stories.append(
            Story(
                id=sid,
                feed=feed,
                outlet=_text(obj, "outlet", where),
                title=_text(obj, "title", where),
                url=_text(obj, "url", where),
                published=published,
                text=_text(obj, "text", where),
            )
        )
    return stories


def parse_labels(path: Path, stories: Sequence[Story]) -> list[StreamLabel]:
    """Labels, checked against the stories: text is a substring of its story, refs exist."""
    by_id = {s.id: s for s in stories}
    labels: list[StreamLabel] = []
    for number, obj in _lines(path):
        where = f"{path.name} line {number}"
        story = by_id.get(_text(obj, "story", where))
        if story is None:
            raise StreamError(f"{where}: unknown story {obj.get('story')!r}")
        text = _text(obj, "text", where)
        if text not in story.text:
            raise StreamError(f"{where}: text is not part of story {story.id}")
        label = obj.get("label")
        if label not in GOLD:
            raise StreamError(f"{where}: label must be one of {', '.join(GOLD)}")
        refs = obj.get("refs", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise StreamError(f"{where}: refs must be a list of strings")
        if label in KNOWN and not refs:
            raise StreamError(f"{where}: a {label} label needs refs")
        for ref in refs:
            if ref not in by_id and not _SEED_REF.match(ref):
                raise StreamError(f"{where}: unknown ref {ref!r}")
        old, new = obj.get("old"), obj.get("new")
        labels.append(
            StreamLabel(
                story=story.id,
                text=text,
                label=label,
                refs=tuple(refs),
                old=str(old) if old is not None else None,
                new=str(new) if new is not None else None,
            )
        )
    return labels


def load_stream(directory: Path) -> tuple[list[Story], list[StreamLabel]]:
    stories = parse_stories(directory / "stories.jsonl")
    if not stories:
        raise StreamError(f"{directory}: stories.jsonl holds no story")
    return stories, parse_labels(directory / "labels.jsonl", stories)


# ------------------------------------------------------------------------------ RSS


def rss_feed(stories: Sequence[Story], *, feed: str, title: str) -> bytes:
    """An RSS 2.0 document of one feed's stories, newest first, full text in content:encoded."""
    items = sorted((s for s in stories if s.feed == feed), key=lambda s: s.published, reverse=True)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{escape(title)}</title><link>https://news.example/</link>",
        f"<description>{escape(title)}</description>",
    ]
    for story in items:
        paragraphs = [p for p in story.text.split("\n\n") if p.strip()]
        html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        parts.append(
            "<item>"
            f"<title>{escape(story.title)}</title>"
            f"<link>{escape(story.url)}</link>"
            f'<guid isPermaLink="true">{escape(story.url)}</guid>'
            f"<pubDate>{format_datetime(story.published)}</pubDate>"
            f'<source url="https://news.example/">{escape(story.outlet)}</source>'
            f"<description>{escape(paragraphs[0][:300])}</description>"
            f"<content:encoded>{escape(html)}</content:encoded>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


# ------------------------------------------------------------------------------ scoring


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _correct(o: LabelOutcome) -> bool:
    gold = o.label.label
    return o.predicted == ("dropped" if gold == "not_claim" else gold)


def _match(label: StreamLabel, claims: Sequence[StoredClaim]) -> tuple[StoredClaim | None, float]:
    """The claim covering most of the label's words (ties: the shorter claim)."""
    words = _words(label.text)
    best: StoredClaim | None = None
    best_key = (0.0, 0)
    for claim in claims:
        coverage = _div(len(words & _words(claim.text)), len(words))
        key = (coverage, -len(claim.text))
        if best is None or key > best_key:
            best, best_key = claim, key
    return best, best_key[0]


def score_stream(
    labels: Sequence[StreamLabel],
    claims: Sequence[StoredClaim],
    *,
    min_coverage: float = MIN_COVERAGE,
) -> StreamReport:
    """Score each label by the stored claim of its story that covers it best.

    A label no claim covers to ``min_coverage`` is *dropped* (predicted not a claim). Accuracy
    is over claim labels (a dropped claim is wrong); known = repeated or updated, over all
    labels; non-claims kept = not_claim labels some stored claim covers; attribution = known
    labels judged known whose matched claim comes from a story or seed in refs; later source =
    stored non-new claims (labelled or not) whose matched claim or first report (root) was
    published after them.
    """
    by_story: dict[str, list[StoredClaim]] = {}
    for claim in claims:
        if claim.source is not None:
            by_story.setdefault(claim.source, []).append(claim)
    confusion: dict[str, dict[str, int]] = {g: dict.fromkeys(PREDICTED, 0) for g in GOLD}
    outcomes: list[LabelOutcome] = []
    tp = fp = fn = attributed = 0
    for label in labels:
        best, coverage = _match(label, by_story.get(label.story, []))
        kept = best if best is not None and coverage >= min_coverage else None
        predicted = kept.verdict if kept is not None else "dropped"
        matched = kept.matched_source if kept is not None else None
        text = kept.text if kept is not None else None
        outcomes.append(LabelOutcome(label, predicted, coverage, text, matched))
        confusion[label.label][predicted if predicted in PREDICTED else "new"] += 1
        gold_known, pred_known = label.label in KNOWN, predicted in KNOWN
        tp += gold_known and pred_known
        fp += pred_known and not gold_known
        fn += gold_known and not pred_known
        attributed += gold_known and pred_known and matched in label.refs
    claim_labels = [o for o in outcomes if o.label.label != "not_claim"]
    precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
    updated = [o for o in outcomes if o.label.label == "updated"]
    non_claims = [o for o in outcomes if o.label.label == "not_claim"]
    judged_known = [c for c in claims if c.verdict != "new"]
    later = sum(
        1
        for c in judged_known
        if c.published
        and any(t is not None and t > c.published for t in (c.matched_published, c.root_published))
    )
    return StreamReport(
        labels=len(outcomes),
        claim_labels=len(claim_labels),
        accuracy=_div(sum(_correct(o) for o in claim_labels), len(claim_labels)),
        known_precision=precision,
        known_recall=recall,
        known_f1=_div(2 * precision * recall, precision + recall),
        updated_recall=_div(sum(o.predicted == "updated" for o in updated), len(updated)),
        updated_total=len(updated),
        non_claims_kept=sum(o.predicted != "dropped" for o in non_claims),
        non_claims_total=len(non_claims),
        attribution=_div(attributed, tp),
        attribution_total=tp,
        later_source=later,
        judged_known=len(judged_known),
        confusion=confusion,
        outcomes=outcomes,
    )


def format_stream_report(report: StreamReport, *, show_errors: bool = True) -> str:
    kept_share = _div(report.non_claims_kept, report.non_claims_total)
    lines = [
        f"labels: {report.labels} ({report.claim_labels} claims, "
        f"{report.non_claims_total} not claims)",
        "",
        f"accuracy over claims      {report.accuracy:.3f}",
        f"known precision           {report.known_precision:.3f}",
        f"known recall              {report.known_recall:.3f}",
        f"known F1                  {report.known_f1:.3f}",
        f"updated recall            {report.updated_recall:.3f} (of {report.updated_total})",
        f"non-claims kept           {report.non_claims_kept} of {report.non_claims_total} "
        f"({kept_share:.0%})",
        f"attribution               {report.attribution:.3f} "
        f"(of {report.attribution_total} known found)",
        f"verdicts citing later     {report.later_source} of {report.judged_known} "
        "stored repeated/updated claims",
        "",
        "confusion (rows gold, columns predicted)",
        f"{'':<10}" + "".join(f"{p:>10}" for p in PREDICTED),
    ]
    for gold in GOLD:
        lines.append(f"{gold:<10}" + "".join(f"{report.confusion[gold][p]:>10}" for p in PREDICTED))
    wrong = [o for o in report.outcomes if not _correct(o)]
    if show_errors and wrong:
        lines += ["", "misjudged:"]
        for o in wrong:
            refs = ",".join(o.label.refs) or "-"
            lines.append(
                f"  {o.label.story} gold={o.label.label}[{refs}] "
                f"predicted={o.predicted}[{o.matched_source or '-'}] {o.label.text[:140]}"
            )
    return "\n".join(lines)
