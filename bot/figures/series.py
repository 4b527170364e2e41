"""Figure series: how one running figure moved, from whom and when, built from stored claims.

Pure functions over plain rows (``storage.figures.FigureRow`` or anything shaped like it). A
figure joins a series when the judge linked its claim to an earlier one (repeated or updated)
and both count the same thing, or when two figures carry the same specific key: what is counted
and what it holds or where it went, and the baseline ("since mid-2022"). The reporting source is
not part of the key: competing estimates of one figure stay distinct points of one series.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rapidfuzz import fuzz, process

from bot.claims import figure_words as fw
from bot.claims.figures import format_figure
from bot.claims.types import Attributes, Quantity

__all__ = [
    "Point",
    "Series",
    "SeriesKey",
    "build_series",
    "find_series",
    "first_reports",
    "path_line",
    "series_of_claim",
]

# sizes, ranges and durations describe one thing; they are not running totals
UNTRACKED = frozenset(
    {"km", "mm", "m", "cm", "miles", "kg", "days", "weeks", "months", "years", "hours"}
)
_LINKED = ("repeated", "updated")
MAX_RATIO = 20.0  # a linked figure further off than this is another count, not an update


class FigureRowLike(Protocol):
    @property
    def claim_id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def attrs(self) -> dict[str, Any]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def matched_claim_id(self) -> int | None: ...
    @property
    def root_claim_id(self) -> int | None: ...
    @property
    def published(self) -> datetime | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What a series counts: unit, what it holds, where it went, since when."""

    unit: str
    obj: str = ""
    dest: str = ""
    since: str = ""

    @property
    def specific(self) -> bool:
        return bool(self.obj or self.dest)

    def compatible(self, other: SeriesKey) -> bool:
        """Same unit, and every other field equal or unstated on one side."""
        if self.unit != other.unit:
            return False
        pairs = ((self.obj, other.obj), (self.dest, other.dest), (self.since, other.since))
        return all(not a or not b or a == b for a, b in pairs)

    @property
    def name(self) -> str:
        parts = [self.unit]
        if self.obj:
            parts.append(f"of {self.obj}")
        if self.dest:
            parts.append(f"to {_title(self.dest)}")
        if self.since:
            parts.append(self.since)
        return " ".join(parts)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


def _title(place: str) -> str:
    return " ".join(w if w.isupper() else w.capitalize() for w in place.split())


@dataclass(frozen=True, slots=True)
class Point:
    """One report of the figure: the value (or range) a source gave, in its story's date."""

    claim_id: int
    published: datetime | None
    source: str
    url: str | None
    text: str
    figure: Quantity
    verdict: str

    @property
    def value(self) -> float:
        return self.figure.value

    @property
    def low(self) -> float:
        return (
            self.figure.low if self.figure.is_range and self.figure.low is not None else self.value
        )

    @property
    def high(self) -> float:
        return (
            self.figure.high
            if self.figure.is_range and self.figure.high is not None
            else self.value
        )

    @property
    def shown(self) -> str:
        return format_figure(self.figure)


@dataclass(frozen=True, slots=True)
class Series:
    key: SeriesKey
    points: tuple[Point, ...]  # in publication order

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def slug(self) -> str:
        return self.key.slug

    @property
    def latest(self) -> Point:
        return self.points[-1]

    @property
    def previous(self) -> Point | None:
        """The last earlier point with another value: what the latest one changed."""
        for point in reversed(self.points[:-1]):
            if (point.low, point.high) != (self.latest.low, self.latest.high):
                return point
        return None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.source for p in self.points))

    def change(self) -> str:
        """ "5,000 → 6,700 (+1,700)", or "unchanged"."""
        prev = self.previous
        if prev is None:
            return "unchanged"
        delta = self.latest.value - prev.value
        sign = "+" if delta > 0 else "−"
        return f"{prev.shown} → {self.latest.shown} ({sign}{abs(delta):,.0f})"


# ------------------------------------------------------------------------------ building


@dataclass(slots=True)
class _Node:
    row: FigureRowLike
    key: SeriesKey
    figures: list[Quantity]


def _nodes(rows: Iterable[FigureRowLike]) -> dict[tuple[int, str], _Node]:
    nodes: dict[tuple[int, str], _Node] = {}
    for row in rows:
        by_unit: dict[str, list[Quantity]] = {}
        for q in Attributes.from_json(row.attrs).quantities:
            if q.unit not in UNTRACKED:
                by_unit.setdefault(q.unit, []).append(q)
        for unit, qs in by_unit.items():
            key = SeriesKey(
                unit=unit,
                obj=next((q.obj for q in qs if q.obj), ""),
                dest=next((q.dest for q in qs if q.dest), ""),
                since=next((q.since for q in qs if q.since), ""),
            )
            nodes[(row.claim_id, unit)] = _Node(row=row, key=key, figures=qs)
    return nodes


