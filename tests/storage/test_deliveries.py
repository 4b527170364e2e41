from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage import deliveries as outbox
from storage.models import Delivery, Subscription
from tests.conftest import Database
from tests.helpers.stories import add_subscription

NOW = datetime(2026, 11, 20, 8, 5, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 20, 8, tzinfo=UTC)


def _delivery(
    session: Session, sub: Subscription, parts: int = 2, kind: str = "digest"
) -> Delivery:
    return outbox.create_delivery(
        session,
        subscription_id=sub.id,
        kind=kind,
        window_start=WINDOW_END - timedelta(days=1),
        window_end=WINDOW_END,
        article_ids=[1, 2],
        payload={"messages": [{"text": f"part {i}"} for i in range(parts)]},
    )


def test_parts_recorded_one_by_one_then_window_advances(session: Session) -> None:
    sub = add_subscription(session, chat_id="1")
    row = _delivery(session, sub)
    session.commit()
    (claimed,) = outbox.claim_next(session, owner="a", now=NOW, lease_seconds=60)
    assert claimed.id == row.id
    assert claimed.attempts == 1
    for i in range(2):
        assert outbox.begin_part(session, delivery_id=row.id, owner="a", now=NOW, lease_seconds=60)
        outbox.record_part(
            session, delivery_id=row.id, owner="a", message_ids=[str(10 + i)], now=NOW
        )
        session.commit()
        session.refresh(sub)
        assert (sub.covered_until is None) == (i == 0)  # only after the last part
    session.refresh(row)
    session.refresh(sub)
    assert row.status == "sent"
    assert row.platform_message_ids == [["10"], ["11"]]
    assert row.lease_owner is None
    assert row.sent_at == NOW
    assert sub.covered_until == WINDOW_END


def test_window_does_not_advance_before_the_platform_accepts(session: Session) -> None:
    sub = add_subscription(session, chat_id="1")
    row = _delivery(session, sub, parts=1)
    session.commit()
    outbox.claim_next(session, owner="a", now=NOW, lease_seconds=60)
    outbox.begin_part(session, delivery_id=row.id, owner="a", now=NOW, lease_seconds=60)
    session.commit()
    session.refresh(sub)
    assert sub.covered_until is None
    outbox.mark_retry(
        session, delivery_id=row.id, owner="a", not_before=NOW + timedelta(seconds=30), error="429"
    )
    session.commit()
    session.refresh(sub)
    assert sub.covered_until is None


def test_a_leased_row_is_not_claimed_twice(session: Session) -> None:
    sub = add_subscription(session, chat_id="1")
    _delivery(session, sub)
    session.commit()
    assert len(outbox.claim_next(session, owner="a", now=NOW, lease_seconds=60)) == 1
    session.commit()
    assert outbox.claim_next(session, owner="b", now=NOW, lease_seconds=60) == []
    # after the lease expires (owner died between parts) another process takes it over
    later = NOW + timedelta(seconds=61)
    (row,) = outbox.claim_next(session, owner="b", now=later, lease_seconds=60)
    assert row.lease_owner == "b"
    assert row.attempts == 2
    assert not outbox.begin_part(
        session, delivery_id=row.id, owner="a", now=later, lease_seconds=60
    )


def test_retry_waits_for_not_before(session: Session) -> None:
    sub = add_subscription(session, chat_id="1")
    row = _delivery(session, sub)
    session.commit()
    outbox.claim_next(session, owner="a", now=NOW, lease_seconds=60)
    outbox.begin_part(session, delivery_id=row.id, owner="a", now=NOW, lease_seconds=60)
    outbox.mark_retry(
        session,
        delivery_id=row.id,
        owner="a",
        not_before=NOW + timedelta(seconds=30),
        error="flood",
    )
    session.commit()
    assert (
        outbox.claim_next(session, owner="a", now=NOW + timedelta(seconds=29), lease_seconds=60)
        == []
    )
    assert (
        len(
            outbox.claim_next(session, owner="a", now=NOW + timedelta(seconds=30), lease_seconds=60)
        )
        == 1
    )


