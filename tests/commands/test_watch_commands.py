"""`subscribe track NAME`, `unsubscribe track NAME` and `watches` in the shared command layer."""

from __future__ import annotations

from bot.chat.dispatch import dispatch
from bot.chat.services import Services
from storage import subscriptions as subs_store
from storage import watches as watch_store
from tests.commands.conftest import RecordingSchedule, req
from tests.conftest import Database
from tests.figures.watching import Feeder, container_reports


def _two_series(db: Database) -> None:
    feeder = Feeder(db.sessions, db.url)
    for story in container_reports()[:2]:
        feeder.feed(story)


async def test_subscribe_track_watches_by_fuzzy_name_and_keeps_the_digest(
    services: Services, db: Database
) -> None:
    _two_series(db)
    await dispatch("subscribe", req("daily 07:30"), services)
    answer = await dispatch("subscribe", req("TRACK containers to russia"), services)
    assert not answer.error
    assert answer.plain_text().startswith("Watching containers of munitions to Russia:")
    again = await dispatch("subscribe", req("track containers"), services)
    assert again.plain_text().startswith("Already watching containers of munitions to Russia")
    with db.sessions() as s:
        sub = subs_store.get_subscription(s, platform="telegram", chat_id="42")
        assert sub is not None
        assert (sub.mode, sub.active) == ("daily", True)  # the digest stays as it was
        (watch,) = watch_store.list_watches(s, subscription_id=sub.id)
        assert watch.series_slug == "containers-of-munitions-to-russia"

    missing = await dispatch("subscribe", req("track bananas"), services)
    assert missing.error
    assert "No tracked figure matches “bananas”. Send /track for the list." in missing.plain_text()

    # a plain /unsubscribe stops everything; the watch waits, paused, in the listing
    await dispatch("unsubscribe", req(), services)
    listing = await dispatch("watches", req(), services)
    assert "containers of munitions to Russia: latest about 5,000" in listing.plain_text()
    assert "Paused: this chat is unsubscribed." in listing.plain_text()


async def test_a_watch_only_chat_comes_and_goes_with_its_watches(
    services: Services, db: Database
) -> None:
    _two_series(db)
    schedule = services.schedule
    assert isinstance(schedule, RecordingSchedule)
    empty = await dispatch("subscribe", req("track", platform="slack", chat_id="C1"), services)
    assert "This chat watches no tracked figure." in empty.plain_text()
    assert "/nkwatch subscribe track containers" in empty.plain_text()

    await dispatch("subscribe", req("track containers", platform="slack", chat_id="C1"), services)
    assert [(v.mode, v.active, v.daily) for v in schedule.changes] == [("watch", True, False)]
    nothing = await dispatch(
        "unsubscribe", req("track troops", platform="slack", chat_id="C1"), services
    )
    assert nothing.error
    assert "This chat does not watch “troops”" in nothing.plain_text()
    done = await dispatch(
        "unsubscribe", req("track containers", platform="slack", chat_id="C1"), services
    )
    assert done.plain_text() == "Stopped watching containers of munitions to Russia."
    assert [(v.mode, v.active) for v in schedule.changes][-1] == ("watch", False)
    usage = await dispatch("unsubscribe", req("track", platform="slack", chat_id="C1"), services)
    assert usage.error


async def test_only_group_admins_change_a_groups_watches(services: Services, db: Database) -> None:
    _two_series(db)
    member = req("track containers", chat_id="-100", is_group=True)
    refused = await dispatch("subscribe", member, services)
    assert refused.error
    assert "administrators" in refused.plain_text()
    listing = await dispatch("watches", req(chat_id="-100", is_group=True), services)
    assert not listing.error  # reading is for everyone
    admin = req("track containers", chat_id="-100", is_group=True, is_chat_admin=True)
    assert not (await dispatch("subscribe", admin, services)).error
