"""Leases: one holder at a time, renewal by the holder only, hand-over once a lease runs out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from storage import leases
from tests.conftest import Database

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROLE = "telegram-updates"


def test_one_holder_until_the_lease_runs_out(db: Database) -> None:
    until = NOW + timedelta(seconds=30)
    with db.sessions.begin() as s:
        assert leases.acquire(s, name=ROLE, owner="a", now=NOW, until=until)
    with db.sessions.begin() as s:
        assert not leases.acquire(s, name=ROLE, owner="b", now=NOW, until=until)
        assert not leases.acquire(
            s, name=ROLE, owner="b", now=until - timedelta(seconds=1), until=until
        )
        assert leases.holder(s, name=ROLE, now=NOW) == "a"
        # another role is independent
        assert leases.acquire(s, name="other", owner="b", now=NOW, until=until)
    with db.sessions.begin() as s:
        # the holder may acquire again (a restart of its loop): that extends it
        assert leases.acquire(s, name=ROLE, owner="a", now=NOW, until=until + timedelta(seconds=5))
    later = until + timedelta(seconds=5)
    with db.sessions.begin() as s:
        assert leases.holder(s, name=ROLE, now=later) is None
        assert leases.acquire(
            s, name=ROLE, owner="b", now=later, until=later + timedelta(seconds=30)
        )
        assert leases.holder(s, name=ROLE, now=later) == "b"


def test_only_the_holder_renews_and_a_taken_over_lease_stays_lost(db: Database) -> None:
    with db.sessions.begin() as s:
        leases.acquire(s, name=ROLE, owner="a", now=NOW, until=NOW + timedelta(seconds=30))
    with db.sessions.begin() as s:
        assert leases.renew(s, name=ROLE, owner="a", until=NOW + timedelta(seconds=60))
        assert not leases.renew(s, name=ROLE, owner="b", until=NOW + timedelta(seconds=90))
        assert leases.holder(s, name=ROLE, now=NOW + timedelta(seconds=59)) == "a"
    expired = NOW + timedelta(seconds=61)
    with db.sessions.begin() as s:
        assert leases.acquire(
            s, name=ROLE, owner="b", now=expired, until=expired + timedelta(seconds=30)
        )
    with db.sessions.begin() as s:
        assert not leases.renew(s, name=ROLE, owner="a", until=expired + timedelta(seconds=60))
        assert leases.holder(s, name=ROLE, now=expired) == "b"


def test_release_frees_the_role_at_once_and_only_for_the_holder(db: Database) -> None:
    with db.sessions.begin() as s:
        leases.acquire(s, name=ROLE, owner="a", now=NOW, until=NOW + timedelta(seconds=30))
    with db.sessions.begin() as s:
        assert not leases.release(s, name=ROLE, owner="b")
        assert leases.holder(s, name=ROLE, now=NOW) == "a"
        assert leases.release(s, name=ROLE, owner="a")
        assert not leases.release(s, name=ROLE, owner="a")
        assert leases.holder(s, name=ROLE, now=NOW) is None
        assert not leases.renew(s, name=ROLE, owner="a", until=NOW + timedelta(seconds=30))
        assert leases.acquire(s, name=ROLE, owner="b", now=NOW, until=NOW + timedelta(seconds=30))


def _race(db: Database, now: datetime, contenders: int = 8) -> list[str]:
    """Threads with their own connections try to acquire at the same moment; returns winners."""
    start = threading.Barrier(contenders)
    won: list[str] = []
    errors: list[BaseException] = []

    def contender(owner: str) -> None:
        try:
            start.wait()
            with db.sessions.begin() as s:
                if leases.acquire(
                    s, name=ROLE, owner=owner, now=now, until=now + timedelta(seconds=30)
                ):
                    won.append(owner)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=contender, args=(f"{now:%H%M}-{i}",)) for i in range(contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return won


def test_racing_acquirers_get_one_holder(db: Database) -> None:
    """For a free lease, then for one that has run out: exactly one winner each time."""
    for now in (NOW, NOW + timedelta(minutes=5)):
        won = _race(db, now)
        assert len(won) == 1
        with db.sessions() as s:
            assert leases.holder(s, name=ROLE, now=now) == won[0]
