"""A plain (non-editable) install carries everything `nkwatch demo` needs, config included.

The wheel is built from the tree and unpacked (a pure-Python wheel's install is its contents)
into a directory outside the source tree; the demo then runs from there in an empty working
directory. .ci/run does the same with a real `pip install` of the wheel into a fresh venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_default_config_and_runs_the_demo(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: setuptools writes build/ next to the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("bot", "storage"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("nkwatch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for name in ("feeds.toml", "lexicon.toml", "topics.toml"):
        assert f"bot/config/{name}" in names
    assert any(n.startswith("bot/corpus/") and n.endswith(".txt") for n in names)
    assert any(n.startswith("bot/samples/feeds/") for n in names)

    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    env.update(PYTHONPATH=str(tmp_path / "site"), NKWATCH_SEMANTIC="off")
    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(tmp_path / "site")), where.stdout  # not the source tree
    demo = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "NEW" in demo.stdout.upper()
