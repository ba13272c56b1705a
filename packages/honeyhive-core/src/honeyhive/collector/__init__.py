"""A HoneyHive collector on your machine: ``honeyhive serve`` as a library.

It speaks the HoneyHive protocol (session start, events and their updates, OTLP/HTTP traces in
protobuf and JSON, Bearer auth with an optional key), keeps what it receives in a SQLite file
across restarts, and serves a trace viewer from the same port. Point the SDK at it with one
setting, ``HH_API_URL=http://127.0.0.1:PORT``; a loopback server needs no API key.

>>> from honeyhive.collector import start
>>> with start(port=0, db_path="/tmp/traces.db") as collector:   # doctest: +SKIP
...     print(collector.url)                                      # send traces, open the viewer

Needs the ``collector`` extra: ``pip install 'honeyhive-core[collector]'`` (Starlette, uvicorn
and opentelemetry-proto). ``import honeyhive`` never imports this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Callable, Optional, Union

try:
    import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
    import starlette.applications
    import uvicorn  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised without the extra
    raise ImportError(
        f"the HoneyHive collector needs the 'collector' extra ({_missing.name} is missing): "
        "pip install 'honeyhive-core[collector]'"
    ) from _missing

from honeyhive._collector import server as _server
from honeyhive._collector.app import (
    DEFAULT_BODY_BUDGET_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    build_app,
)
from honeyhive._collector.prices import BUILT_IN_PRICES, load_prices
from honeyhive._collector.store import DEFAULT_DB_PATH, StoreError

__all__ = [
    "BUILT_IN_PRICES",
    "DEFAULT_BODY_BUDGET_BYTES",
    "DEFAULT_DB_PATH",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PORT",
    "RunningCollector",
    "StoreError",
    "create_app",
    "load_prices",
    "serve",
    "start",
]

#: The port ``honeyhive serve`` listens on unless told otherwise (on 127.0.0.1).
DEFAULT_PORT = 8318

PathLike = Union[str, "os.PathLike[str]"]


def create_app(
    db_path: PathLike = DEFAULT_DB_PATH,
    *,
    api_key: Optional[str] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_budget_bytes: int = DEFAULT_BODY_BUDGET_BYTES,
    prices: Optional[Mapping[str, tuple[float, float]]] = None,
) -> starlette.applications.Starlette:
    """The collector as an ASGI application, storing into the SQLite file ``db_path``.

    ``api_key``: when set, every request except the viewer's page needs
    ``Authorization: Bearer <api_key>`` (401 otherwise). ``max_body_bytes``: larger request
    bodies (after decompression) are refused with 413. ``body_budget_bytes``: request bodies
    held at once across all requests; past it a request is refused with 503 and
    ``Retry-After`` (a request alone always fits). ``prices``: model -> (input, output) USD per
    million tokens, added to (or replacing entries of) the built-in table, names in any case; a
    model with no price shows tokens only. Raises :class:`StoreError` when the database cannot
    be opened, ``ValueError`` for a limit that is not a positive integer or a price that is not
    two numbers of 0 or more.
    """
    return build_app(
        db_path,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        body_budget_bytes=body_budget_bytes,
        prices=prices,
    )


def serve(
    port: int = DEFAULT_PORT,
    db_path: PathLike = DEFAULT_DB_PATH,
    *,
    api_key: Optional[str] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_budget_bytes: int = DEFAULT_BODY_BUDGET_BYTES,
    prices: Optional[Mapping[str, tuple[float, float]]] = None,
    access_log: bool = False,
    on_listening: Optional[Callable[[str], None]] = None,
) -> None:
    """Serve the collector on ``127.0.0.1:port`` until Ctrl-C or SIGTERM (blocks).

    ``port=0`` picks a free port (``ValueError`` outside 0-65535). ``on_listening(url)`` is
    called once the socket listens, before the first request is handled.
    """
    _server.check_port(port)
    app = create_app(
        db_path,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        body_budget_bytes=body_budget_bytes,
        prices=prices,
    )
    sock = _server.bind(port)
    host, bound = sock.getsockname()[:2]
    if on_listening is not None:
        on_listening(f"http://{host}:{bound}")
    _server.run(app, sock, access_log=access_log)


class RunningCollector:
    """A collector served from a background thread; stop it with :meth:`stop` or ``with``."""

    def __init__(self, background: _server.BackgroundServer) -> None:
        self._background = background

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8318`` (use it as ``HH_API_URL``)."""
        return self._background.url

    def stop(self) -> None:
        """Stop serving (gracefully: requests in progress finish) and close the database."""
        self._background.stop()

    def __enter__(self) -> RunningCollector:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def start(
    port: int = 0,
    db_path: PathLike = DEFAULT_DB_PATH,
    *,
    api_key: Optional[str] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_budget_bytes: int = DEFAULT_BODY_BUDGET_BYTES,
    prices: Optional[Mapping[str, tuple[float, float]]] = None,
) -> RunningCollector:
    """Start the collector in a background thread of this process and return once it serves."""
    _server.check_port(port)
    app = create_app(
        db_path,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        body_budget_bytes=body_budget_bytes,
        prices=prices,
    )
    background = _server.BackgroundServer(app, _server.bind(port))
    background.start()
    return RunningCollector(background)
