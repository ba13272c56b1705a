"""Serving the collector app with uvicorn on a loopback socket.

The socket is bound (and listening) before uvicorn starts, so port 0 works (the chosen port is
known and announced before the first request can arrive) and a client that connects early
waits in the backlog instead of being refused. Ctrl-C and SIGTERM stop the server gracefully.

Every accepted connection gets ``TCP_NODELAY``: uvicorn writes a response's head and body
separately, and with Nagle's algorithm on, the body waited for the client's delayed ACK (about
40 ms) on every keep-alive request.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette

__all__ = ["HOST", "BackgroundServer", "bind", "check_port", "nodelay_protocol", "run"]

HOST = "127.0.0.1"


def check_port(port: object) -> int:
    """``port`` if it is a TCP port number (0 to 65535; 0: any free port), else ValueError."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535 (0: any free port), got {port!r}")
    return port


def nodelay_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools or h11, as ``--http auto`` picks) with ``TCP_NODELAY``
    set on each connection it is given."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):  # the peer is gone already: nothing to speed up
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    return NoDelayHTTPProtocol


def bind(port: int, host: str = HOST) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: any free port); ValueError for a
    port number that cannot exist, OSError when the port is taken."""
    check_port(port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run(app: Starlette, sock: socket.socket, *, access_log: bool = False) -> None:
    """Serve ``app`` on ``sock`` until interrupted (blocks; closes the socket at the end).

    SIGTERM is a normal stop: uvicorn shuts down gracefully, then re-raises the signal, which
    lands here as ``SystemExit(0)`` instead of killing the process with status -15.
    """
    config = uvicorn.Config(
        app,
        http=nodelay_protocol(),
        lifespan="on",
        log_level="info" if access_log else "warning",
        access_log=access_log,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if main_thread else None
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


class BackgroundServer:
    """The collector served from a daemon thread (for tests and embedding); see ``start``."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._sock = sock
        config = uvicorn.Config(
            app,
            http=nodelay_protocol(),
            lifespan="on",
            log_level="warning",
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="honeyhive-collector"
        )
        self._thread.daemon = True

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._sock.close()
                raise RuntimeError("the collector did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
