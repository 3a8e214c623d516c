"""A TCP proxy that puts faults between the app and a dependency, for the fault tests.

`FaultProxy(upstream_port)` listens on a free local port and forwards every connection to
`127.0.0.1:upstream_port`. Two faults, as an operator sees them from outside:

- `refuse()`: the dependency restarts. The listening socket is closed, so new connections are
  refused, and every open connection is reset.
- `hang()`: the dependency hangs, or the network drops its packets. New connections are accepted
  and never answered; open connections stop answering. Bytes sent to them are read and dropped,
  as a kernel with a stuck server behind it would, so a client's write never fails: only its own
  timeout ends the wait. A connection caught in a hang stays dead after `restore()`, like a flow
  across a partition that the peer gave up on; only new connections reach the dependency again.

`restore()` ends either fault. Everything runs in daemon threads; `close()` stops it all.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

from tests.services import free_port

PASS, REFUSE, HANG = "pass", "refuse", "hang"
_POLL_SECONDS = 0.05
_CHUNK = 65536


class _Link:
    """One client connection and, unless it was accepted during a hang, its upstream."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.dead = upstream is None  # black-holed: read and drop, never answer
        self.closed = threading.Event()

    def reset(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                # SO_LINGER 0: close with a RST, as a restarting server's kernel does.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            with contextlib.suppress(OSError):
                sock.close()
        self.closed.set()


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode = PASS
        self.connections_accepted = 0
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._listen()
        threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- faults ---------------------------------------------------------------------------

    def refuse(self) -> None:
        with self._lock:
            self.mode = REFUSE
            listener, self._listener = self._listener, None
            links, self._links = self._links, []
        if listener is not None:
            listener.close()
        for link in links:
            link.reset()

    def hang(self) -> None:
        with self._lock:
            self.mode = HANG
            for link in self._links:
                link.dead = True
        if self._listener is None:
            self._listen()

    def restore(self) -> None:
        with self._lock:
            self.mode = PASS
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self._stopped.set()
        self.refuse()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(100):  # the port may linger for a moment after a refuse()
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(_POLL_SECONDS)
        with self._lock:
            self._listener = listener

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(_POLL_SECONDS)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            client.settimeout(None)
            self.connections_accepted += 1
            upstream = None
            if self.mode == PASS:
                try:
                    upstream = socket.create_connection(self.upstream, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    client.close()
                    continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._pump, args=(link,), daemon=True).start()

    def _pump(self, link: _Link) -> None:
        peers = {link.client: link.upstream}
        if link.upstream is not None:
            peers[link.upstream] = link.client
        try:
            while not link.closed.is_set() and not self._stopped.is_set():
                readable, _, _ = select.select(list(peers), [], [], _POLL_SECONDS)
                for sock in readable:
                    data = sock.recv(_CHUNK)
                    if not data:
                        if link.dead:  # the client gave up on a black hole
                            if sock is link.client:
                                return
                            peers.pop(sock, None)
                            continue
                        return
                    if not link.dead:
                        peers[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: a reset closed the socket under select()
            return
        finally:
            link.reset()
            with self._lock, contextlib.suppress(ValueError):
                self._links.remove(link)
