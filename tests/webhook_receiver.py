"""A real HTTP receiver of webhooks (`http.server` in a thread) that verifies every request it
gets with `standardwebhooks`, as an employer's system would, and answers as a test tells it to.

Used by the webhook tests and by `bench/webhooks.py`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class ReceivedWebhook:
    received_at: float
    path: str
    headers: dict[str, str]
    body: bytes
    # The secrets (of those the receiver knows) whose signature verified this request.
    verified_with: list[str]
    payload: dict | None

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class WebhookReceiver:
    """Records each request; `answers` are the status codes of the next requests, in order
    (then `default_status`); `hang` records every request, then holds it unanswered until the
    receiver stops."""

    secrets: list[str] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default_status: int = 200
    headers_to_send: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    received: list[ReceivedWebhook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if self.hang:
            with self.lock:
                self.received.append(
                    ReceivedWebhook(time.monotonic(), request.path, headers, body, [], None)
                )
            self.stopping.wait()
            return
        verified, payload = [], None
        for secret in list(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(secret)
        with self.lock:
            self.received.append(
                ReceivedWebhook(time.monotonic(), request.path, headers, body, verified, payload)
            )
            status = self.answers.pop(0) if self.answers else self.default_status
        request.send_response(status)
        for name, value in self.headers_to_send.items():
            request.send_header(name, value)
        request.send_header("Content-Type", "text/plain")
        answer = f"answered {status}".encode()
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)


@contextmanager
def webhook_receiver(**options) -> Iterator[WebhookReceiver]:
    """A receiver on a free port of 127.0.0.1, stopped on exit."""
    receiver = WebhookReceiver(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver._handle(self)

        def log_message(self, format: str, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
