"""SQL statements and time per ``/latest N``: the chat layer's story list over a SQLite file.

Counts every statement the engine sends (SQLAlchemy's ``before_cursor_execute``) while the shared
command layer answers ``/latest N`` for N = 1, 5 and 20, with that many stories in the database,
each with three claims (new, repeated, updated). A list that asks once per story grows with N;
one that asks once for all stays flat.

    python bench/latest_queries_bench.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.chat.adapters import DbNews  # noqa: E402
from bot.chat.dispatch import dispatch  # noqa: E402
from bot.chat.services import Request, Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction, upgrade  # noqa: E402
from tests.helpers.stories import C, add_story  # noqa: E402

SIZES = (1, 5, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="runs of each /latest N to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        at = datetime(2026, 11, 19, 9, tzinfo=UTC)
        with transaction(sessions) as session:
            first = None
            for n in range(max(SIZES)):
                _, claims = add_story(
                    session,
                    title=f"Story {n}",
                    claims=[
                        C(f"Claim {n} is new."),
                        C("Shells were sent.", "repeated", first),
                        C("Range is 2,000 km.", "updated", first),
                    ],
                    at=at - timedelta(hours=n),
                )
                first = first or claims[0]
        services = Services(
            settings=Settings(database_url=url), sessions=sessions, news=DbNews(sessions)
        )
        request = Request(platform="telegram", chat_id="1", user_id="1")
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine, "before_cursor_execute", count)
        print(f"{'N':>3} {'statements':>10} {'wall ms':>8} {'cpu ms':>7}  (per /latest N)")
        for size in SIZES:
            req = replace(request, args=str(size))
            statements = 0
            asyncio.run(dispatch("latest", req, services))
            per_call = statements
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.repeat):
                asyncio.run(dispatch("latest", req, services))
            wall = (time.perf_counter() - wall) * 1000 / args.repeat
            cpu = (time.process_time() - cpu) * 1000 / args.repeat
            print(f"{size:>3} {per_call:>10} {wall:>8.2f} {cpu:>7.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
