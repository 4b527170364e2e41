"""Series built from a stream of stories judged by the real engine, their charts and exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from matplotlib import dates as mdates

from bot.claims.figures import figures
from bot.figures.chart import DPI, HEIGHT_IN, MAX_LABELS, WIDTH_IN, render_chart
from bot.figures.query import load_series, series_csv, series_json
from bot.figures.series import Series, build_series, find_series, path_line, series_of_claim
from bot.settings import Settings
from tests.conftest import Database
from tests.figures.stream import SEOUL, STORIES, WIRE, ingest


@pytest.fixture
def stream_series(db: Database) -> list[Series]:
    ingest(db.sessions, Settings(database_url=db.url, semantic="off"))
    with db.sessions() as s:
        return load_series(s)


def _containers(found: list[Series]) -> Series:
    (series,) = [s for s in found if s.key.unit == "containers"]
    return series


def test_six_container_reports_make_one_series_with_competing_sources(
    stream_series: list[Series],
) -> None:
    series = _containers(stream_series)
    assert series.name == "containers of munitions to Russia"
    assert [p.value for p in series.points] == [1000, 5000, 6700, 3000, 10000, 13000]
    assert [p.source for p in series.points] == [WIRE, SEOUL, SEOUL, WIRE, SEOUL, WIRE]
    reports = [s for s in STORIES if "container" in s.text]
    assert [p.published for p in series.points] == [s.published for s in reports]
    assert [p.url for p in series.points] == [s.url for s in reports]
    ranged = series.points[3]
    assert (ranged.low, ranged.high) == (3000, 4500)  # the lower estimate stays its own point
    assert series.latest.shown == "up to 13,000"
    assert series.change() == "10,000 → up to 13,000 (+3,000)"
    assert path_line(series) == (
        "containers of munitions to Russia: more than 1,000 (Oct 2023) → about 5,000 (Dec 2023)"
        " → about 6,700 (Feb 2024) → 3,000–4,500 (Mar 2024) → 10,000 (Jun 2024)"
        " → up to 13,000 (Oct 2024)"
    )


def test_other_figures_make_their_own_series(stream_series: list[Series]) -> None:
    troops = [s for s in stream_series if s.key.unit == "troops"]
    assert [[p.value for p in s.points] for s in troops] == [[3000, 10000]]
    assert troops[0].name == "troops to Russia"
    # sizes and ranges (240mm, 60 km) are not running figures
    assert {s.key.unit for s in stream_series} == {"containers", "troops"}
    assert find_series(stream_series, "containers") is _containers(stream_series)
    assert find_series(stream_series, "soldiers to russia") is troops[0]
    assert find_series(stream_series, "bananas") is None


def test_chart_of_the_stream(stream_series: list[Series]) -> None:
    series = _containers(stream_series)
    chart = render_chart(series)
    assert (chart.width, chart.height) == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))
    assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
    drawn = sorted((round(p.x, 3), p.y, p.source) for p in chart.plotted)
    wanted = sorted(
        (round(float(mdates.date2num(p.published)), 3), p.value, p.source) for p in series.points
    )
    assert drawn == wanted
    assert chart.labels == tuple(p.shown for p in series.points)
    assert chart.bands == 1  # the 3,000-4,500 range
    again = render_chart(series)
    assert (again.width, again.height, again.plotted) == (chart.width, chart.height, chart.plotted)


def test_exports(stream_series: list[Series]) -> None:
    series = _containers(stream_series)
    data = series_json(series)
    assert data["key"] == {
        "unit": "containers",
        "object": "munitions",
        "destination": "russia",
        "since": "",
    }
    assert [p["value"] for p in data["points"]] == [1000, 5000, 6700, 3000, 10000, 13000]
    lines = series_csv(series).splitlines()
    assert lines[0].startswith("date,value,low,high,qualifier,source,url")
    assert lines[4].startswith("2024-03-08,3000.0,3000.0,4500.0,,Washington Wire,")
    assert len(lines) == 7


# ------------------------------------------------------------------ pure rules over plain rows


@dataclass
class Row:
    claim_id: int
    text: str
    published: datetime
    verdict: str = "new"
    matched_claim_id: int | None = None
    root_claim_id: int | None = None
    source: str | None = "Outlet"
    url: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.attrs = {"quantities": [q.to_json() for q in figures(self.text)]}


def _day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


def test_a_linked_claim_joins_even_without_a_key() -> None:
    rows = [
        Row(1, "About 2,000 drones were built at the plant.", _day(1)),
        Row(2, "The plant has now built 2,600 drones.", _day(5), "updated", 1, 1),
        Row(3, "A rival plant built 400 drones.", _day(6)),  # unlinked, unkeyed: alone
    ]
    (series,) = build_series(rows)
    assert [p.claim_id for p in series.points] == [1, 2]
    assert series_of_claim([series], 2) is series
    assert series_of_claim([series], 3) is None


def test_different_baselines_stay_apart_and_one_report_is_no_series() -> None:
    rows = [
        Row(1, "Some 900 wagons of shells went to Russia since 2022.", _day(1)),
        Row(2, "About 300 wagons of shells went to Russia since March 2024.", _day(2)),
        Row(3, "By now 1,100 wagons of shells went to Russia since 2022.", _day(3)),
    ]
    (series,) = build_series(rows)
    assert series.name == "wagons of rounds to Russia since 2022"
    assert [p.value for p in series.points] == [900, 1100]


def test_unstated_baselines_join_the_most_reported_one() -> None:
    rows = [
        Row(1, "Some 900 wagons of shells went to Russia since 2022.", _day(1)),
        Row(2, "About 1,000 wagons of shells went to Russia.", _day(2)),
        Row(3, "By now 1,100 wagons of shells went to Russia since 2022.", _day(3)),
        Row(4, "About 1,200 wagons of shells went to Russia.", _day(4)),
        Row(5, "About 1,300 wagons of shells went to Russia.", _day(5)),
    ]
    (series,) = build_series(rows)
    assert len(series.points) == 5
    assert series.name == "wagons of rounds to Russia"  # most reports state no baseline


def test_a_link_to_a_figure_far_off_is_not_followed() -> None:
    rows = [
        Row(1, "About 9,000 soldiers are in the region.", _day(1)),
        Row(2, "Two soldiers were captured in the region.", _day(2), "updated", 1, 1),
        Row(3, "Some 9,500 soldiers are in the region.", _day(3), "updated", 1, 1),
    ]
    (series,) = build_series(rows)
    assert [p.value for p in series.points] == [9000, 9500]


def test_restated_values_add_no_step_or_label() -> None:
    rows = [
        Row(1, "North Korea sent 500 containers of arms to Russia.", _day(1), source="A"),
        Row(2, "North Korea sent 800 containers of arms to Russia.", _day(2), source="B"),
        Row(3, "Earlier, 500 containers of arms went to Russia.", _day(3), source="C"),
    ]
    (series,) = build_series(rows)
    assert len(series.points) == 3
    assert path_line(series) == (
        "containers of munitions to Russia: 500 (Jan 2024) → 800 (Jan 2024)"
    )
    assert render_chart(series).labels == ("500", "800")


def test_a_sentence_with_old_and_new_figure_gives_the_new_one() -> None:
    rows = [
        Row(1, "North Korea sent 500 containers of arms to Russia.", _day(1)),
        Row(2, "North Korea sent 800 containers of arms to Russia, up from 500.", _day(9)),
    ]
    (series,) = build_series(rows)
    assert [p.value for p in series.points] == [500, 800]


def test_many_points_keep_at_most_twelve_labels() -> None:
    rows = [
        Row(i, f"North Korea sent {100 * i:,} containers of arms to Russia.", _day(i))
        for i in range(1, 21)
    ]
    (series,) = build_series(rows)
    chart = render_chart(series)
    assert len(chart.plotted) == 20
    assert len(chart.labels) == MAX_LABELS
    assert chart.labels[-1] == "2,000"


# ------------------------------------------------------------------ the CLI


def _cli(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    env.update(NKWATCH_DATABASE_URL=url, NKWATCH_SEMANTIC="off")
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "figures", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_lists_and_exports(db: Database, tmp_path: Path) -> None:
    if db.kind != "sqlite":
        pytest.skip("one backend is enough for the process-level check")
    ingest(db.sessions, Settings(database_url=db.url, semantic="off"))
    listed = _cli([], tmp_path, db.url)
    assert listed.returncode == 0, listed.stderr
    assert "containers-of-munitions-to-russia: up to 13,000 (2024-10-10, Washington Wire)" in (
        listed.stdout
    )
    as_json = _cli(["containers", "--json"], tmp_path, db.url)
    assert json.loads(as_json.stdout)["name"] == "containers of munitions to Russia"
    png = tmp_path / "c.png"
    drawn = _cli(["containers", "--png", str(png)], tmp_path, db.url)
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
    missing = _cli(["bananas", "--csv"], tmp_path, db.url)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "Error: no series matches 'bananas'; `nkwatch figures` lists them"
    )
    unwritable = _cli(["containers", "--png", str(tmp_path / "no" / "c.png")], tmp_path, db.url)
    assert unwritable.returncode == 1
    assert "cannot write" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