class _Union:
    def __init__(self) -> None:
        self.parent: dict[tuple[int, str], tuple[int, str]] = {}

    def find(self, x: tuple[int, str]) -> tuple[int, str]:
        root = self.parent.setdefault(x, x)
        while root != self.parent[root]:
            root = self.parent[root]
        self.parent[x] = root
        return root

    def join(self, a: tuple[int, str], b: tuple[int, str]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _merged_key(nodes: Sequence[_Node]) -> SeriesKey:
    def most(field: str) -> str:
        # a baseline names the series only when most reports state it
        votes = Counter(
            getattr(n.key, field) for n in nodes if getattr(n.key, field) or field == "since"
        )
        return votes.most_common(1)[0][0] if votes else ""

    return SeriesKey(
        unit=nodes[0].key.unit, obj=most("obj"), dest=most("dest"), since=most("since")
    )


def _stamp(when: datetime | None) -> float:
    """Sort key: undated reports last."""
    return when.timestamp() if when is not None else float("inf")


def _points(nodes: Sequence[_Node]) -> tuple[Point, ...]:
    ordered = sorted(nodes, key=lambda n: (_stamp(n.row.published), n.row.claim_id))
    points: list[Point] = []
    for node in ordered:
        figure = node.figures[-1]
        if len(node.figures) > 1 and points:
            # "up from 5,000 to 6,700": the figure the earlier points do not hold yet is the news
            seen = {p.value for p in points}
            figure = next((q for q in node.figures if q.value not in seen), figure)
        row = node.row
        points.append(
            Point(
                claim_id=row.claim_id,
                published=row.published,
                source=row.source or "unknown source",
                url=row.url,
                text=row.text,
                figure=figure,
                verdict=row.verdict,
            )
        )
    return tuple(points)


def _plausible(a: _Node, b: _Node) -> bool:
    """Linked figures of one running total stay within a factor of ``MAX_RATIO`` of each other."""
    return any(
        min(x.value, y.value) > 0 and max(x.value, y.value) <= MAX_RATIO * min(x.value, y.value)
        for x in a.figures
        for y in b.figures
    )


def _join_keys(nodes: dict[tuple[int, str], _Node], union: _Union) -> None:
    """Figures with the same specific key join, baseline by baseline; figures that state no
    baseline join the most reported one ("13,000 since mid-2022" and "10,000" are one count)."""
    buckets: dict[tuple[str, str, str], dict[str, list[tuple[int, str]]]] = {}
    for ident, node in nodes.items():
        if node.key.specific:
            where = (node.key.unit, node.key.obj, node.key.dest)
            buckets.setdefault(where, {}).setdefault(node.key.since, []).append(ident)
    for by_since in buckets.values():
        for ids in by_since.values():
            for ident in ids[1:]:
                union.join(ids[0], ident)
        dated = [ids for since, ids in by_since.items() if since]
        if "" in by_since and dated:
            union.join(by_since[""][0], max(dated, key=len)[0])


def build_series(rows: Iterable[FigureRowLike], *, min_points: int = 2) -> list[Series]:
    """Series of at least ``min_points`` claims, most recently moved first."""
    nodes = _nodes(rows)
    union = _Union()
    for (cid, unit), node in nodes.items():
        union.find((cid, unit))
        if node.row.verdict in _LINKED:
            for other in (node.row.matched_claim_id, node.row.root_claim_id):
                target = nodes.get((other, unit)) if other is not None else None
                if (
                    target is not None
                    and node.key.compatible(target.key)
                    and _plausible(node, target)
                ):
                    union.join((cid, unit), (other, unit))  # type: ignore[arg-type]
    _join_keys(nodes, union)
    groups: dict[tuple[int, str], list[_Node]] = {}
    for ident, node in nodes.items():
        groups.setdefault(union.find(ident), []).append(node)
    out = [
        Series(key=_merged_key(group), points=_points(group))
        for group in groups.values()
        if len(group) >= min_points
    ]
    out.sort(key=lambda s: _stamp(s.latest.published), reverse=True)
    return out


# ------------------------------------------------------------------------------ lookups


def find_series(series: Sequence[Series], query: str, *, cutoff: float = 60.0) -> Series | None:
    """The series a user means by ``query``: its slug, else the best fuzzy match on its name.

    Query words are read like figures ("soldiers" is troops, "shells" rounds), and a query that
    names a counted thing only matches series of that thing.
    """
    words = [w.lower() for w in re.findall(r"[A-Za-z%$]+", query)]
    wanted = " ".join(fw.CARGO.get(w) or fw.UNIT_OF.get(w) or w for w in words)
    if not wanted or not series:
        return None
    for s in series:
        if query.strip().lower() in (s.slug, s.name.lower()):
            return s
    units = {fw.UNIT_OF[w] for w in words if w in fw.UNIT_OF}
    pool = [s for s in series if not units or s.key.unit in units]
    names = [s.name.lower() for s in pool]
    best = process.extractOne(wanted, names, scorer=fuzz.WRatio, score_cutoff=cutoff)
    return pool[best[2]] if best is not None else None


def series_of_claim(series: Sequence[Series], claim_id: int) -> Series | None:
    for s in series:
        if any(p.claim_id == claim_id for p in s.points):
            return s
    return None


def first_reports(points: Sequence[Point]) -> list[Point]:
    """The points that brought a value (or range) not reported before in the series."""
    seen: set[tuple[float, float]] = set()
    out: list[Point] = []
    for p in points:
        if (p.low, p.high) not in seen:
            seen.add((p.low, p.high))
            out.append(p)
    return out


def _month(when: datetime | None) -> str:
    return when.strftime("%b %Y") if when is not None else "undated"


def path_line(series: Series, *, max_steps: int = 6, until_claim: int | None = None) -> str:
    """ "containers of munitions to Russia: 1,000 (Oct 2023) → 5,000 (Dec 2023) → ..."

    Each value is one step, when first reported (a later story restating it adds none); the
    oldest steps go first when there are too many.
    ``until_claim`` ends the path at that claim's report (a digest shows what was known then).
    """
    points = list(series.points)
    ids = [p.claim_id for p in points]
    if until_claim in ids:
        points = points[: ids.index(until_claim) + 1]
    steps = [f"{p.shown} ({_month(p.published)})" for p in first_reports(points)]
    if len(steps) > max_steps:
        steps = ["…", *steps[-max_steps:]]
    return f"{series.name}: " + " → ".join(steps)
