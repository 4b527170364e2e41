"""A real HTTP server on 127.0.0.1 for feed tests, the demo and the benchmark.

Runs aiohttp in a background thread with its own event loop, so both async tests (sharing the
test's loop with httpx) and synchronous CLI tests (``asyncio.run`` inside click) can use it.
Serves fixture feeds with ETag/Last-Modified validators and, on demand, faults: any status, 429
with Retry-After, slow responses, redirect loops, endless bodies, gzip bombs, GUIDs that change
on every request.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

TESTDATA = Path(__file__).resolve().parent.parent / "feeds" / "testdata"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LAST_MODIFIED = "Mon, 13 May 2024 08:00:00 GMT"


@dataclass
class Doc:
    body: bytes
    content_type: str | None = "application/rss+xml; charset=utf-8"
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FeedServer:
    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.handlers: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: dict[str, list[dict[str, str]]] = {}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._guid_counter = 0
        self.inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self._install_faults()

    # --- public ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, body: bytes | str, **kwargs: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.docs[path] = Doc(body=data, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def put_file(self, path: str, name: str, **kwargs: object) -> str:
        return self.put(path, (TESTDATA / name).read_bytes(), **kwargs)

    def start(self) -> FeedServer:
        _gzip_bomb()  # built before serving so the first request is not slowed by it
        _deflate_bomb()
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve(ready))
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="feed-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("feed server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    # --- server ---------------------------------------------------------------------------

    async def _serve(self, ready: threading.Event) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._stop = asyncio.Event()
        ready.set()
        await self._stop.wait()
        await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.request_headers.setdefault(path, []).append(dict(request.headers))
        if path in self.handlers:
            return await self.handlers[path](request)
        for prefix, handler in self.handlers.items():
            if prefix.endswith("/") and path.startswith(prefix):
                return await handler(request)
        doc = self.docs.get(path)
        if doc is None:
            return web.Response(status=404, text="not found")
        return self._serve_doc(request, doc)

    def _serve_doc(self, request: web.Request, doc: Doc) -> web.Response:
        headers = {"ETag": doc.etag, "Last-Modified": LAST_MODIFIED, **doc.headers}
        if doc.conditional and (
            request.headers.get("If-None-Match") == doc.etag
            or request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers=headers)
        body = doc.body
        if doc.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if doc.content_type:
            headers["Content-Type"] = doc.content_type
        response = web.Response(status=200, body=body, headers=headers)
        if not doc.content_type:
            response.content_type = "application/octet-stream"
            del response.headers["Content-Type"]
        return response

    # --- faults ---------------------------------------------------------------------------

    def _install_faults(self) -> None:
        self.handlers["/status/"] = self._status
        self.handlers["/slow/"] = self._slow
        self.handlers["/loop/a"] = self._redirect_to("/loop/b")
        self.handlers["/loop/b"] = self._redirect_to("/loop/a")
        self.handlers["/redirect/"] = self._redirect_chain
        self.handlers["/endless"] = self._endless
        self.handlers["/bomb"] = self._bomb
        self.handlers["/deflate-bomb"] = self._deflate_bomb
        self.handlers["/changing-guids"] = self._changing_guids
        self.handlers["/drip"] = self._drip

    async def _status(self, request: web.Request) -> web.StreamResponse:
        code = int(request.path.rsplit("/", 1)[1])
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        return web.Response(status=code, text=f"status {code}", headers=headers)

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        """/slow/<seconds>[/<group>-<n>]: the rss2 fixture after a delay; concurrency is tracked
        per group (requests abandoned by earlier tests may still be sleeping)."""
        parts = request.path.split("/")
        group = parts[3].rsplit("-", 1)[0] if len(parts) > 3 else ""
        self.inflight[group] += 1
        self.max_inflight[group] = max(self.max_inflight[group], self.inflight[group])
        try:
            await asyncio.sleep(float(parts[2]))
        finally:
            self.inflight[group] -= 1
        return web.Response(body=(TESTDATA / "rss2.xml").read_bytes(), content_type="text/xml")

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then one byte every 0.2 s forever: only a deadline stops it."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            while True:
                await response.write(b" ")
                await asyncio.sleep(0.2)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    def _redirect_to(self, target: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=302, headers={"Location": target})

        return handler

    async def _redirect_chain(self, request: web.Request) -> web.StreamResponse:
        """/redirect/N/<path>: N hops, then <path>."""
        _, _, count, rest = request.path.split("/", 3)
        n = int(count)
        target = f"/redirect/{n - 1}/{rest}" if n > 1 else f"/{rest}"
        return web.Response(status=301, headers={"Location": target})

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
        try:
            while True:
                await response.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=_gzip_bomb(),
            headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
        )

    async def _deflate_bomb(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=_deflate_bomb(),
            headers={"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"},
        )

    async def _changing_guids(self, request: web.Request) -> web.StreamResponse:
        """Same two stories every time, fresh GUIDs (and a bumped date) on every request."""
        self._guid_counter += 1
        n = self._guid_counter
        body = (TESTDATA / "rss2.xml").read_text("utf-8")
        body = body.replace("wire-0001", f"rotating-{n}-a").replace("wire-0003", f"rotating-{n}-c")
        body = body.replace(
            "Fri, 10 May 2024 09:30:00 +0900", f"Sat, {10 + n} May 2024 09:30:00 +0900"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")


BOMB_SIZE = 64 * 1024 * 1024  # 64 MB of zeros, ~64 KB compressed


@functools.cache
def _gzip_bomb() -> bytes:
    return _compress_zeros(zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS))


@functools.cache
def _deflate_bomb() -> bytes:
    return _compress_zeros(zlib.compressobj(9))


def _compress_zeros(compressor: zlib._Compress) -> bytes:
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(BOMB_SIZE // len(block))]
    return b"".join(parts) + compressor.flush()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
