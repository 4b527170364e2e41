"""The claim index across processes and commands: persistence, rebuilds, `nkwatch index`, and a
CLI that imports only what the command it runs needs."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.claims.engine import ClaimEngine
from bot.claims.index import FINGERPRINT_SAMPLES
from bot.claims.index_cli import index_group
from bot.cli import LAZY_COMMANDS
from bot.context import AppContext
from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from bot.settings import Settings
from tests.conftest import Database
from tests.helpers import queries
from tests.helpers.db import session_factory, sqlite_database


@pytest.fixture
def seeded(db: Database) -> AppContext:
    with db.sessions.begin() as session:
        seed_database(session, seeds=load_seed_corpus())
    app = AppContext(settings=Settings(database_url=db.url, semantic="off"))
    ClaimEngine.from_settings(app.settings, app.sessions).judge_pending()
    return app


def test_a_reopened_engine_reads_the_index_instead_of_retokenising(seeded: AppContext) -> None:
    first = ClaimEngine.from_settings(seeded.settings, seeded.sessions)
    path = first.index.path
    assert path is not None
    assert path.is_dir()
    with seeded.sessions() as session:
        stored = queries.count_claims(session)
    assert len(first.index) == stored > 0
    first.index.close()
    again = ClaimEngine.from_settings(seeded.settings, seeded.sessions)
    assert len(again.index) == stored
    assert len(again.tokens) == len(FINGERPRINT_SAMPLES)  # no stored claim was tokenised
    verdict = again.check("Shoigu visited Pyongyang in July 2023", top=3)
    assert verdict.matches


def test_rebuild_command_reindexes_every_claim(seeded: AppContext) -> None:
    result = CliRunner().invoke(index_group, ["rebuild"], obj=seeded, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with seeded.sessions() as session:
        stored = queries.count_claims(session)
    assert f"claim index rebuilt: {stored} claims" in result.output
    status = CliRunner().invoke(index_group, ["status"], obj=seeded, catch_exceptions=False)
    assert f"claims: {stored} (up to id" in status.output


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_an_index_built_from_another_database_is_rebuilt(
    seeded: AppContext, db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared-index"
    first = ClaimEngine.from_settings(seeded.settings, seeded.sessions, index_dir=shared)
    first.index.close()
    del first
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    with sqlite_database(other_dir) as (url, engine):
        sessions = session_factory(engine)
        settings = Settings(database_url=url, semantic="off", index_dir=shared)
        with sessions.begin() as session:
            seed_database(session, seeds=load_seed_corpus()[:1])
        with caplog.at_level("WARNING"):
            other = ClaimEngine.from_settings(settings, sessions)
            other.judge_pending()
        with sessions() as session:
            assert len(other.index) == queries.count_claims(session)
        assert "does not match the database" in caplog.text


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        "    cli(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'numpy', 'bot.claims.engine', 'telegram', 'pydantic')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "HEAVY []" in out
    for name in LAZY_COMMANDS:
        assert f"  {name} " in out


def test_status_does_not_import_the_claim_engine(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bot.cli import cli\n"
        "cli(['status'], standalone_mode=False)\n"
        "print('ENGINE', 'bot.claims.engine' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ENGINE False" in result.stdout


def test_lazy_help_lines_are_the_commands_own() -> None:
    for name, (module, attr, short) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attr)
        assert command.get_short_help_str(limit=45) == short, name
