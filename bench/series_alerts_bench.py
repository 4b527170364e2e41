"""What a series alert pass adds to the judging transaction it runs in (under the judging lock).

    python bench/series_alerts_bench.py [--chats 1 20 200]

On a fresh SQLite database: the container stream of tests/figures (six reports) is judged up to
its fifth report; N Telegram chats and N Slack channels watch the series; then the sixth report
(a move) is judged with ``SharedEngine.ingest`` as a poll does. Prints the ingest's wall and CPU
time with the pass inside it, and the pass alone (rerun on a copy of the watches' state), plus the
outbox bytes the alerts take (Telegram rows carry the chart). The first size includes
matplotlib's import and font cache warm-up.
"""

# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def run(chats: int) -> None:
    import json

    from bot.figures.alerts import queue_series_alerts
    from bot.figures.query import load_series
    from bot.figures.series import find_series
    from storage import deliveries as outbox
    from storage import subscriptions as subs_store
    from storage import watches as watch_store
    from storage.db import transaction
    from storage.models import SeriesAlert, SeriesWatch
    from tests.figures.watching import Feeder, container_reports
    from tests.helpers.db import session_factory, sqlite_database

    with tempfile.TemporaryDirectory() as tmp, sqlite_database(Path(tmp)) as (url, engine):
        sessions = session_factory(engine)
        feeder = Feeder(sessions, url)
        reports = container_reports()
        for story in reports[:5]:
            feeder.feed(story)
        with transaction(sessions) as s:
            series = find_series(load_series(s), "containers")
            assert series is not None
            seen = max(p.claim_id for p in series.points)
            for i in range(chats):
                for platform in ("telegram", "slack"):
                    sub = subs_store.subscribe(s, platform=platform, chat_id=f"c{i}", mode="watch")
                    watch_store.add_watch(
                        s,
                        subscription_id=sub.id,
                        series_slug=series.slug,
                        series_name=series.name,
                        unit=series.key.unit,
                        anchor_claim_id=series.points[0].claim_id,
                        seen_claim_id=seen,
                    )
        wall, cpu, _ = timed(lambda: feeder.feed(reports[5]))
        with sessions() as s:
            rows = outbox.list_deliveries(s)
            size = sum(len(json.dumps(r.payload)) for r in rows)
        print(
            f"{chats} telegram + {chats} slack watchers: ingest of one moving story with the "
            f"pass wall {wall * 1e3:.0f} ms, cpu {cpu * 1e3:.0f} ms; {len(rows)} alerts, "
            f"{size / 1024:.0f} KiB of outbox payload"
        )
        with sessions() as s:  # the pass alone: forget it ran, roll back after
            s.query(SeriesAlert).delete()
            for watch in s.query(SeriesWatch).all():
                watch.seen_claim_id = seen
            wall, cpu, queued = timed(lambda: queue_series_alerts(s))
            s.rollback()
        print(f"  pass alone: {queued} alerts, wall {wall * 1e3:.0f} ms, cpu {cpu * 1e3:.0f} ms")
        feeder.shared.engine.index.close()  # before its directory goes with the database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, nargs="+", default=[1, 20, 200])
    args = parser.parse_args()
    for chats in args.chats:
        run(chats)


if __name__ == "__main__":
    main()
