from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.digest.model import ChangeRecord, ClaimRecord, SourceRef, StoryRecord

WSJ = SourceRef(
    claim_id=1,
    text="Kim toured a munitions factory.",
    outlet="The Wall Street Journal",
    title="Kim Jong Un Touts North Korea’s Weapons",
    url="https://www.wsj.com/kim",
    published=datetime(2023, 8, 7, 12, tzinfo=UTC),
)
AP = SourceRef(
    claim_id=2,
    text="The missile has a range of 1,000 km.",
    outlet="Associated Press",
    title="Missile surge",
    url="https://apnews.com/surge",
    published=datetime(2023, 8, 14, tzinfo=UTC),
)


def claim(cid: int, verdict: str, text: str, **kw: object) -> ClaimRecord:
    return ClaimRecord(claim_id=cid, position=cid, text=text, verdict=verdict, **kw)  # type: ignore[arg-type]


@pytest.fixture
def stories() -> list[StoryRecord]:
    """Three stories: two about one event (one hostile), one on its own with only repeats."""
    seen = datetime(2026, 11, 19, 10, tzinfo=UTC)
    return [
        StoryRecord(
            article_id=10,
            title="Repeats only",
            url="https://example.org/old-news",
            outlet="Daily Echo",
            published=datetime(2026, 11, 19, 9, tzinfo=UTC),
            seen_at=seen,
            claims=(
                claim(
                    101,
                    "repeated",
                    "Kim toured a munitions factory.",
                    matched=WSJ,
                    first_reported=WSJ,
                    seen_in=frozenset({"outlet:wsj", "outlet:echo"}),
                ),
                claim(
                    102,
                    "repeated",
                    "Kim inspected shells.",
                    matched=WSJ,
                    first_reported=WSJ,
                    seen_in=frozenset({"outlet:wsj", "outlet:ap", "outlet:echo"}),
                ),
            ),
        ),
        StoryRecord(
            article_id=11,
            title="Missile range grows <b>bold</b> & more",
            url="https://example.org/range?a=1&b=<2>",
            outlet="NK Pro",
            published=datetime(2026, 11, 19, 8, tzinfo=UTC),
            seen_at=seen,
            event_id=7,
            event_title="Missile factory visit",
            claims=(
                claim(111, "new", "Factory output doubled to 200 <launchers> & *more*."),
                claim(
                    112,
                    "updated",
                    "The missile has a range of 1,500 km.",
                    matched=AP,
                    changes=(ChangeRecord("range", "1,000 km", "1,500 km"),),
                ),
                claim(
                    113,
                    "repeated",
                    "Kim toured a munitions factory.",
                    matched=WSJ,
                    first_reported=WSJ,
                    seen_in=frozenset({"outlet:wsj", "outlet:nkpro"}),
                ),
            ),
        ),
        StoryRecord(
            article_id=12,
            title="Second report [of] the visit_",
            url="javascript:alert(1)",
            outlet="Yonhap",
            published=datetime(2026, 11, 19, 7, tzinfo=UTC),
            seen_at=seen,
            event_id=7,
            event_title="Missile factory visit",
            claims=(claim(121, "new", "Engineers were told to build | more `drones` > 50."),),
        ),
    ]
