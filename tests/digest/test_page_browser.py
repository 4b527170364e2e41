"""The standalone HTML digest opened in a real headless browser (Debian's ``chromium``).

The page must render to a screenshot of the window's size that is not blank. Where chromium is
not installed the test skips and says so, except in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from statistics import pvariance

import pytest

from bot.digest.model import StoryRecord, build_digest
from bot.digest.page import render_page
from tests.digest.test_repeats import SINCE, UNTIL
from tests.helpers.png import read_png

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 480, 800


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium package)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def screenshot(page: Path, out: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={out}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_page_renders_in_a_real_browser(stories: list[StoryRecord], tmp_path: Path) -> None:
    digest = build_digest(stories, since=SINCE, until=UNTIL)
    page = tmp_path / "digest.html"
    page.write_text(render_page(digest), encoding="utf-8")
    shot = tmp_path / "digest.png"
    done = screenshot(page, shot, tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.is_file(), done.stderr[-2000:]
    image = read_png(shot)
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    grey = image.grey()
    # Text on a light page: many distinct shades and real spread, far from a blank frame.
    assert len(set(grey)) > 32
    assert pvariance(grey) > 200
    # The same browser on an empty page gives a flat frame, so the check can tell them apart.
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><title>x</title>", encoding="utf-8")
    empty = tmp_path / "blank.png"
    screenshot(blank, empty, tmp_path / "profile2")
    assert pvariance(read_png(empty).grey()) < 1
