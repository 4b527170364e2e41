from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from storage import subscriptions as subs
from tests.helpers import queries


def test_subscribe_creates_with_defaults_and_is_idempotent(session: Session) -> None:
    first = subs.subscribe(session, platform="telegram", chat_id="42", mode="daily")
    again = subs.subscribe(session, platform="telegram", chat_id="42", mode="daily")
    session.commit()
    assert first.id == again.id
    assert (first.digest_time, first.timezone, first.active) == (time(8, 0), "UTC", True)
    assert queries.count_active(session) == 1


def test_subscribe_keeps_settings_not_given(session: Session) -> None:
    subs.subscribe(
        session,
        platform="telegram",
        chat_id="1",
        mode="daily",
        digest_time=time(7, 30),
        timezone="Asia/Seoul",
    )
    subs.deactivate(session, platform="telegram", chat_id="1", reason="unsubscribed")
    back = subs.subscribe(session, platform="telegram", chat_id="1", mode="daily")
    session.commit()
    assert (back.digest_time, back.timezone, back.active, back.deactivated_reason) == (
        time(7, 30),
        "Asia/Seoul",
        True,
        None,
    )


def test_same_chat_id_on_two_platforms_is_two_subscriptions(session: Session) -> None:
    a = subs.subscribe(session, platform="telegram", chat_id="C1", mode="daily")
    b = subs.subscribe(session, platform="slack", chat_id="C1", mode="instant")
    session.commit()
    assert a.id != b.id
    assert [s.chat_id for s in subs.list_active(session, platform="slack")] == ["C1"]


def test_update_settings_only_touches_given_fields(session: Session) -> None:
    subs.subscribe(session, platform="telegram", chat_id="5", mode="daily")
    sub = subs.update_settings(
        session, platform="telegram", chat_id="5", instant_alerts=True, min_relevance=2.5
    )
    session.commit()
    assert sub is not None
    assert (sub.instant_alerts, sub.min_relevance, sub.digest_time) == (True, 2.5, time(8, 0))
    assert (
        subs.update_settings(session, platform="telegram", chat_id="nope", timezone="UTC") is None
    )


def test_deactivate_records_reason_and_reports_whether_anything_changed(session: Session) -> None:
    subs.subscribe(session, platform="telegram", chat_id="9", mode="daily")
    assert subs.deactivate(session, platform="telegram", chat_id="9", reason="forbidden: blocked")
    assert not subs.deactivate(session, platform="telegram", chat_id="9", reason="again")
    assert not subs.deactivate(session, platform="telegram", chat_id="unknown", reason="x")
    session.commit()
    sub = subs.get_subscription(session, platform="telegram", chat_id="9")
    assert sub is not None
    assert (sub.active, sub.deactivated_reason) == (False, "forbidden: blocked")
    assert subs.list_active(session) == []


def test_migrate_moves_the_row_to_the_new_chat_id(session: Session) -> None:
    old = subs.subscribe(session, platform="telegram", chat_id="-100", mode="daily")
    moved = subs.migrate_chat(
        session, platform="telegram", old_chat_id="-100", new_chat_id="-1009999"
    )
    session.commit()
    assert moved is not None
    assert moved.id == old.id
    assert moved.chat_id == "-1009999"
    assert subs.get_subscription(session, platform="telegram", chat_id="-100") is None


def test_migrate_onto_an_existing_subscription_keeps_one_active(session: Session) -> None:
    subs.subscribe(session, platform="telegram", chat_id="-1", mode="daily")
    target = subs.subscribe(session, platform="telegram", chat_id="-1001", mode="instant")
    subs.deactivate(session, platform="telegram", chat_id="-1001", reason="unsubscribed")
    result = subs.migrate_chat(session, platform="telegram", old_chat_id="-1", new_chat_id="-1001")
    session.commit()
    assert result is not None
    assert result.id == target.id
    assert [s.chat_id for s in subs.list_active(session)] == ["-1001"]


def test_list_instant_includes_daily_chats_with_alerts_on(session: Session) -> None:
    subs.subscribe(session, platform="telegram", chat_id="d", mode="daily")
    subs.subscribe(session, platform="telegram", chat_id="i", mode="instant")
    subs.subscribe(session, platform="telegram", chat_id="da", mode="daily", instant_alerts=True)
    subs.subscribe(session, platform="telegram", chat_id="gone", mode="instant")
    subs.deactivate(session, platform="telegram", chat_id="gone", reason="x")
    session.commit()
    assert sorted(s.chat_id for s in subs.list_instant(session, platform="telegram")) == ["da", "i"]