def test_interrupted_send_is_ambiguous_and_the_rest_continues(session: Session) -> None:
    sub = add_subscription(session, chat_id="1")
    row = _delivery(session, sub, parts=2)
    session.commit()
    outbox.claim_next(session, owner="dead", now=NOW, lease_seconds=60)
    outbox.begin_part(session, delivery_id=row.id, owner="dead", now=NOW, lease_seconds=60)
    session.commit()  # ... and the process is killed during the platform call
    assert outbox.recover_interrupted(session, owner="b", now=NOW + timedelta(seconds=59)) == []
    (recovered,) = outbox.recover_interrupted(session, owner="b", now=NOW + timedelta(seconds=61))
    session.commit()
    assert recovered.status == "pending"
    assert recovered.platform_message_ids == [None]
    assert recovered.lease_owner is None
    # the second part is sent normally; the first is never resent
    later = NOW + timedelta(seconds=62)
    (again,) = outbox.claim_next(session, owner="b", now=later, lease_seconds=60)
    assert outbox.part_count(again) - len(again.platform_message_ids) == 1
    outbox.begin_part(session, delivery_id=row.id, owner="b", now=later, lease_seconds=60)
    done = outbox.record_part(session, delivery_id=row.id, owner="b", message_ids=["7"], now=later)
    session.commit()
    assert done is not None
    assert done.status == "ambiguous"
    session.refresh(sub)
    assert sub.covered_until == WINDOW_END  # not recomposed: that would be a blind resend
    assert outbox.status_counts(session) == {"ambiguous": 1}


def test_instant_rows_do_not_move_a_daily_window(session: Session) -> None:
    sub = add_subscription(session, chat_id="1", instant_alerts=True)
    row = _delivery(session, sub, parts=1, kind="instant")
    session.commit()
    outbox.claim_next(session, owner="a", now=NOW, lease_seconds=60)
    outbox.begin_part(session, delivery_id=row.id, owner="a", now=NOW, lease_seconds=60)
    outbox.record_part(session, delivery_id=row.id, owner="a", message_ids=["1"], now=NOW)
    session.commit()
    session.refresh(sub)
    assert sub.covered_until is None
    assert outbox.last_window_end(session, subscription_id=sub.id, kind="instant") == WINDOW_END
    assert outbox.open_delivery(session, subscription_id=sub.id, kind="instant") is None


def test_platform_filter_and_subscription_outcomes(session: Session) -> None:
    tg = add_subscription(session, chat_id="1")
    sl = add_subscription(session, chat_id="C1", platform="slack")
    _delivery(session, tg)
    _delivery(session, sl)
    add_subscription(session, chat_id="-100")
    session.commit()
    rows = outbox.claim_next(
        session, owner="a", now=NOW, lease_seconds=60, limit=10, platforms=["slack"]
    )
    assert [r.subscription_id for r in rows] == [sl.id]
    assert not outbox.move_subscription(session, subscription_id=tg.id, new_chat_id="-100")
    assert outbox.move_subscription(session, subscription_id=tg.id, new_chat_id="-200")
    outbox.deactivate_subscription(session, subscription_id=sl.id, reason="channel_not_found")
    session.commit()
    session.refresh(tg)
    session.refresh(sl)
    assert tg.chat_id == "-200"
    assert not sl.active
    assert sl.deactivated_reason == "channel_not_found"
    assert [s.chat_id for s in outbox.active_subscriptions(session)] == ["-200", "-100"]


def test_concurrent_claims_never_share_a_row(db: Database) -> None:
    """Four threads with their own connections claim from one outbox until it is empty."""
    with db.sessions() as session:
        subs = [add_subscription(session, chat_id=str(i)) for i in range(30)]
        for sub in subs:
            _delivery(session, sub, parts=1)
        session.commit()
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[int] = []
        try:
            while True:
                with db.sessions() as session, session.begin():
                    rows = outbox.claim_next(
                        session, owner=name, now=NOW, lease_seconds=600, limit=3
                    )
                    mine += [r.id for r in rows]
                if not rows:
                    break
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == 30
    assert len(set(every)) == 30


def test_lock_subscription_is_exclusive_on_postgres_and_serialised_on_sqlite(db: Database) -> None:
    with db.sessions() as session:
        sub = add_subscription(session, chat_id="1")
        session.commit()
        sub_id = sub.id
    first = db.sessions()
    assert outbox.lock_subscription(first, subscription_id=sub_id) is not None
    if db.kind == "postgres":
        with db.sessions() as second:
            assert outbox.lock_subscription(second, subscription_id=sub_id) is None
    first.rollback()
    first.close()
    with db.sessions() as third:
        assert outbox.lock_subscription(third, subscription_id=sub_id) is not None
