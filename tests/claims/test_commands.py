"""The claim commands through click's runner, on a real database with the real seed corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.claims.cli import COMMANDS
from bot.claims.engine import ClaimEngine
from bot.context import AppContext
from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from bot.errors import InputError
from bot.settings import Settings
from storage import claims as claim_store
from storage.db import transaction
from storage.models import Article
from tests.conftest import Database
from tests.helpers import queries
from tests.helpers.stories import C, add_story


@click.group()
def nk() -> None:
    """Test group standing in for `nkwatch`."""


for command in COMMANDS:
    nk.add_command(command)


@pytest.fixture
def app(db: Database) -> AppContext:
    return AppContext(settings=Settings(database_url=db.url, semantic="off"))


@pytest.fixture
def seeded(db: Database, app: AppContext) -> AppContext:
    with db.sessions.begin() as session:
        seed_database(session, seeds=load_seed_corpus())
    return app


def run(app: AppContext, *args: str, input: str | None = None):
    return CliRunner().invoke(nk, list(args), obj=app, input=input, catch_exceptions=False)


def test_claim_json_prints_one_object_best_first(seeded: AppContext) -> None:
    result = run(
        seeded,
        "claim",
        "--json",
        "--top",
        "3",
        "Russian Defense Minister Sergei Shoigu visited Pyongyang last month.",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"status", "matches", "changed"}
    assert data["status"] == "repeated"
    assert len(data["matches"]) == 3
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)
    top = data["matches"][0]
    assert set(top) == {"claim", "score", "article"}
    assert set(top["article"]) == {"title", "source", "published", "url"}
    assert top["article"]["url"].startswith("seed:")
    assert "Shoigu" in top["claim"]
    assert "judged 5 pending articles" in result.stderr  # the seed corpus was judged first


def test_claim_reads_stdin_one_object_per_line(seeded: AppContext) -> None:
    lines = [
        "North Korea has conducted over 150 missile tests since early 2022.",
        "",
        "The price of rice in Pyongyang markets rose sharply.",
    ]
    result = run(seeded, "claim", "--json", "--top", "2", input="\n".join(lines) + "\n")
    assert result.exit_code == 65, result.output  # EX_DATAERR: the blank line was refused
    out = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(out) == 3
    assert out[0]["status"] == "updated"
    assert any("150" in c["new"] and "100" in c["old"] for c in out[0]["changed"])
    assert out[1] == {"line": 2, "error": "empty claim"}
    assert out[2]["status"] == "new"
    assert len(out[2]["matches"]) == 2  # a new claim still lists its nearest neighbours


def test_claim_readable_verdict(seeded: AppContext) -> None:
    result = run(seeded, "claim", "Kim test-drove a new utility combat armored vehicle.")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("REPEATED")
    assert "matches:" in result.stdout
    assert "seed:002_" in result.stdout
    assert "event: #" in result.stdout
    assert (
        "first seen: Associated Press (via Merced Sun-Star), 2023-08-14; carried by 1 source"
        in (result.stdout)
    )


def test_kb_import_reports_bad_lines_and_keeps_good_ones(
    app: AppContext, db: Database, tmp_path: Path
) -> None:
    good = [
        {
            "id": "a1",
            "text": "Drinking hot water with lemon cures the coronavirus.",
            "source": "fc",
            "published": "2020-03-02",
        },
        {"id": "a2", "text": "5G mobile towers spread the coronavirus.", "source": "fc"},
    ]
    path = tmp_path / "kb.jsonl"
    with path.open("wb") as fh:
        fh.write((json.dumps(good[0]) + "\n").encode())
        fh.write(b"{not json\n")
        fh.write(b"\n")
        fh.write(b'{"id": "a3"}\n')
        fh.write(b'{"id": "a4", "text": "caf\xe9 latte"}\n')  # Latin-1, not UTF-8
        fh.write((json.dumps(good[1]) + "\n").encode())
    result = run(app, "kb", "import", str(path))
    assert result.exit_code == 65, result.output  # good lines kept, but the file was not clean
    assert "line 2: not JSON" in result.stderr
    assert "line 4: missing or empty 'text'" in result.stderr
    assert "line 5: not UTF-8" in result.stderr
    assert "2 added, 0 already present, 3 bad lines" in result.stdout
    again = run(app, "kb", "import", str(path))
    assert "0 added, 2 already present, 3 bad lines" in again.stdout
    with db.sessions() as session:
        assert queries.count_claims(session) == 2
    found = run(app, "claim", "--json", "lemon and hot water will cure covid https://t.co/zz")
    data = json.loads(found.stdout)
    assert data["matches"][0]["claim"] == good[0]["text"]
    assert data["matches"][0]["article"]["source"] == "fc"


def test_claim_batch_answers_every_line_even_binary_blank_and_long(seeded: AppContext) -> None:
    lines = [
        b"Kim Jong Un test-drove a new utility combat armored vehicle.",
        b"\xff\xfe\x00bad",  # not UTF-8: once crashed the semantic encoder mid-batch
        b"   ",
        b"word " * 400,
        b"North Korea\x07 shipped shells.",
        b"North Korea shipped artillery shells to Russia.",
    ]
    result = CliRunner().invoke(nk, ["claim", "--json"], obj=seeded, input=b"\n".join(lines))
    assert result.exit_code == 65, result.output
    out = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(out) == len(lines)
    assert out[0]["status"] == "repeated"
    assert out[1] == {"line": 2, "error": "not UTF-8 (byte 1)"}
    assert out[2] == {"line": 3, "error": "empty claim"}
    assert "too long" in out[3]["error"]
    assert "control characters" in out[4]["error"]
    assert "status" in out[5]
    assert "4 input lines refused" in result.stderr


@pytest.mark.parametrize("text", ["", "   ", "x" * 1001])
def test_claim_argument_refused_with_one_line(seeded: AppContext, text: str) -> None:
    result = CliRunner().invoke(nk, ["claim", text], obj=seeded)
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 65
    assert str(result.exception).startswith("claim refused: ")


def test_claims_lists_an_articles_verdicts(seeded: AppContext, db: Database) -> None:
    run(seeded, "kb", "process")
    with db.sessions() as session:
        article_id = session.scalars(
            select(Article.id).where(Article.origin.startswith("002_"))
        ).one()
    result = run(seeded, "claims", str(article_id))
    assert result.exit_code == 0, result.output
    assert "Associated Press" in result.stdout
    assert "REPEATED" in result.stdout
    assert "NEW" in result.stdout
    assert "matches #" in result.stdout
    missing = CliRunner().invoke(nk, ["claims", "999999"], obj=seeded)
    assert missing.exit_code != 0
    assert "no article with id 999999" in missing.output


def test_events_and_eval(seeded: AppContext, tmp_path: Path) -> None:
    events = run(seeded, "events", "--limit", "5")
    assert events.exit_code == 0, events.output
    assert events.stdout.count("first seen") == 5
    assert "sources:" in events.stdout
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {
                    "id": "g1",
                    "text": "Kim test-drove a new utility combat armored vehicle.",
                    "label": "repeated",
                    "refs": ["002"],
                },
                {
                    "id": "g2",
                    "text": "A North Korean soldier defected across the DMZ.",
                    "label": "new",
                    "refs": [],
                },
            ]
        )
    )
    result = run(seeded, "eval", str(gold))
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout
    assert "attribution accuracy  1.000" in result.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t", "label": "maybe"}\n')
    failed = CliRunner().invoke(nk, ["eval", str(bad)], obj=seeded)
    assert failed.exit_code != 0
    assert "line 1" in failed.output


def test_stdin_mode_builds_the_engine_once_for_many_lines(
    app: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    original = ClaimEngine.from_settings.__func__  # type: ignore[attr-defined]

    def counting(cls, *args, **kwargs):
        built.append(1)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(ClaimEngine, "from_settings", classmethod(counting))
    lines = [f"Claim number {i} about missile tests in {2000 + i % 25}." for i in range(400)]
    result = run(app, "claim", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.strip().splitlines()
    assert len(out) == 400
    assert all(json.loads(line)["status"] == "new" for line in out)  # empty knowledge base
    assert built == [1]


def test_seed_corpus_shows_the_ap_story_repeating_the_wsj_shoigu_visit(seeded: AppContext) -> None:
    """The issue's own example: judged in publication order, the AP story of 14 August 2023
    repeats the WSJ story's report of Shoigu's July visit (inside a longer sentence)."""
    engine = ClaimEngine.from_settings(seeded.settings, seeded.sessions)
    with seeded.sessions() as session:
        engine.process_pending(session)
        articles = {a.origin[:3]: a for a in session.scalars(select(Article))}
        ap = claim_store.list_article_claims(session, article_id=articles["002"].id)
        shoigu = [c for c in ap if "Shoigu" in c.text and "visit" in c.text]
        assert shoigu, "the AP story's Shoigu sentence was not extracted"
        repeats = [c for c in shoigu if c.verdict == "repeated"]
        assert repeats, [(c.verdict, c.score, c.text) for c in shoigu]
        matched = queries.get_claim(session, claim_id=repeats[0].matched_claim_id)
        assert matched is not None
        assert matched.article_id == articles["000"].id
        assert "Shoigu" in matched.text


def test_claims_names_the_first_report_when_the_match_is_not_it(
    app: AppContext, db: Database
) -> None:
    at = datetime(2024, 1, 10, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (first,) = add_story(
            session, title="First", claims=[C("Shells went to Russia.")], at=at, outlet="Yonhap"
        )
        _, (middle,) = add_story(
            session,
            title="Middle",
            claims=[C("Shells were shipped to Russia.", "repeated", first)],
            at=at + timedelta(days=5),
            outlet="NK News",
        )
        story, _ = add_story(
            session,
            title="Fresh",
            claims=[C("Shells were sent to Russia.", "repeated", middle)],
            at=at + timedelta(days=9),
            outlet="38 North",
        )
        story_id, first_id, middle_id = story.id, first.id, middle.id
    result = run(app, "claims", str(story_id))
    assert result.exit_code == 0, result.output
    assert f"matches #{middle_id} (NK News, 2024-01-15)" in result.stdout
    assert f"first reported #{first_id} (Yonhap, 2024-01-10)" in result.stdout
