"""`nkwatch eval --stream DIR` end to end: loopback feeds, one poll on a fresh database, scores."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from bot.claims.cli import COMMANDS
from bot.context import AppContext
from bot.settings import Settings

STREAM3 = Path(__file__).resolve().parent / "testdata" / "stream3"


@click.group()
def nk() -> None:
    """Test group standing in for `nkwatch`."""


for command in COMMANDS:
    nk.add_command(command)


def _app(tmp_path: Path) -> AppContext:
    # The command builds its own temporary database; this one must stay untouched.
    return AppContext(
        settings=Settings(database_url=f"sqlite:///{tmp_path}/app.db", semantic="off")
    )


def test_eval_stream_polls_the_stream_and_scores_each_label(tmp_path: Path) -> None:
    app = _app(tmp_path)
    result = CliRunner().invoke(nk, ["eval", "--stream", str(STREAM3), "--json"], obj=app)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stories"] == 3
    assert data["new_stories_polled"] == 3
    assert data["poll_errors"] == 0
    assert data["labels"] == 7
    assert data["claim_labels"] == 4
    assert data["non_claims_total"] == 3
    wrong = {(e["story"], e["text"][:40]) for e in data["errors"]}
    # A sentence repeated word for word in a later story is found, and attributed to the first.
    assert ("t2", "North Korea has sent Russia more than 1,") not in wrong
    assert data["attribution_total"] >= 1
    assert data["attribution"] == 1.0
    # The off-topic story is stored but not judged, so its sentence is not kept as a claim.
    assert ("t3", "North Korea's women's football team lost") not in wrong
    assert sum(sum(row.values()) for row in data["confusion"].values()) == 7
    assert not (tmp_path / "app.db").exists()


def test_eval_stream_text_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(nk, ["eval", "--stream", str(STREAM3)], obj=_app(tmp_path))
    assert result.exit_code == 0, result.output
    assert "3 stories, 3 polled" in result.stdout
    assert "accuracy over claims" in result.stdout
    assert "confusion (rows gold, columns predicted)" in result.stdout


def test_eval_stream_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "stories.jsonl").write_text((STREAM3 / "stories.jsonl").read_text())
    (bad / "labels.jsonl").write_text('{"story": "t1", "text": "not there", "label": "new"}\n')
    result = CliRunner().invoke(nk, ["eval", "--stream", str(bad)], obj=_app(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: labels.jsonl line 1: text is not part of story t1"
    neither = CliRunner().invoke(nk, ["eval"], obj=_app(tmp_path))
    assert neither.exit_code == 2
    assert "give either FILE or --stream DIR" in neither.output
