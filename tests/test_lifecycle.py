"""export, backup, restore and prune through the real CLI entry point."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage import articles
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Claim


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("NKWATCH_DATABASE_URL", "NKWATCH_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'nkwatch.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        old = articles.add_article(
            session,
            origin="feed",
            title="Old story",
            content_hash="old",
            text="old body",
            url="https://example.org/old",
            outlet="Example",
        )
        old.fetched_at = datetime.now(UTC) - timedelta(days=400)
        seed = articles.add_article(
            session,
            origin="000.txt",
            title="Seed",
            content_hash="seed",
            text="seed body",
            url="seed:000.txt",
            outlet="The Wall Street Journal",
            published_at=datetime(2023, 8, 7, tzinfo=UTC),
        )
        first = Claim(
            article_id=seed.id,
            position=0,
            text='Kim toured factories, said "KCNA".',
            verdict="new",
            first_seen_at=datetime(2023, 8, 7, tzinfo=UTC),
        )
        session.add(first)
        session.flush()
        session.add(
            Claim(
                article_id=old.id,
                position=0,
                text="Kim toured arms plants.",
                verdict="updated",
                matched_claim_id=first.id,
                root_claim_id=first.id,
                changes=[{"what": "days", "old": "3", "new": "2"}],
            )
        )
    engine.dispose()
    return tmp_path


def test_export_jsonl_and_csv_carry_verdict_and_provenance(workdir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["verdict"] for r in rows] == ["new", "updated"]
    assert rows[1]["matched_text"] == 'Kim toured factories, said "KCNA".'
    assert rows[1]["changes"] == [{"what": "days", "old": "3", "new": "2"}]
    assert rows[0]["article_url"] == "seed:000.txt"
    assert rows[0]["first_reported_claim_id"] is None  # a new claim is its own first report
    assert rows[1]["first_reported_claim_id"] == rows[0]["claim_id"]
    assert rows[1]["first_reported_source"] == "The Wall Street Journal"
    assert rows[1]["first_reported_at"].startswith("2023-08-07")
    out = workdir / "claims.csv"
    result = runner.invoke(cli, ["export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(out.read_text())))
    assert parsed[0]["text"] == 'Kim toured factories, said "KCNA".'
    assert json.loads(parsed[1]["changes"])[0]["new"] == "2"


def test_export_format_follows_the_file_extension(workdir: Path) -> None:
    runner = CliRunner()
    out = workdir / "claims.csv"
    result = runner.invoke(cli, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0]
    assert not header.startswith("{")
    assert "verdict" in header.split(",")
    lines = workdir / "claims.jsonl"
    assert runner.invoke(cli, ["export", "--out", str(lines)]).exit_code == 0
    assert json.loads(lines.read_text().splitlines()[0])["verdict"] == "new"
    forced = workdir / "claims.txt"
    assert runner.invoke(cli, ["export", "--format", "csv", "--out", str(forced)]).exit_code == 0
    assert forced.read_text().startswith(header)
    unknown = runner.invoke(cli, ["export", "--out", str(workdir / "claims.xlsx")])
    assert unknown.exit_code == 2
    assert "give --format" in unknown.output


def test_backup_then_restore_round_trip(workdir: Path) -> None:
    runner = CliRunner()
    backup = workdir / "backups" / "nk.db"
    assert runner.invoke(cli, ["backup", str(backup)]).exit_code == 0
    with sqlite3.connect(workdir / "nkwatch.db") as connection:
        connection.execute("DELETE FROM claims")
    result = runner.invoke(cli, ["restore", "--yes", str(backup)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(workdir / "nkwatch.db") as connection:
        assert connection.execute("SELECT count(*) FROM claims").fetchone()[0] == 2


def test_restore_refuses_a_file_that_is_not_a_database(workdir: Path) -> None:
    junk = workdir / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = CliRunner().invoke(cli, ["restore", "--yes", str(junk)])
    assert result.exit_code != 0
    assert "not a SQLite database" in result.output
    with sqlite3.connect(workdir / "nkwatch.db") as connection:
        assert connection.execute("SELECT count(*) FROM claims").fetchone()[0] == 2


def test_prune_clears_old_feed_text_but_keeps_claims_and_seeds(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["prune", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "cleared the text of 1 articles" in result.output
    engine = make_engine(f"sqlite:///{workdir / 'nkwatch.db'}")
    with make_session_factory(engine)() as session:
        texts = {a.title: a.text for a in session.query(Article)}
        assert texts == {"Old story": None, "Seed": "seed body"}
        assert session.query(Claim).count() == 2
    engine.dispose()


def test_prune_without_a_period_says_how_to_set_one(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["prune"])
    assert result.exit_code != 0
    assert "NKWATCH_RETENTION_DAYS" in result.output
