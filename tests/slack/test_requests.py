"""Request verification, acknowledgement and event retries, through real bolt over HTTP."""

from __future__ import annotations

import json
import threading
import time

from bot.claims.types import Verdict
from tests.slack.conftest import SECRET, SlackHarness, sign, text_of


async def test_valid_signature_is_answered(slack: SlackHarness) -> None:
    answer = await slack.command("help")
    assert "/nkwatch latest" in text_of(answer)
    # bolt checked the bot token once with auth.test before handling
    assert slack.api.calls_to("auth.test")


async def test_bad_signature_is_refused_with_401(slack: SlackHarness) -> None:
    body, name = slack.command_body("subscribe")
    wrong = sign(body, secret="not-the-secret")
    response = await slack.post(body, signed=False, headers=wrong)
    assert response.status_code == 401
    assert not slack.api.calls_to("auth.test")  # refused before anything else ran
    await _settle(slack)
    assert slack.api.responses(name) == []


async def test_missing_signature_is_refused_with_401(slack: SlackHarness) -> None:
    body, name = slack.command_body("subscribe")
    response = await slack.post(body, signed=False)
    assert response.status_code == 401
    only_timestamp = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    response = await slack.post(body, signed=False, headers=only_timestamp)
    assert response.status_code == 401
    await _settle(slack)
    assert slack.api.responses(name) == []


async def test_non_numeric_timestamp_is_refused_with_401_not_500(slack: SlackHarness) -> None:
    body, name = slack.command_body("status")
    for stamp in ("abc", "1e9", "12 3", "-5", "9" * 40):
        headers = {**sign(body), "X-Slack-Request-Timestamp": stamp}
        response = await slack.post(body, signed=False, headers=headers)
        assert response.status_code == 401, stamp
    await _settle(slack)
    assert slack.api.responses(name) == []


async def test_tampered_body_is_refused_with_401(slack: SlackHarness) -> None:
    body, name = slack.command_body("status")
    headers = sign(body)
    tampered = body.replace("status", "unsubscribe")
    response = await slack.post(tampered, signed=False, headers=headers)
    assert response.status_code == 401
    await _settle(slack)
    assert slack.api.responses(name) == []


async def test_stale_and_future_timestamps_are_refused_with_401(slack: SlackHarness) -> None:
    body, name = slack.command_body("subscribe")
    now = int(time.time())
    for skew in (-6 * 60, 6 * 60):  # correctly signed, but more than 5 minutes off
        response = await slack.post(body, signed=False, headers=sign(body, timestamp=now + skew))
        assert response.status_code == 401
    # within the window the very same body is accepted
    response = await slack.post(body, signed=False, headers=sign(body, timestamp=now - 60))
    assert response.status_code == 200
    await slack.api.wait_calls(f"response:{name}")
    assert len(slack.api.responses(name)) == 1


async def test_replayed_old_request_is_refused(slack: SlackHarness) -> None:
    """A captured request sent again later carries its old timestamp and is refused."""
    body, _name = slack.command_body("unsubscribe")
    captured = sign(body, timestamp=int(time.time()) - 10 * 60, secret=SECRET)
    response = await slack.post(body, signed=False, headers=captured)
    assert response.status_code == 401


async def test_command_is_acknowledged_before_the_answer(slack: SlackHarness) -> None:
    """The 3-second window: the HTTP answer comes back while the claim check is still running."""
    release = threading.Event()
    inner = slack.checker

    class SlowChecker:
        def check(self, text: str, *, top: int = 5) -> Verdict:
            assert release.wait(10), "never released"
            return inner.check(text, top=top)

    slack.bot.services.claims = SlowChecker()
    body, name = slack.command_body("claim North Korea shipped shells to Russia")
    response = await slack.post(body)
    assert response.status_code == 200  # acknowledged although no verdict exists yet
    assert response.text == ""
    assert slack.api.responses(name) == []
    release.set()
    await slack.api.wait_calls(f"response:{name}")
    assert "REPEATED" in text_of(slack.api.responses(name)[0])


async def test_event_retry_does_not_answer_twice(slack: SlackHarness) -> None:
    body = slack.event_body("<@UBOT0001> help", event_id="Ev0RETRY01")
    response = await slack.post(body, content_type="application/json")
    assert response.status_code == 200
    await slack.api.wait_calls("chat.postMessage", 1)
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    again = await slack.post(body, content_type="application/json", headers=retry_headers)
    assert again.status_code == 200
    assert again.headers.get("x-slack-no-retry") == "1"
    # a later, different event is answered: by then the retry would have been answered too
    await slack.mention("<@UBOT0001> status", event_id="Ev0OTHER01")
    posted = slack.api.calls_to("chat.postMessage")
    assert len(posted) == 2
    assert "/nkwatch latest" in text_of(posted[0])
    assert "Status" in text_of(posted[1])


async def test_retry_of_an_event_never_seen_is_answered_once(slack: SlackHarness) -> None:
    """The first delivery was lost: the retry is the only copy, so it is answered."""
    body = slack.event_body("<@UBOT0001> help", event_id="Ev0LOST001")
    headers = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"}
    response = await slack.post(body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    await slack.api.wait_calls("chat.postMessage", 1)
    again = await slack.post(body, content_type="application/json", headers=headers)
    assert again.headers.get("x-slack-no-retry") == "1"
    await slack.mention("<@UBOT0001> help", event_id="Ev0LOST002")
    assert len(slack.api.calls_to("chat.postMessage")) == 2


async def test_event_with_bad_signature_is_refused(slack: SlackHarness) -> None:
    body = slack.event_body("<@UBOT0001> unsubscribe")
    response = await slack.post(
        body, content_type="application/json", signed=False, headers=sign(body, secret="x")
    )
    assert response.status_code == 401
    await _settle(slack)
    assert slack.api.calls_to("chat.postMessage") == []


async def test_url_verification_needs_a_signature(slack: SlackHarness) -> None:
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    response = await slack.post(body, content_type="application/json")
    assert response.status_code == 200
    assert "abc123" in response.text
    forged = await slack.post(body, content_type="application/json", signed=False)
    assert forged.status_code == 401


async def _settle(slack: SlackHarness) -> None:
    """Let any stray background answer happen: a signed request sent afterwards is answered."""
    await slack.command("help")
