"""Figure extraction, series building and chart cost.

    python bench/figures_bench.py

- extraction: ``figures()`` over every sentence of the seed corpus and the dev stream, repeated,
  next to ``analyze()`` (the tokenizer every claim already pays) as the peer, CPU and wall time;
- series: ``build_series`` over synthetic stored rows (N claims with figures, a third linked);
- chart: ``render_chart`` of a 12-point and a 60-point series (first chart includes matplotlib's
  import and font cache warm-up, reported apart).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.claims.extract import split_sentences
from bot.claims.figures import figures
from bot.claims.lexicon import load_lexicon
from bot.claims.normalize import analyze
from bot.corpus import load_seed_corpus

ROOT = Path(__file__).resolve().parents[1]


def timed(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def sentences() -> list[str]:
    out = [s for seed in load_seed_corpus() for s in split_sentences(seed.text)]
    dev = ROOT / "eval" / "streams" / "dev" / "stories.jsonl"
    if dev.exists():
        for line in dev.read_text().splitlines():
            out.extend(split_sentences(json.loads(line)["text"]))
    return out


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


def rows(n: int) -> list[Row]:
    rng = random.Random(7)
    units = ["containers", "rounds", "missiles", "troops", "drones", "launchers"]
    dests = ["Russia", "Iran", "Syria", "Belarus"]
    out: list[Row] = []
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        unit, dest = rng.choice(units), rng.choice(dests)
        text = f"North Korea sent about {rng.randint(1, 500) * 100:,} {unit} to {dest}."
        row = Row(i, text, start + timedelta(hours=i))
        if i > 10 and rng.random() < 0.33:
            row.verdict, row.matched_claim_id = "updated", rng.randint(1, i - 1)
        row.attrs = {"quantities": [q.to_json() for q in figures(text)]}
        out.append(row)
    return out


def main() -> None:
    lexicon = load_lexicon()
    sents = sentences() * 5
    wall, cpu, found = timed(lambda: [figures(s) for s in sents])
    pw, pc, _ = timed(lambda: [analyze(s, lexicon) for s in sents])
    n_fig = sum(len(f) for f in found)
    print(f"extraction: {len(sents)} sentences, {n_fig} figures")
    print(
        f"  figures(): wall {wall * 1e3:.1f} ms, cpu {cpu * 1e3:.1f} ms, "
        f"{wall / len(sents) * 1e6:.1f} us/sentence"
    )
    print(
        f"  analyze() peer: wall {pw * 1e3:.1f} ms, cpu {pc * 1e3:.1f} ms; "
        f"figures/analyze = {wall / pw:.2f}"
    )
    from bot.figures.series import build_series  # noqa: PLC0415

    for n in (1_000, 10_000):
        data = rows(n)
        wall, cpu, series = timed(lambda data=data: build_series(data))
        print(
            f"series: {n} rows -> {len(series)} series, wall {wall * 1e3:.1f} ms, "
            f"cpu {cpu * 1e3:.1f} ms"
        )
    wall, cpu, _ = timed(lambda: __import__("bot.figures.chart"))
    print(f"chart: import matplotlib + chart module wall {wall * 1e3:.0f} ms, cpu {cpu * 1e3:.0f}")
    from bot.figures.chart import render_chart  # noqa: PLC0415

    for points in (12, 60):
        data = [r for r in rows(points * 40) if "containers to Russia" in r.text][:points]
        for r in data:
            r.verdict, r.matched_claim_id = "new", None
        (series,) = build_series(data)
        render_chart(series)  # warm
        wall, cpu, chart = timed(lambda series=series: render_chart(series))
        print(
            f"  render {len(series.points)} points: wall {wall * 1e3:.0f} ms, "
            f"cpu {cpu * 1e3:.0f} ms, {chart.width}x{chart.height}, {len(chart.png):,} bytes"
        )


if __name__ == "__main__":
    main()
