"""SIGKILL a real ``nkwatch deliver`` process mid-delivery, restart it, and count what arrived.

The process delivers to a loopback recorder (tests/helpers/recording_server.py) that records each
message before answering it, like a platform that accepted a message whose answer never came back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import deliveries as outbox
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Subscription
from tests.conftest import BACKENDS
from tests.helpers.db import POSTGRES_ENV, database, postgres_url
from tests.helpers.recording_server import Received, RecordingServer
from tests.helpers.stories import C, add_story, add_subscription

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CHATS = 8


def nkwatch_command() -> list[str]:
    """The real CLI, as a subprocess the test can kill."""
    return [sys.executable, "-m", "bot.cli"]


def _prepare(db_url: str, chats: int = CHATS) -> tuple[datetime, set[int]]:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    due = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    story_ids = set()
    with sessions() as session:
        for i in range(16):
            article, _ = add_story(
                session,
                title=f"Story {i}",
                at=due - timedelta(hours=2, minutes=i),
                claims=[
                    C(f"Claim {i}.{j}: " + "the factory expanded shell output " * 5)
                    for j in range(4)
                ],
            )
            story_ids.add(article.id)
        for chat in range(chats):
            add_subscription(
                session,
                chat_id=str(1000 + chat),
                digest_time=due.time(),
                created_at=now - timedelta(days=2),
            )
        session.commit()
    engine.dispose()
    return due, story_ids


def _start(
    db_url: str, server: RecordingServer, *, concurrency: int | None = 1
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NKWATCH_DATABASE_URL": db_url, "NKWATCH_LOG_LEVEL": "INFO"}
    cmd = [
        *nkwatch_command(),
        "deliver",
        "--loopback-url",
        server.url,
        "--lease-seconds",
        "2",
        "--interval",
        "0.2",
        *(["--concurrency", str(concurrency)] if concurrency is not None else []),
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_sigkill_mid_delivery_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    due, story_ids = _prepare(db_url)
    in_flight: list[Received] = []

    with RecordingServer(delay=0.3) as server:
        # Kill 1: while the 4th message is in flight (received, not yet answered).
        proc = _start(db_url, server)
        fired = threading.Event()

        def kill_in_flight(item: Received) -> None:
            if len(server.received) == 4 and not fired.is_set():
                in_flight.append(item)
                os.kill(proc.pid, signal.SIGKILL)
                fired.set()

        server.on_receive = kill_in_flight
        assert fired.wait(60), proc.communicate(timeout=5)[0].decode()[-3000:]
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        server.on_receive = None

        # Kill 2: restart, wait for 6 more messages, then kill at whatever point it is.
        proc = _start(db_url, server)
        assert server.wait_for(10, within=60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

        # Restart and let it finish.
        proc = _start(db_url, server)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out.decode()[-3000:]
        received = list(server.received)

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        rows = outbox.list_deliveries(session)
        subs = {s.id: s for s in session.query(Subscription)}
        # one digest per chat: nothing recomposed after the crashes, every story in it
        assert sorted(subs[r.subscription_id].chat_id for r in rows) == [
            str(1000 + i) for i in range(CHATS)
        ]
        assert all(set(r.article_ids) == story_ids for r in rows)
        assert all(s.covered_until == due for s in subs.values())
        assert {r.status for r in rows} <= {"sent", "ambiguous"}

        counts = Counter((r.chat_id, r.message["text"]) for r in received)
        ambiguous = 0
        total_parts = 0
        for row in rows:
            chat = subs[row.subscription_id].chat_id
            messages = row.payload["messages"]
            assert len(row.platform_message_ids) == len(messages)
            for part, ids in zip(messages, row.platform_message_ids, strict=True):
                total_parts += 1
                seen = counts[(chat, part["text"])]
                if ids is None:
                    ambiguous += 1
                    assert seen <= 1
                else:
                    assert seen == 1, (chat, row.id)
        # every message the recorder got belongs to some part, none twice
        assert max(counts.values()) == 1
        assert total_parts > CHATS  # digests of several messages: resumed mid-delivery
        # kill 1 hit an in-flight send: received once, recorded ambiguous, not resent
        (hit,) = in_flight
        hit_row = next(r for r in rows if subs[r.subscription_id].chat_id == hit.chat_id)
        index = [m["text"] for m in hit_row.payload["messages"]].index(hit.message["text"])
        assert hit_row.platform_message_ids[index] is None
        # one send in flight per process (--concurrency 1): at most one ambiguous part per kill
        assert 1 <= ambiguous <= 2
        never_arrived = sum(
            1
            for row in rows
            for part in row.payload["messages"]
            if counts[(subs[row.subscription_id].chat_id, part["text"])] == 0
        )
        # a part is marked just before its first byte is written: one never written stays
        # pending and is sent after the restart, so nothing is lost to either kill
        assert never_arrived == 0
    engine.dispose()
    print(
        f"\ncrash test: {len(rows)} digests, {total_parts} messages, {len(received)} received, "
        f"{ambiguous} ambiguous after 2 SIGKILLs"
    )


def _in_flight(db_url: str) -> set[tuple[int, int]]:
    """Parts (row, index) marked in flight now: after a kill, the ones recovery calls ambiguous."""
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        ids = {
            (r.id, len(r.platform_message_ids))
            for r in outbox.list_deliveries(session)
            if r.status == "sending"
        }
    engine.dispose()
    return ids


def _crash_round(db_url: str, kills: list[int]) -> dict[str, int]:
    """Deliver 120 parts at the default concurrency, SIGKILLed once ``kills[i]`` messages have
    arrived in all, then let a last process finish; count what arrived."""
    _prepare(db_url, chats=40)  # 3 parts each: 120 parts
    marked_at_kills: list[set[tuple[int, int]]] = []
    with RecordingServer(delay=0.3) as server:
        for at in kills:
            proc = _start(db_url, server, concurrency=None)
            assert server.wait_for(at, within=180), (at, len(server.received))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            # a row still "sending" from an earlier kill (its lease not yet run out) is not new
            seen = set().union(*marked_at_kills)
            marked_at_kills.append(_in_flight(db_url) - seen)
        proc = _start(db_url, server, concurrency=None)
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, out.decode()[-3000:]
        received = list(server.received)

    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        rows = outbox.list_deliveries(session)
        subs = {s.id: s for s in session.query(Subscription)}
        counts = Counter((r.chat_id, r.message["text"]) for r in received)
        parts = [
            (subs[row.subscription_id].chat_id, part["text"], ids)
            for row in rows
            for part, ids in zip(row.payload["messages"], row.platform_message_ids, strict=True)
        ]
    engine.dispose()
    assert {r.status for r in rows} <= {"sent", "ambiguous"}
    assert len(parts) >= 100
    return {
        "parts": len(parts),
        "lost": sum(1 for chat, text, _ in parts if counts[(chat, text)] == 0),
        "duplicated": sum(1 for chat, text, _ in parts if counts[(chat, text)] > 1),
        "ambiguous": sum(1 for *_, ids in parts if ids is None),
        "ambiguous_arrived": sum(1 for c, t, ids in parts if ids is None and counts[(c, t)]),
        "max_marked_at_a_kill": max(len(m) for m in marked_at_kills),
        "marked_at_kills": sum(len(m) for m in marked_at_kills),
    }


@pytest.mark.parametrize("kind", BACKENDS)
def test_repeated_sigkill_at_default_concurrency_loses_and_duplicates_nothing(
    tmp_path: Path, kind: str
) -> None:
    """Eight sends in flight (the default), four SIGKILLs at different points, then a finish;
    ``NKWATCH_CRASH_ROUNDS`` rounds (default 3), each on a fresh outbox.

    Lost: a part that never arrived. Duplicated: one that arrived twice. Ambiguous: recorded as
    maybe-arrived, never resent. A part is marked in flight just before its request's first byte
    (its rate slot already held), so a kill before that leaves it pending and it is sent later:
    none lost, none twice, and at each kill at most the sends in flight (8) are left ambiguous.
    """
    if kind == "postgres" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    rounds = int(os.environ.get("NKWATCH_CRASH_ROUNDS", "3"))
    results = []
    for number in range(rounds):
        place = tmp_path / str(number)
        place.mkdir()
        with database(kind, place) as (db_url, _engine):
            result = _crash_round(db_url, [15, 40, 65, 90])
        results.append(result)
        print(
            f"\ncrash round {number + 1} ({kind}), default concurrency, 4 SIGKILLs: "
            f"{result['parts']} "
            f"parts, {result['lost']} lost, {result['duplicated']} duplicated, "
            f"{result['ambiguous']} ambiguous ({result['ambiguous_arrived']} of them arrived; "
            f"at most {result['max_marked_at_a_kill']} in flight at a kill)"
        )
    total = {key: sum(r[key] for r in results) for key in ("lost", "duplicated", "ambiguous")}
    print(f"crash test ({kind}), {rounds} rounds x 4 SIGKILLs: {total}")
    for result in results:
        assert result["lost"] == 0, result
        assert result["duplicated"] == 0, result
        assert result["max_marked_at_a_kill"] <= 8, result  # default --concurrency
        assert result["ambiguous"] <= result["marked_at_kills"], result
