"""Plain data passed between extraction, retrieval and judgment (no I/O, no ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Status = Literal["new", "repeated", "updated"]
Precision = Literal["day", "month", "year"]


# Unit names written before figures.py normalised counted things to plural general names.
_LEGACY_UNITS = {
    "container": "containers",
    "round": "rounds",
    "troop": "troops",
    "t": "tons",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
    "hour": "hours",
    "factory": "factories",
    "vehicle": "vehicles",
    "drone": "drones",
    "person": "people",
    "test": "tests",
    "mi": "miles",
}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure: value with its normalised unit ("containers", "rounds", "km", "percent", ...).

    ``value`` is the stated number, or the lower bound of a range ("10,000-12,000", "tens of
    thousands"), so figures compare on what is certain; ``low``/``high`` keep the range.
    ``qualifier`` is the hedge ("about", "more than", "up to", "at least", "fewer than",
    "nearly"); ``obj`` what the unit holds ("containers of munitions" -> "munitions"); ``dest``
    where it went ("to Russia" -> "russia"); ``since`` the baseline ("since mid-2022"). The
    optional fields default to empty so rows stored before them still load.
    """

    value: float
    unit: str
    text: str
    low: float | None = None
    high: float | None = None
    qualifier: str = ""
    obj: str = ""
    dest: str = ""
    since: str = ""

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None and self.high > self.low

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit, "text": self.text}
        if self.low is not None:
            out["low"] = self.low
        if self.high is not None:
            out["high"] = self.high
        for key in ("qualifier", "obj", "dest", "since"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quantity:
        unit = str(data["unit"])
        low, high = data.get("low"), data.get("high")
        return cls(
            value=float(data["value"]),
            unit=_LEGACY_UNITS.get(unit, unit),
            text=str(data["text"]),
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            qualifier=str(data.get("qualifier", "")),
            obj=str(data.get("obj", "")),
            dest=str(data.get("dest", "")),
            since=str(data.get("since", "")),
        )


@dataclass(frozen=True, slots=True)
class DateRef:
    """A date or range resolved against the article's publication time."""

    start: date
    end: date
    text: str
    precision: Precision = "day"

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "text": self.text,
            "precision": self.precision,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DateRef:
        return cls(
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            text=str(data["text"]),
            precision=data.get("precision", "day"),
        )


@dataclass(frozen=True, slots=True)
class StoryContext:
    """The happening a story reports (from its headline and lead), shared by all its claims.

    A generic sentence ("Kim watched the launch, state media said") is a fact about its own
    story's happening; the judge compares contexts so it matches only within the same one.
    """

    published: date
    weapons: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "published": self.published.isoformat(),
            "weapons": list(self.weapons),
            "places": list(self.places),
            "actors": list(self.actors),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> StoryContext | None:
        if not data or "published" not in data:
            return None
        return cls(
            published=date.fromisoformat(data["published"]),
            weapons=tuple(data.get("weapons", ())),
            places=tuple(data.get("places", ())),
            actors=tuple(data.get("actors", ())),
        )


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a claim is about, normalised so paraphrases compare equal."""

    actors: tuple[str, ...] = ()
    weapons: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    dates: tuple[DateRef, ...] = ()
    story: StoryContext | None = None  # the story's happening; None for lone claims

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "actors": list(self.actors),
            "weapons": list(self.weapons),
            "places": list(self.places),
            "quantities": [q.to_json() for q in self.quantities],
            "dates": [d.to_json() for d in self.dates],
        }
        if self.story is not None:
            out["story"] = self.story.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Attributes:
        if not data:
            return cls()
        return cls(
            actors=tuple(data.get("actors", ())),
            weapons=tuple(data.get("weapons", ())),
            places=tuple(data.get("places", ())),
            quantities=tuple(Quantity.from_json(q) for q in data.get("quantities", ())),
            dates=tuple(DateRef.from_json(d) for d in data.get("dates", ())),
            story=StoryContext.from_json(data.get("story")),
        )


@dataclass(frozen=True, slots=True)
class ExtractedClaim:
    """One fact of an article: a sentence, or one fact unit of it, in article order.

    ``sentence`` is the whole sentence when the claim is one of several facts it carries.
    """

    text: str
    position: int
    attrs: Attributes = field(default_factory=Attributes)
    sentence: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored claim offered to the judge by retrieval, with its provenance."""

    claim_id: int
    text: str
    attrs: Attributes
    lexical: float = 0.0  # retrieval's lexical score, normalised to 0..1
    semantic: float | None = None  # cosine similarity when the semantic model is on
    article_id: int | None = None
    article_title: str | None = None
    source: str | None = None  # outlet, or the import's source
    published: datetime | None = None
    url: str | None = None  # "seed:<file>" for seed articles
    event_id: int | None = None
    root_claim_id: int | None = None  # first-seen claim of the same fact, if known


@dataclass(frozen=True, slots=True)
class Change:
    """A figure or date that differs from the matched claim: ``what`` old -> new."""

    what: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Match:
    candidate: Candidate
    score: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgment of one claim; explains itself through matches, changes and a sentence."""

    status: Status
    score: float
    matches: tuple[Match, ...] = ()
    changed: tuple[Change, ...] = ()
    explanation: str = ""
