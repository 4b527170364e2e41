"""Plain data passed between extraction, retrieval and judgment (no I/O, no ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Status = Literal["new", "repeated", "updated"]
Precision = Literal["day", "month", "year"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with its normalised unit ("km", "containers", "rounds", "mm", "days", ...)."""

    value: float
    unit: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quantity:
        return cls(value=float(data["value"]), unit=str(data["unit"]), text=str(data["text"]))


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
