from __future__ import annotations

import dataclasses
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.feeds.fetch import (
    FetchLimits,
    UnresolvableHostError,
    UnsafeURLError,
    check_public_url,
    fetch,
    is_public_address,
    parse_retry_after,
)
from bot.settings import Settings
from tests.helpers.feed_server import TESTDATA, FeedServer


def limits(settings: Settings, **changes: object) -> FetchLimits:
    return dataclasses.replace(FetchLimits.from_settings(settings), **changes)  # type: ignore[arg-type]


async def test_ok_with_validators_and_user_agent(server: FeedServer, client, settings) -> None:
    url = server.put_file("/f/ok.xml", "rss2.xml")
    result = await fetch(client, url, limits=limits(settings))
    assert result.kind == "ok"
    assert result.status == 200
    assert result.body == (TESTDATA / "rss2.xml").read_bytes()
    assert result.etag
    assert result.last_modified
    assert server.request_headers["/f/ok.xml"][-1]["User-Agent"] == settings.user_agent


async def test_conditional_get_answers_304(server: FeedServer, client, settings) -> None:
    url = server.put_file("/f/cond.xml", "rss2.xml")
    first = await fetch(client, url, limits=limits(settings))
    by_etag = await fetch(client, url, limits=limits(settings), etag=first.etag)
    by_date = await fetch(client, url, limits=limits(settings), last_modified=first.last_modified)
    assert by_etag.kind == "not_modified"
    assert by_date.kind == "not_modified"
    assert by_etag.body == b""
    sent = server.request_headers["/f/cond.xml"]
    assert sent[1]["If-None-Match"] == first.etag
    assert sent[2]["If-Modified-Since"] == first.last_modified


async def test_gzip_body_is_decoded(server: FeedServer, client, settings) -> None:
    url = server.put_file("/f/gz.xml", "atom.xml", gzip=True)
    result = await fetch(client, url, limits=limits(settings))
    assert result.kind == "ok"
    assert result.body == (TESTDATA / "atom.xml").read_bytes()


@pytest.mark.parametrize("path", ["/bomb", "/deflate-bomb"])
async def test_compression_bomb_is_cut_at_the_decompressed_cap(
    server: FeedServer, client, settings, path: str
) -> None:
    tracemalloc.start()
    try:
        result = await fetch(client, server.url(path), limits=limits(settings))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.kind == "error"
    assert "cap" in (result.error or "")
    # 64 MB of zeros behind the bomb; the fetch never holds more than a few caps' worth.
    assert peak < 20 * settings.fetch_max_bytes


async def test_endless_body_is_cut_at_the_cap(server: FeedServer, client, settings) -> None:
    result = await fetch(client, server.url("/endless"), limits=limits(settings))
    assert result.kind == "error"
    assert "cap" in (result.error or "")


async def test_declared_content_length_over_cap_is_refused(server, client, settings) -> None:
    url = server.put("/f/big.xml", b"<rss>" + b" " * (settings.fetch_max_bytes * 5) + b"</rss>")
    result = await fetch(client, url, limits=limits(settings))
    assert result.kind == "error"
    assert "over the cap" in (result.error or "")


async def test_slow_response_times_out(server: FeedServer, client, settings) -> None:
    result = await fetch(client, server.url("/slow/3"), limits=limits(settings))
    assert result.kind == "error"
    assert "timed out" in (result.error or "")


async def test_drip_feed_hits_the_overall_deadline(server: FeedServer, client, settings) -> None:
    result = await fetch(
        client, server.url("/drip"), limits=limits(settings, connect_timeout=0.3, read_timeout=0.3)
    )
    assert result.kind == "error"
    assert "timed out" in (result.error or "")


@pytest.mark.parametrize(("code", "kind"), [(404, "error"), (500, "error"), (410, "gone")])
async def test_http_errors(server: FeedServer, client, settings, code: int, kind: str) -> None:
    result = await fetch(client, server.url(f"/status/{code}"), limits=limits(settings))
    assert result.kind == kind
    assert result.status == code
    assert str(code) in (result.error or "")


async def test_429_with_retry_after_seconds(server: FeedServer, client, settings) -> None:
    result = await fetch(client, server.url("/status/429?retry_after=120"), limits=limits(settings))
    assert result.kind == "throttled"
    assert result.retry_after == 120


async def test_429_without_retry_after_is_an_error(server: FeedServer, client, settings) -> None:
    result = await fetch(client, server.url("/status/429"), limits=limits(settings))
    assert result.kind == "error"


def test_retry_after_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    value = format_datetime(now + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(value, now=now) == 300
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


async def test_redirect_loop_stops_at_the_limit(server: FeedServer, client, settings) -> None:
    result = await fetch(client, server.url("/loop/a"), limits=limits(settings))
    assert result.kind == "error"
    assert "redirects" in (result.error or "")
    assert server.hits["/loop/a"] + server.hits["/loop/b"] == settings.fetch_max_redirects + 1


async def test_redirects_within_the_limit_are_followed(server, client, settings) -> None:
    server.put_file("/f/moved.xml", "rss2.xml")
    ok = await fetch(client, server.url("/redirect/3/f/moved.xml"), limits=limits(settings))
    too_many = await fetch(client, server.url("/redirect/4/f/moved.xml"), limits=limits(settings))
    assert ok.kind == "ok"
    assert ok.url == server.url("/f/moved.xml")
    assert too_many.kind == "error"


async def test_connection_refused_is_an_error(client, settings) -> None:
    result = await fetch(client, "http://127.0.0.1:9/feed", limits=limits(settings))
    assert result.kind == "error"
    assert result.error


async def test_private_address_refused_unless_allowed(server: FeedServer, client, settings):
    url = server.put_file("/f/private.xml", "rss2.xml")
    before = server.hits["/f/private.xml"]
    refused = await fetch(client, url, limits=limits(settings, allow_private=False))
    assert refused.kind == "refused"
    assert server.hits["/f/private.xml"] == before  # no request was made
    allowed = await fetch(client, url, limits=limits(settings, allow_private=True))
    assert allowed.kind == "ok"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "240.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def resolver_for(answers: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve


async def test_every_resolved_address_is_checked() -> None:
    resolve = resolver_for(
        {"mixed.test": ["93.184.216.34", "10.0.0.5"], "public.test": ["93.184.216.34"]}
    )
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.5"):
        await check_public_url("https://mixed.test/feed", resolver=resolve)
    await check_public_url("https://public.test/feed", resolver=resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/feed",
        "http://127.0.0.1:8080/feed",
        "http://[::1]/feed",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "http:///nohost",
    ],
)
async def test_unsafe_urls_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        await check_public_url(url)


async def test_unresolvable_host_is_refused_on_add_but_only_an_error_when_polling(
    client, settings
) -> None:
    with pytest.raises(UnresolvableHostError):
        await check_public_url("https://nowhere.test/", resolver=resolver_for({}))
    result = await fetch(
        client,
        "https://nowhere.test/feed",
        limits=limits(settings, allow_private=False),
        resolver=resolver_for({}),
    )
    assert result.kind == "error"  # retried with back-off, not disabled as unsafe
    assert "cannot resolve" in (result.error or "")


async def test_mock_transport_client_can_be_swapped_in(settings) -> None:
    """The client is passed in, so any transport works (here httpx.MockTransport)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<rss version='2.0'><channel/></rss>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as mock:
        result = await fetch(mock, "http://feeds.test/x", limits=limits(settings))
    assert result.kind == "ok"
    assert result.body.startswith(b"<rss")
