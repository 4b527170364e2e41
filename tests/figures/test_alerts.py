"""Series alerts queued by the judging pass: one per watching chat and move, never twice."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bot.figures import alerts
from bot.figures.alerts import KIND, queue_series_alerts
from bot.figures.query import load_series
from bot.figures.series import find_series
from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage import watches as watch_store
from storage.db import transaction
from storage.models import Delivery, SeriesWatch
from tests.conftest import Database
from tests.figures.watching import BORDER, CONFIRMED, RESTATED, Feeder, container_reports
from tests.helpers import queries
from tests.telegram.test_track import png_size


def _watch(db: Database, platform: str, chat_id: str, *, mode: str = "watch") -> int:
    """Subscribe a chat and make it watch the container series as it stands now."""
    with transaction(db.sessions) as s:
        series = find_series(load_series(s), "containers")
        assert series is not None
        sub = subs_store.subscribe(s, platform=platform, chat_id=chat_id, mode=mode)
        watch_store.add_watch(
            s,
            subscription_id=sub.id,
            series_slug=series.slug,
            series_name=series.name,
            unit=series.key.unit,
            anchor_claim_id=series.points[0].claim_id,
            seen_claim_id=max(p.claim_id for p in series.points),
        )
        return sub.id


def _alerts(db: Database, sub_id: int) -> list[Delivery]:
    with db.sessions() as s:
        rows = outbox.list_deliveries(s, subscription_id=sub_id)
    assert all(r.kind == KIND for r in rows)
    return list(rows)


def _message(row: Delivery) -> dict[str, Any]:
    (message,) = row.payload["messages"]
    assert isinstance(message, dict)
    return message


def test_each_move_queues_one_alert_per_watching_chat(db: Database) -> None:
    feeder = Feeder(db.sessions, db.url)
    reports = container_reports()
    for story in reports[:2]:
        feeder.feed(story)
    telegram = _watch(db, "telegram", "42")
    slack = _watch(db, "slack", "C0WATCH01", mode="daily")  # digests and a watch
    assert _alerts(db, telegram) == []  # what was known when the watch began is not news

    for story in [*reports[2:5], RESTATED, CONFIRMED, reports[5]]:
        feeder.feed(story)

    tg, sl = _alerts(db, telegram), _alerts(db, slack)
    firsts = [_message(r)["text"].split("\n")[0] for r in tg]
    assert firsts == [
        "<b>containers of munitions to Russia</b>: about 5,000 → about 6,700 (Seoul Daily, "
        '2024-02-27) <a href="https://news.example/20240227/seoul">link</a>',
        "<b>containers of munitions to Russia</b>: about 6,700 → 3,000–4,500 (Washington Wire, "
        '2024-03-08) <a href="https://news.example/20240308/washington">link</a>',
        "<b>containers of munitions to Russia</b>: 3,000–4,500 → 10,000 (Seoul Daily, "
        '2024-06-20) <a href="https://news.example/20240620/seoul">link</a>',
        # RESTATED (same outlet, same figure) is no move; CONFIRMED brings a new source
        f"<b>containers of munitions to Russia</b>: 10,000, now also reported by {BORDER} "
        '(2024-07-15) <a href="https://news.example/20240715/border">link</a>',
        "<b>containers of munitions to Russia</b>: 10,000 → up to 13,000 (Washington Wire, "
        '2024-10-10) <a href="https://news.example/20241010/washington">link</a>',
    ]
    last = _message(tg[-1])
    assert (
        "Path: more than 1,000 (Oct 2023) → about 5,000 (Dec 2023) → about 6,700 (Feb 2024) → "
        "3,000–4,500 (Mar 2024) → 10,000 (Jun 2024) → up to 13,000 (Oct 2024)"
    ) in last["text"]
    assert "/track containers-of-munitions-to-russia" in last["text"]
    assert png_size(base64.b64decode(last["photo"])) == (1080, 720)  # the chart, for sendPhoto
    assert last["filename"] == "containers-of-munitions-to-russia.png"

    assert len(sl) == len(tg)
    slack_text = _message(sl[-1])["text"]
    assert "10,000 → up to 13,000 (Washington Wire, 2024-10-10)" in slack_text
    assert "/nkwatch track containers-of-munitions-to-russia" in slack_text
    assert all("photo" not in _message(r) for r in sl)


def test_re_poll_restart_and_lost_cursor_queue_nothing_twice(db: Database) -> None:
    feeder = Feeder(db.sessions, db.url)
    reports = container_reports()
    for story in reports[:2]:
        feeder.feed(story)
    sub_id = _watch(db, "telegram", "42")
    with db.sessions() as s:
        (watch,) = watch_store.list_watches(s, subscription_id=sub_id)
        start = watch.seen_claim_id
    for story in reports[2:4]:
        feeder.feed(story)
    assert len(_alerts(db, sub_id)) == 2

    feeder.repoll(feeder.article_ids)  # the same stories polled again: already judged
    restarted = Feeder(db.sessions, db.url)  # a new process with its own engine
    restarted.repoll(feeder.article_ids)
    with transaction(db.sessions) as s:  # even a watch whose cursor went back to its start
        s.get_one(SeriesWatch, watch.id).seen_claim_id = start
    with transaction(db.sessions) as s:
        assert queue_series_alerts(s) == 0
    assert len(_alerts(db, sub_id)) == 2
    with db.sessions() as s:
        assert len(queries.list_alerts(s, subscription_id=sub_id)) == 2

    restarted.feed(reports[4])
    assert len(_alerts(db, sub_id)) == 3


def test_an_unsubscribed_or_unwatched_chat_gets_no_alert(db: Database) -> None:
    feeder = Feeder(db.sessions, db.url)
    reports = container_reports()
    for story in reports[:2]:
        feeder.feed(story)
    gone = _watch(db, "telegram", "42")
    dropped = _watch(db, "slack", "C0WATCH01")
    kept = _watch(db, "telegram", "43")
    with transaction(db.sessions) as s:
        subs_store.deactivate(s, platform="telegram", chat_id="42", reason="unsubscribed")
        (watch,) = watch_store.list_watches(s, subscription_id=dropped)
        watch_store.remove_watches(s, watch_ids=[watch.id])
    feeder.feed(reports[2])
    assert (len(_alerts(db, gone)), len(_alerts(db, dropped)), len(_alerts(db, kept))) == (0, 0, 1)


def test_watch_only_chats_get_no_digest(db: Database) -> None:
    feeder = Feeder(db.sessions, db.url)
    for story in container_reports()[:2]:
        feeder.feed(story)
    watch_only = _watch(db, "telegram", "42")
    daily = _watch(db, "telegram", "43", mode="daily")
    with db.sessions() as s:
        composing = [sub.id for sub in outbox.active_subscriptions(s)]
        alerting = [sub.id for sub in subs_store.list_instant(s)]
    assert composing == [daily]
    assert alerting == [watch_only, daily]  # the Telegram alert tick sends their outbox rows


def test_a_failed_alert_pass_keeps_the_judging_and_the_next_pass_catches_up(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeder = Feeder(db.sessions, db.url)
    reports = container_reports()
    for story in reports[:2]:
        feeder.feed(story)
    sub_id = _watch(db, "telegram", "42")

    def broken(session: object) -> list[object]:
        raise RuntimeError("series store unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(alerts, "load_series", broken)
        feeder.feed(reports[2])
    with db.sessions() as s:
        series = find_series(load_series(s), "containers")
        assert series is not None
        assert series.latest.shown == "about 6,700"  # the story was judged and stored anyway
    assert _alerts(db, sub_id) == []

    feeder.feed(reports[3])
    firsts = [_message(r)["text"].split("\n")[0] for r in _alerts(db, sub_id)]
    assert len(firsts) == 2
    assert "→ about 6,700 (" in firsts[0]
    assert "→ 3,000–4,500 (" in firsts[1]
