"""Several processes, one knowledge base: judging is serialised and each sees the others' claims.

Each ``SharedEngine`` here stands for one process (its own in-memory claim index); threads with
their own connections stand for processes running at the same time. The lock tests use a real
second process where the point is what happens when one dies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bot.claims.engine import ClaimEngine
from bot.knowledge import SharedEngine, prepare_knowledge_base
from bot.settings import Settings
from storage import articles as article_store
from storage import claims as claim_store
from storage import locks
from storage.db import transaction
from storage.models import Article, Claim
from tests.conftest import Database
from tests.helpers import queries
from tests.helpers.db import postgres_database, postgres_url

T = TypeVar("T")
FACT = "North Korea shipped 6,700 containers of munitions to Russia, South Korea's defence ministry said."
OTHER_A = (
    "Kim Jong Un toured weapons factories for three days through Saturday, state media reported."
)
OTHER_B = "The price of rice in Pyongyang markets rose sharply last month, traders said."


def _settings(db: Database) -> Settings:
    return Settings(database_url=db.url, semantic="off")


def _feed_article(db: Database, key: str, body: str) -> int:
    with db.sessions.begin() as s:
        return article_store.add_article(
            s,
            origin="feed",
            title=f"story {key}",
            content_hash=key,
            text=body,
            url=f"https://{key}.example/1",
            outlet=f"Outlet {key}",
            published_at=datetime(2024, 5, 1, tzinfo=UTC),
        ).id


def _verdicts(db: Database, article_id: int) -> dict[str, str]:
    with db.sessions() as s:
        return {
            c.text: c.verdict for c in claim_store.list_article_claims(s, article_id=article_id)
        }


def _in_threads(*jobs: Callable[[], T]) -> list[T]:
    """Run the jobs at the same moment on their own threads; re-raise the first failure."""
    start = threading.Barrier(len(jobs))
    results: list[T | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], T]) -> None:
        try:
            start.wait()
            results[index] = job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _postgres_only(db: Database) -> None:
    if db.kind != "postgres":
        pytest.skip("SQLite serves one process; the cross-process locks are PostgreSQL's")


# --- judging against the other processes' claims -----------------------------------------------


def test_each_process_judges_against_claims_another_process_stored(db: Database) -> None:
    first = SharedEngine(ClaimEngine.from_settings(_settings(db), db.sessions))
    second = SharedEngine(ClaimEngine.from_settings(_settings(db), db.sessions))
    a = _feed_article(db, "a", f"{FACT} {OTHER_A}")
    with transaction(db.sessions) as s:
        assert first.ingest(s, [a]).new == 2
    b = _feed_article(db, "b", f"{FACT} {OTHER_B}")
    with transaction(db.sessions) as s:
        counts = second.ingest(s, [b])
    assert (counts.new, counts.repeated) == (1, 1)
    assert _verdicts(db, b)[FACT] == "repeated"
    # /claim from a chat served by the first process sees what the second stored
    assert first.check(OTHER_B).status == "repeated"


def test_concurrent_ingests_call_one_fact_new_once(db: Database) -> None:
    """Two processes judge two stories with one common fact at the same moment."""
    first = SharedEngine(ClaimEngine.from_settings(_settings(db), db.sessions))
    second = SharedEngine(ClaimEngine.from_settings(_settings(db), db.sessions))
    a = _feed_article(db, "a", f"{FACT} {OTHER_A}")
    b = _feed_article(db, "b", f"{FACT} {OTHER_B}")

    def ingest(shared: SharedEngine, article_id: int) -> None:
        with transaction(db.sessions) as s:
            shared.ingest(s, [article_id])

    _in_threads(lambda: ingest(first, a), lambda: ingest(second, b))
    assert sorted([_verdicts(db, a)[FACT], _verdicts(db, b)[FACT]]) == ["new", "repeated"]


def test_processes_starting_together_seed_and_judge_once(db: Database) -> None:
    _postgres_only(db)
    settings = _settings(db)
    started = _in_threads(
        lambda: prepare_knowledge_base(settings, db.sessions),
        lambda: prepare_knowledge_base(settings, db.sessions),
    )
    with db.sessions() as s:
        seeds = s.scalar(select(func.count()).select_from(Article))
        stored = queries.count_claims(s)
        pending = s.scalar(select(func.count()).where(Article.claims_extracted.is_(False)))
        new_per_text = s.execute(
            select(Claim.text, func.count()).where(Claim.verdict == "new").group_by(Claim.text)
        ).all()
    assert seeds == 5
    assert pending == 0
    assert stored > 0
    assert all(count == 1 for _, count in new_per_text)
    assert [len(shared.engine.index) for shared in started] == [stored, stored]


# --- the lock itself -----------------------------------------------------------------------------


def _locked_out(db: Database, name: str = locks.KNOWLEDGE) -> bool:
    """True if ``lock_until_commit`` would wait: it gives up after 300 ms instead."""
    with db.sessions() as s:
        s.execute(text("SET lock_timeout = '300ms'"))
        try:
            locks.lock_until_commit(s, name=name)
        except OperationalError as exc:
            if "lock timeout" not in str(exc):
                raise
            return True
        finally:
            s.rollback()
            s.execute(text("RESET lock_timeout"))
    return False


def test_held_lock_and_transaction_lock_exclude_each_other(db: Database) -> None:
    _postgres_only(db)
    assert not _locked_out(db)
    with locks.hold_lock(db.engine, name=locks.KNOWLEDGE):
        assert _locked_out(db)
        assert not _locked_out(db, name="another lock")
    assert not _locked_out(db)
    with db.sessions() as holder:
        locks.lock_until_commit(holder, name=locks.KNOWLEDGE)
        assert _locked_out(db)
        holder.commit()  # the transaction lock ends with the transaction
    assert not _locked_out(db)


def test_lock_names_are_per_schema(db: Database) -> None:
    """Deployments (or test runs) in two schemas of one database do not wait on each other."""
    _postgres_only(db)
    base = postgres_url()
    assert base is not None
    with postgres_database(base) as (_, other_engine):
        with locks.hold_lock(other_engine, name=locks.KNOWLEDGE):
            assert not _locked_out(db)
        other_engine.dispose()


def test_the_lock_of_a_process_that_dies_is_freed(db: Database, tmp_path: Path) -> None:
    _postgres_only(db)
    holder = tmp_path / "holder.py"
    holder.write_text(
        "import sys, time\n"
        "from storage import locks\n"
        "from storage.db import make_engine\n"
        "with locks.hold_lock(make_engine(sys.argv[1]), name=locks.KNOWLEDGE):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, str(holder), db.url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        assert _locked_out(db)
    finally:
        proc.kill()
        proc.wait(30)
    # The server notices the closed connection; the lock is free within moments.
    for _ in range(50):
        if not _locked_out(db):
            break
    assert not _locked_out(db)
