"""The CLI as a user runs it: a real `nkwatch` process with a fresh working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "NKWATCH_DATABASE_URL" in result.stderr
