"""HTTP for feeds: one shared ``httpx.AsyncClient`` in, a ``FetchResult`` out, never an exception.

Limits are enforced here rather than trusted to the server: redirects are followed by hand (so
every hop is checked against the SSRF guard and counted), the body is read raw and decompressed
incrementally with a cap on the decompressed size (a gzip bomb stops at the cap, an endless body
at the cap or the overall deadline), and the whole exchange has a deadline so a slow-drip server
cannot hold a worker forever.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from bot.errors import PlatformError
from bot.feeds.guard import guarded_transport
from bot.settings import Settings

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

Kind = Literal["ok", "not_modified", "gone", "throttled", "error", "refused"]
Resolver = Callable[[str, int], Awaitable[list[str]]]


class FetchError(PlatformError):
    """A fetch failed in a way worth one line in the feed's error log."""


class UnsafeURLError(FetchError):
    """The URL's host is, or resolves to, an address nkwatch must not reach."""


class UnresolvableHostError(UnsafeURLError):
    """DNS gave no answer: refused when adding a feed, a plain (retried) error when polling."""


class BodyTooLargeError(FetchError):
    pass


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float
    read_timeout: float
    max_bytes: int
    max_redirects: int
    user_agent: str
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            user_agent=settings.user_agent,
            allow_private=settings.allow_private_feeds,
        )

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout + self.read_timeout,
        )

    @property
    def deadline(self) -> float:
        """Whole-exchange budget (all hops and the body): a slow-drip body that never trips the
        per-read timeout still ends here."""
        return self.connect_timeout + 4 * self.read_timeout


@dataclass(frozen=True, slots=True)
class FetchResult:
    kind: Kind
    url: str
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    error: str | None = None


