"""The CLI as a user runs it: a real `nkwatch` process with a fresh working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers.db import POSTGRES_ENV, postgres_url


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_seed_is_idempotent_on_default_sqlite(tmp_path: Path) -> None:
    first = run(["seed", "--show"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "5 added, 0 already present" in first.stdout
    assert "The Wall Street Journal" in first.stdout
    assert (tmp_path / "nkwatch.db").exists()
    second = run(["seed"], tmp_path)
    assert "0 added, 5 already present" in second.stdout


def test_db_upgrade_reports_revision(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout


def test_bad_setting_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = run(["seed"], tmp_path, NKWATCH_DATABASE_URL="oracle://x")
    assert result.returncode == 78  # EX_CONFIG
    assert result.stderr.strip().count("\n") == 0
    assert "NKWATCH_DATABASE_URL" in result.stderr


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "code", "expected"),
    [
        (
            "sqlite:/nonexistent/x.db",
            78,
            "nkwatch: setting NKWATCH_DATABASE_URL is invalid: cannot parse "
            "'sqlite:/nonexistent/x.db' as a database URL",
        ),
        (
            "sqlite:////nonexistent/dir/x.db",
            73,
            "nkwatch: cannot open the SQLite database /nonexistent/dir/x.db: "
            "directory /nonexistent/dir does not exist (NKWATCH_DATABASE_URL)",
        ),
        (
            "postgresql://nkw:hunter2@127.0.0.1:1/test",
            69,
            "nkwatch: database unavailable (postgresql+psycopg://nkw:***@127.0.0.1:1/test): "
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused",
        ),
    ],
)
def test_bad_database_is_one_line_with_a_sysexits_code(
    tmp_path: Path, url: str, code: int, expected: str
) -> None:
    result = run(["status"], tmp_path, NKWATCH_DATABASE_URL=url)
    assert result.returncode == code
    line = _one_line(result)
    assert line.startswith(expected), line
    assert "hunter2" not in result.stderr


def test_sqlite_path_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.db").mkdir()
    result = run(["status"], tmp_path, NKWATCH_DATABASE_URL="sqlite:///x.db")
    assert result.returncode == 73  # EX_CANTCREAT
    assert "unable to open database file" in _one_line(result)


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = run(["-v", "status"], tmp_path, NKWATCH_DATABASE_URL="postgresql://u@127.0.0.1:1/x")
    assert result.returncode == 69
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("nkwatch: database unavailable")


@pytest.mark.postgres
def test_missing_postgres_database_is_one_line(tmp_path: Path) -> None:
    base = postgres_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} not set")
    url = base.rsplit("/", 1)[0] + "/nkwatch_no_such_db"
    result = run(["status"], tmp_path, NKWATCH_DATABASE_URL=url)
    assert result.returncode == 69
    assert _one_line(result).endswith('database "nkwatch_no_such_db" does not exist')


def test_claim_batch_from_a_real_pipe_answers_every_line(tmp_path: Path) -> None:
    data = (
        b"Kim inspected a factory making shells.\n\xff\xfe\x00bad\n\nNorth Korea shipped shells.\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "claim", "--json"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")},
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 65
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [sorted(o) for o in out] == [
        ["changed", "matches", "status"],
        ["error", "line"],
        ["error", "line"],
        ["changed", "matches", "status"],
    ]
    assert result.stderr.decode().strip().splitlines()[-1] == "nkwatch: 2 input lines refused"


def test_commands_print_their_answer_without_info_logs(tmp_path: Path) -> None:
    result = run(["claim", "--json", "North Korea shipped artillery shells to Russia."], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] in ("new", "repeated", "updated")
    assert " INFO " not in result.stderr
    assert "Loading" not in result.stderr
    loud = run(["-v", "claim", "Kim inspected a shell factory."], tmp_path)
    assert " INFO bot.claims.engine claim index loaded" in loud.stderr  # -v brings logs back


def test_pytest_lists_failures_not_every_skip() -> None:
    addopts = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["tool"][
        "pytest"
    ]["ini_options"]["addopts"]
    report_flags = next(a[2:] for a in addopts.split() if a.startswith("-r"))
    assert "s" not in report_flags
    assert "a" not in report_flags  # -ra lists every SKIPPED parameter (PostgreSQL off)
