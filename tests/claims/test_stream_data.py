"""The committed dev and probe streams are well formed and time-true.

Every label quotes its story exactly; every ref exists and was published before the story that
cites it (seeds at their manifest dates); the stories.jsonl/labels.jsonl on disk are what
eval/streams/build.py makes of source.txt, so the annotated source and the data cannot drift.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from bot.claims.evaluation import seed_prefix
from bot.claims.streams import load_stream
from bot.corpus import load_seed_corpus

STREAMS = Path(__file__).resolve().parents[2] / "eval" / "streams"
NAMES = ["dev", "probe"]


def _seed_dates() -> dict[str, datetime]:
    return {f"seed:{seed_prefix(s.origin)}": s.published for s in load_seed_corpus()}


@pytest.mark.parametrize("name", NAMES)
def test_labels_quote_their_story_and_cite_earlier_sources(name: str) -> None:
    stories, labels = load_stream(STREAMS / name)  # substrings, known refs, label names
    published = {s.id: s.published for s in stories} | _seed_dates()
    for item in labels:
        when = published[item.story]
        for ref in item.refs:
            assert ref in published, (item.story, ref)
            assert published[ref] < when, f"{item.story} cites {ref}, published later"
        if item.label == "updated":
            assert item.old and item.new, item.text


@pytest.mark.parametrize("name", NAMES)
def test_stream_shape(name: str) -> None:
    stories, labels = load_stream(STREAMS / name)
    minimum = 30 if name == "dev" else 12
    assert len(stories) >= minimum
    assert {s.feed for s in stories} == {"a", "b"}
    assert len({s.outlet for s in stories}) >= 5
    assert all(2022 <= s.published.year <= 2025 for s in stories)
    for story in stories:
        assert 150 <= len(story.text.split()) <= 450, story.id
    counts = Counter(item.label for item in labels)
    assert all(counts[k] > 0 for k in ("new", "repeated", "updated", "not_claim")), counts
    labelled = {item.story for item in labels}
    assert len(labelled) == len(stories)  # off-topic stories carry not_claim labels


@pytest.mark.parametrize("name", NAMES)
def test_jsonl_is_built_from_the_annotated_source(name: str) -> None:
    spec = importlib.util.spec_from_file_location("stream_build", STREAMS / "build.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    stories, labels = build.build((STREAMS / name / "source.txt").read_text(encoding="utf-8"))
    on_disk = (STREAMS / name / "stories.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in on_disk] == stories
    on_disk = (STREAMS / name / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in on_disk] == labels
