"""Series watches and their alert ledger on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage import watches as watch_store
from storage.models import SeriesWatch
from tests.conftest import Database
from tests.helpers import queries


def _watch(session: Session, sub_id: int, slug: str = "containers-to-russia") -> SeriesWatch:
    watch, created = watch_store.add_watch(
        session,
        subscription_id=sub_id,
        series_slug=slug,
        series_name=slug.replace("-", " "),
        unit=slug.split("-", maxsplit=1)[0],
        anchor_claim_id=3,
        seen_claim_id=9,
    )
    assert created
    return watch


def test_one_watch_per_chat_and_series(db: Database) -> None:
    with db.sessions.begin() as s:
        sub = subs_store.subscribe(s, platform="telegram", chat_id="42", mode="watch")
        first = _watch(s, sub.id)
        again, created = watch_store.add_watch(
            s,
            subscription_id=sub.id,
            series_slug="containers-to-russia",
            series_name="containers to Russia",
            unit="containers",
            anchor_claim_id=5,
            seen_claim_id=20,
        )
        assert (again.id, created, again.seen_claim_id) == (first.id, False, 9)
        _watch(s, sub.id, "troops-to-russia")
        other = subs_store.subscribe(s, platform="slack", chat_id="C1", mode="daily")
        _watch(s, other.id)
        sub_id, other_id = sub.id, other.id
    with db.sessions.begin() as s:
        assert [w.series_slug for w in watch_store.list_watches(s, subscription_id=sub_id)] == [
            "containers-to-russia",
            "troops-to-russia",
        ]
        assert watch_store.count_watches(s, subscription_id=other_id) == 1
        (troops,) = [
            w.id for w in watch_store.list_watches(s, subscription_id=sub_id) if w.unit == "troops"
        ]
        assert watch_store.remove_watches(s, watch_ids=[troops]) == 1
        assert watch_store.remove_watches(s, watch_ids=[]) == 0
    with db.sessions() as s:
        assert watch_store.count_watches(s, subscription_id=sub_id) == 1


def test_only_active_chats_are_watching(db: Database) -> None:
    with db.sessions.begin() as s:
        assert not watch_store.any_active_watch(s)
        live = subs_store.subscribe(s, platform="telegram", chat_id="42", mode="watch")
        gone = subs_store.subscribe(s, platform="telegram", chat_id="43", mode="daily")
        _watch(s, live.id)
        _watch(s, gone.id)
        subs_store.deactivate(s, platform="telegram", chat_id="43", reason="unsubscribed")
        live_id = live.id
    with db.sessions() as s:
        assert watch_store.any_active_watch(s)
        assert [sub.id for _, sub in watch_store.active_watches(s)] == [live_id]
    with db.sessions.begin() as s:
        subs_store.deactivate(s, platform="telegram", chat_id="42", reason="unsubscribed")
    with db.sessions() as s:
        assert not watch_store.any_active_watch(s)
        assert watch_store.active_watches(s) == []


def test_seen_claim_only_moves_forward_and_renames_follow_the_data(db: Database) -> None:
    with db.sessions.begin() as s:
        sub = subs_store.subscribe(s, platform="telegram", chat_id="42", mode="watch")
        watch = _watch(s, sub.id)
        _watch(s, sub.id, "troops-to-russia")
        watch_store.mark_seen(s, watch_id=watch.id, claim_id=12)
        watch_store.mark_seen(s, watch_id=watch.id, claim_id=4)
        watch_store.rename_watch(
            s, watch_id=watch.id, series_slug="containers-to-russia-since-2022", series_name="x"
        )
        watch_store.rename_watch(  # the chat watches that name already: keep both apart
            s, watch_id=watch.id, series_slug="troops-to-russia", series_name="troops"
        )
        watch_id = watch.id
    with db.sessions() as s:
        stored = s.get_one(SeriesWatch, watch_id)
        assert (stored.seen_claim_id, stored.series_slug) == (12, "containers-to-russia-since-2022")


def test_an_alert_is_recorded_once_per_chat_point_and_unit(db: Database) -> None:
    with db.sessions.begin() as s:
        a = subs_store.subscribe(s, platform="telegram", chat_id="42", mode="watch")
        b = subs_store.subscribe(s, platform="slack", chat_id="C1", mode="watch")
        first = watch_store.record_alert(
            s, subscription_id=a.id, claim_id=7, unit="containers", series_slug="c"
        )
        assert first is not None
        assert (
            watch_store.record_alert(
                s, subscription_id=a.id, claim_id=7, unit="containers", series_slug="c"
            )
            is None
        )
        assert watch_store.record_alert(
            s, subscription_id=a.id, claim_id=7, unit="troops", series_slug="t"
        )
        assert watch_store.record_alert(
            s, subscription_id=b.id, claim_id=7, unit="containers", series_slug="c"
        )
        delivery = outbox.create_delivery(
            s,
            subscription_id=a.id,
            kind="series",
            window_start=None,
            window_end=None,
            article_ids=[],
            payload={"messages": []},
        )
        watch_store.set_alert_delivery(s, alert_id=first.id, delivery_id=delivery.id)
        a_id, delivery_id = a.id, delivery.id
    with db.sessions() as s:
        alerts = queries.list_alerts(s, subscription_id=a_id)
        assert [(x.claim_id, x.unit, x.delivery_id) for x in alerts] == [
            (7, "containers", delivery_id),
            (7, "troops", None),
        ]
        assert len(queries.list_alerts(s)) == 3
