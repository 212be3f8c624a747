"""The connection layer under requests: pooled connections that a watchdog can cut.

`--timeout` is time without progress, and it must hold whatever the server
sends: a status line dripped one byte a second, `100 Continue` forever, a
body of empty gzip blocks. Socket timeouts cannot promise that, since every
byte restarts them, and urllib3 and http.client read headers in many small
reads. So each Client has one `Watchdog` thread: the client arms it before
sending and marks progress (the headers, each event of a stream); when the
time runs out the watchdog shuts the connection's socket down, the blocked
read fails at once, and the client reports the timeout.

Connections stay urllib3's own, so they go back to its pool after a body is
read to the end and the next request on the same Client reuses them.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The watchdog of the request the current thread is sending; read by connections.
_current = threading.local()


class Watchdog:
    """Cuts the watched connection once `seconds` pass without progress."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._seconds = 0.0
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self.expired = False

    def arm(self, seconds: float) -> None:
        """Start counting for a new attempt (or phase) from now."""
        with self._cond:
            self._seconds = seconds
            self.expired = False
            self._deadline = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="orcli-watchdog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        _current.watchdog = self

    def progress(self) -> None:
        """The server did something that counts: the time starts again (cheap, no lock)."""
        if self._deadline is not None:
            self._deadline = time.monotonic() + self._seconds

    def watch(self, conn: Any) -> None:
        """The connection the current request is using: the one to cut."""
        self._conn = conn

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None
            self._conn = None
            self._cond.notify()
        _current.watchdog = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._deadline is None:
                    self._cond.wait()
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self.expired = True
                self._deadline = None
                conn, self._conn = self._conn, None
            _cut(conn)


def _cut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the read it blocked has ended anyway


class _Watched:
    """Mixed into urllib3's connections: each request tells the watchdog which socket it uses."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watchdog = getattr(_current, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


_POOLS = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter with no retries of its own and watched connections in its pools."""

    def __init__(self, pool_maxsize: int = 10) -> None:
        super().__init__(max_retries=0, pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
