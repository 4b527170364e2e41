"""A loopback HTTP endpoint that records every message posted to it (``LoopbackSender``'s target).

It stands in for a chat platform when a real ``nkwatch`` process must deliver somewhere a test can
inspect: each POST is recorded *before* it is answered, exactly as a platform that has accepted a
message and then lost the connection. Faults can be armed: 429 with ``retry_after``, 403, 400, a
chat migration, or a slow answer. Runs in a thread, so it works with any event loop or subprocess.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    chat_id: str
    message: dict[str, Any]
    message_id: int
    at: float = field(default_factory=time.monotonic)


class RecordingServer:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[Received] = []
        self.faults: list[dict[str, Any]] = []  # {"kind": "429"|"403"|"400"|"migrate", ...}
        self.on_receive: Callable[[Received], None] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    return  # the sender died mid-request: a platform never accepts half a body
                body = json.loads(raw or b"{}")
                status, answer = server._handle(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the sender died or gave up: the message is recorded all the same

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/send"

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, kind: str, **kwargs: Any) -> None:
        with self._lock:
            self.faults.append({"kind": kind, **kwargs})

    def _handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = str(body.get("chat_id"))
        with self._lock:
            fault = next((f for f in self.faults if f.get("chat_id") in (None, chat_id)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None:
            kind = fault["kind"]
            if kind == "429":
                return 429, {"retry_after": fault.get("retry_after", 1)}
            if kind == "403":
                return 403, {"description": "Forbidden: bot was blocked by the user"}
            if kind == "400":
                return 400, {"description": "Bad Request: can't parse entities"}
            if kind == "migrate":
                return 400, {"migrate_to_chat_id": fault["new_chat_id"]}
        with self._lock:
            item = Received(chat_id, body.get("message", {}), next(self._ids))
            self.received.append(item)
            self._arrived.notify_all()
        if self.on_receive is not None:
            self.on_receive(item)
        delay = fault.get("delay", 0.0) if fault is not None else self.delay
        if delay:
            time.sleep(delay)
        return 200, {"message_ids": [item.message_id]}

    def wait_for(self, count: int, *, within: float = 30.0) -> bool:
        deadline = time.monotonic() + within
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
        return True