def make_client(settings: Settings, *, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The one client the app shares; redirects off because ``fetch`` follows them itself.

    Its connections go through the guarded backend (bot/feeds/guard.py): unless private feeds
    are allowed, every connection is made to an address vetted at connect time.
    """
    limits = httpx.Limits(
        max_connections=max(settings.fetch_concurrency * 2, 10),
        max_keepalive_connections=max(settings.fetch_concurrency * 2, 10),
    )
    allow_private = settings.allow_private_feeds

    async def vet(host: str, port: int) -> list[str]:
        return await vetted_addresses(host, port, resolver=resolver, allow_private=allow_private)

    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=FetchLimits.from_settings(settings).timeout,
        headers={"User-Agent": settings.user_agent},
        transport=guarded_transport(vet, limits=limits),
        trust_env=False,
    )


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast


async def vetted_addresses(
    host: str, port: int, *, resolver: Resolver | None = None, allow_private: bool = False
) -> list[str]:
    """The addresses of ``host``, resolved once; any non-public answer refuses them all.

    With ``allow_private`` (tests, local use) nothing is refused and, without a resolver of
    its own, the host name is left for the system to resolve at connect time.
    """
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if allow_private and resolver is None:
            return [host]
        try:
            addresses = await (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHostError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnresolvableHostError(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise UnsafeURLError(f"{host} resolves to non-public address {address}")
    return addresses


async def check_public_url(url: str, *, resolver: Resolver | None = None) -> None:
    """Refuse non-HTTP URLs and hosts that resolve to any non-public address (every address is
    checked: one private answer among public ones is enough to refuse). Fetches check again at
    connect time (``make_client``), which is what stops a host that changes its answer."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"invalid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"scheme {parts.scheme or '(none)'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("URL has no host")
    await vetted_addresses(host, port, resolver=resolver)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Decoder:
    """Content-Encoding undone chunk by chunk with a hard cap on the decoded size."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        self._zlib: zlib._Decompress | None
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise BodyTooLargeError(f"body over the {self.cap}-byte cap")
        if data:
            self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._keep(chunk)
            return
        try:
            self._keep(self._zlib.decompress(chunk, self.cap - self.size + 1))
            while self._zlib.unconsumed_tail:
                tail = self._zlib.unconsumed_tail
                self._keep(self._zlib.decompress(tail, self.cap - self.size + 1))
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}") from exc

    def finish(self) -> bytes:
        if self._zlib is not None:
            try:
                self._keep(self._zlib.flush())
            except zlib.error as exc:
                raise FetchError(f"corrupt compressed body: {exc}") from exc
        return b"".join(self.parts)


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: FetchLimits,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = FEED_ACCEPT,
    resolver: Resolver | None = None,
) -> FetchResult:
    """GET ``url`` within ``limits``; every failure comes back as a result with ``error`` set."""
    try:
        async with asyncio.timeout(limits.deadline):
            return await _fetch(
                client,
                url,
                limits=limits,
                etag=etag,
                last_modified=last_modified,
                accept=accept,
                resolver=resolver,
            )
    except UnresolvableHostError as exc:
        return FetchResult(kind="error", url=url, error=str(exc))
    except UnsafeURLError as exc:
        return FetchResult(kind="refused", url=url, error=str(exc))
    except TimeoutError:
        return FetchResult(kind="error", url=url, error="timed out")
    except httpx.TimeoutException as exc:
        return FetchResult(kind="error", url=url, error=f"timed out ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return FetchResult(kind="error", url=url, error=f"{type(exc).__name__}: {exc}"[:500])
    except FetchError as exc:
        return FetchResult(kind="error", url=url, error=str(exc))


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: FetchLimits,
    etag: str | None,
    last_modified: str | None,
    accept: str,
    resolver: Resolver | None,
) -> FetchResult:
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": accept,
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _hop in range(limits.max_redirects + 1):
        if not limits.allow_private:
            await check_public_url(current, resolver=resolver)
        async with client.stream(
            "GET", current, headers=headers, timeout=limits.timeout, follow_redirects=False
        ) as response:
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without Location")
                current = urljoin(current, location)
                continue
            common = {
                "url": current,
                "status": status,
                "content_type": response.headers.get("content-type"),
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified"),
            }
            if status == 304:
                return FetchResult(kind="not_modified", **common)
            if status == 410:
                return FetchResult(kind="gone", error="HTTP 410 Gone", **common)
            if status in (429, 503) and response.headers.get("retry-after"):
                return FetchResult(
                    kind="throttled",
                    retry_after=parse_retry_after(response.headers.get("retry-after")),
                    error=f"HTTP {status} {response.reason_phrase}".strip(),
                    **common,
                )
            if status >= 400 or status < 200:
                return FetchResult(
                    kind="error",
                    error=f"HTTP {status} {response.reason_phrase}".strip(),
                    **common,
                )
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes * 4:
                raise BodyTooLargeError(f"Content-Length {declared} over the cap")
            if response.is_stream_consumed:  # an in-memory response (e.g. httpx.MockTransport)
                if len(response.content) > limits.max_bytes:
                    raise BodyTooLargeError(f"body over the {limits.max_bytes}-byte cap")
                return FetchResult(kind="ok", body=response.content, **common)
            decoder = _Decoder(response.headers.get("content-encoding", ""), limits.max_bytes)
            raw_size = 0
            async for chunk in response.aiter_raw(_CHUNK):
                raw_size += len(chunk)
                if raw_size > limits.max_bytes:
                    raise BodyTooLargeError(f"body over the {limits.max_bytes}-byte cap")
                decoder.feed(chunk)
            return FetchResult(kind="ok", body=decoder.finish(), **common)
    raise FetchError(f"more than {limits.max_redirects} redirects")


async def fetch_article_text(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: FetchLimits,
    resolver: Resolver | None = None,
) -> str | None:
    """Main text of a story page (trafilatura), under the feed limits; None when unavailable."""
    result = await fetch(client, url, limits=limits, accept=HTML_ACCEPT, resolver=resolver)
    if result.kind != "ok" or not result.body:
        return None
    return await asyncio.to_thread(extract_article_text, result.body)


def extract_article_text(html: bytes) -> str | None:
    import trafilatura  # noqa: PLC0415 - heavy import, only when full text is wanted

    try:
        text = trafilatura.extract(
            html, include_comments=False, include_tables=False, favor_precision=True
        )
    except (ValueError, TypeError):
        return None
    return str(text) if text else None
