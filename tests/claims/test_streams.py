"""The labelled-stream scorer and loader, on small hand-made fixtures (pure, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.claims.streams import (
    StoredClaim,
    Story,
    StreamError,
    StreamLabel,
    format_stream_report,
    load_stream,
    rss_feed,
    score_stream,
)
from bot.feeds.parse import parse_feed

T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 2, 1, tzinfo=UTC)


def label(story: str, text: str, gold: str, refs: tuple[str, ...] = ()) -> StreamLabel:
    return StreamLabel(story=story, text=text, label=gold, refs=refs)  # type: ignore[arg-type]


def claim(source: str, text: str, verdict: str = "new", matched: str | None = None) -> StoredClaim:
    published = T1 if source == "s1" else T2
    return StoredClaim(
        source=source,
        text=text,
        verdict=verdict,
        published=published,
        matched_source=matched,
        matched_published=T1 if matched == "s1" else (T2 if matched else None),
    )


def test_label_takes_the_verdict_of_the_claim_covering_most_of_its_words() -> None:
    labels = [label("s2", "Seoul said 5,000 containers were sent", "updated", ("s1",))]
    claims = [
        claim("s2", "Seoul said nothing else today"),
        claim("s2", "Seoul said that 5,000 containers were sent to Russia", "updated", "s1"),
        claim("s1", "Seoul said 5,000 containers were sent", "repeated", "s1"),  # other story
    ]
    report = score_stream(labels, claims)
    assert report.outcomes[0].predicted == "updated"
    assert report.accuracy == 1.0
    assert report.updated_recall == 1.0
    assert report.attribution == 1.0


def test_a_label_no_claim_covers_by_half_is_dropped() -> None:
    labels = [
        label("s2", "alpha beta gamma delta", "new"),
        label("s2", "the embassy did not respond to a request", "not_claim"),
    ]
    claims = [claim("s2", "alpha beta unrelated words here")]  # covers exactly half: kept
    report = score_stream(labels, claims)
    assert [o.predicted for o in report.outcomes] == ["new", "dropped"]
    assert report.non_claims_kept == 0
    assert report.accuracy == 1.0
    report = score_stream(labels[:1], claims, min_coverage=0.75)
    assert report.outcomes[0].predicted == "dropped"
    assert report.accuracy == 0.0  # a dropped claim is a wrong claim


def test_known_precision_recall_count_not_claims_and_dropped_claims() -> None:
    labels = [
        label("s2", "one two three", "repeated", ("s1",)),
        label("s2", "four five six", "updated", ("s1",)),
        label("s2", "seven eight nine", "new"),
        label("s2", "ten eleven twelve", "not_claim"),
    ]
    claims = [
        claim("s2", "one two three", "repeated", "s0"),  # found, wrong source
        claim("s2", "seven eight nine", "repeated", "s1"),  # false known
        claim("s2", "ten eleven twelve", "new"),  # a non-claim kept
    ]
    report = score_stream(labels, claims)
    assert report.known_precision == 0.5
    assert report.known_recall == 0.5
    assert report.known_f1 == 0.5
    assert report.updated_recall == 0.0
    assert report.non_claims_kept == 1
    assert report.attribution == 0.0
    assert report.attribution_total == 1
    assert report.confusion["updated"]["dropped"] == 1
    assert report.confusion["new"]["repeated"] == 1
    assert report.accuracy == pytest.approx(1 / 3)


def test_later_source_counts_every_stored_known_claim() -> None:
    claims = [
        claim("s1", "an early claim judged against a later one", "repeated", "s2"),
        claim("s2", "a later claim judged against an earlier one", "repeated", "s1"),
        claim("s2", "a new claim", "new"),
    ]
    report = score_stream([], claims)
    assert (report.later_source, report.judged_known) == (1, 2)
    text = format_stream_report(report)
    assert "verdicts citing later     1 of 2" in text
    data = report.to_json()
    assert data["later_source"] == 1
    assert json.dumps(data)


def test_rss_lists_newest_first_and_carries_the_full_text() -> None:
    body = "First paragraph says one thing.\n\nSecond paragraph & more < text."
    stories = [
        Story("s1", "a", "X", "Old", "https://news.example/1", T1, body),
        Story("s2", "a", "X", "New", "https://news.example/2", T2, "Short.\n\n" + "word " * 200),
        Story("s3", "b", "X", "Other feed", "https://news.example/3", T2, "Elsewhere."),
    ]
    parsed = parse_feed(
        rss_feed(stories, feed="a", title="t"), content_type=None, base_url="http://x/"
    )
    assert [e.title for e in parsed.entries] == ["New", "Old"]
    old = parsed.entries[1]
    assert "Second paragraph & more < text." in old.text
    assert old.published == T1
    assert len(parsed.entries[0].text.split()) > 200  # content:encoded, not the short summary


def _write(directory: Path, stories: list[dict[str, object]], labels: list[dict[str, object]]) -> Path:
    directory.mkdir()
    (directory / "stories.jsonl").write_text("\n".join(json.dumps(s) for s in stories) + "\n")
    (directory / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in labels) + "\n")
    return directory


STORY = {
    "id": "s1",
    "feed": "a",
    "outlet": "X",
    "title": "T",
    "url": "https://news.example/s1",
    "published": "2024-01-01T00:00:00Z",
    "text": "A fact was stated.",
}


@pytest.mark.parametrize(
    ("lbl", "message"),
    [
        ({"story": "s1", "text": "not in the story", "label": "new"}, "not part of story s1"),
        ({"story": "s9", "text": "A fact", "label": "new"}, "unknown story"),
        ({"story": "s1", "text": "A fact", "label": "maybe"}, "label must be one of"),
        ({"story": "s1", "text": "A fact", "label": "repeated"}, "needs refs"),
        ({"story": "s1", "text": "A fact", "label": "repeated", "refs": ["s7"]}, "unknown ref"),
    ],
)
def test_bad_labels_name_the_line(tmp_path: Path, lbl: dict[str, object], message: str) -> None:
    directory = _write(tmp_path / "stream", [STORY], [lbl])
    with pytest.raises(StreamError, match=message) as info:
        load_stream(directory)
    assert "labels.jsonl line 1" in str(info.value)


def test_bad_stories_are_refused(tmp_path: Path) -> None:
    no_zone = dict(STORY, published="2024-01-01T00:00:00")
    with pytest.raises(StreamError, match="time zone"):
        load_stream(_write(tmp_path / "a", [no_zone], []))
    with pytest.raises(StreamError, match="feed must be"):
        load_stream(_write(tmp_path / "b", [dict(STORY, feed="c")], []))
    with pytest.raises(StreamError, match="cannot read"):
        load_stream(tmp_path / "missing")
