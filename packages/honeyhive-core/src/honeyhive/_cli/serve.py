"""``honeyhive serve``: the local collector and its viewer, on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from honeyhive._cli.traces import default_port

__all__ = ["register"]

_DB_ENV = "HH_COLLECTOR_DB"
_KEY_ENV = "HH_COLLECTOR_API_KEY"
_PORT_ENV = "HH_COLLECTOR_PORT"
_PRICES_ENV = "HH_COLLECTOR_PRICES"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port: use 1 to 65535, or 0 for any free port"
        )
    return port


def _bytes(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"{size} bytes: give a positive number of bytes")
    return size


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="run the local collector and trace viewer",
        description=(
            "Run a HoneyHive collector on 127.0.0.1: it accepts what the SDK sends (point it "
            "there with HH_API_URL=http://127.0.0.1:PORT), keeps it in a SQLite file and serves "
            "a trace viewer at the same address. Needs the collector extra: "
            "pip install 'honeyhive-core[collector]'."
        ),
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"port on 127.0.0.1 (default: ${_PORT_ENV} or 8318; 0: any free port)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help=f"SQLite file to store traces in (default: ${_DB_ENV} or .honeyhive/traces.db)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"require Authorization: Bearer KEY (default: ${_KEY_ENV}; unset: no key needed)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_bytes,
        default=None,
        help="largest request body accepted, decompressed (default 32 MiB); larger ones get 413",
    )
    parser.add_argument(
        "--body-budget-bytes",
        type=_bytes,
        default=None,
        help=(
            "request bodies held at once across all requests (default 128 MiB); past it a "
            "request gets 503 with Retry-After and the SDK retries it"
        ),
    )
    parser.add_argument(
        "--prices",
        default=None,
        metavar="FILE",
        help=(
            "JSON file of model prices, USD per million tokens: "
            '{"my-model": {"input": 0.3, "output": 1.2}} (default: $' + _PRICES_ENV + ")"
        ),
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.set_defaults(run=run)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def run(args: argparse.Namespace) -> int:
    try:
        from honeyhive import collector
        from honeyhive._collector import server
    except ImportError as exc:
        print(f"honeyhive serve: {exc}", file=sys.stderr)
        return 1
    db_path = args.db or os.environ.get(_DB_ENV) or str(collector.DEFAULT_DB_PATH)
    api_key = args.api_key or os.environ.get(_KEY_ENV) or None
    try:
        port = default_port() if args.port is None else args.port
    except ValueError as exc:  # a bad $HH_COLLECTOR_PORT: as bad as a bad --port
        print(f"honeyhive serve: {exc}", file=sys.stderr)
        return 2
    max_body = args.max_body_bytes
    if max_body is None:
        max_body = collector.DEFAULT_MAX_BODY_BYTES
    budget = args.body_budget_bytes
    if budget is None:
        budget = collector.DEFAULT_BODY_BUDGET_BYTES
    prices_file = args.prices or os.environ.get(_PRICES_ENV) or None
    try:
        prices = collector.load_prices(prices_file) if prices_file else None
        app = collector.create_app(
            db_path,
            api_key=api_key,
            max_body_bytes=max_body,
            body_budget_bytes=budget,
            prices=prices,
        )
    except (collector.StoreError, ValueError) as exc:
        print(f"honeyhive serve: {exc}", file=sys.stderr)
        return 1
    try:
        sock = server.bind(port)
    except OSError as exc:
        print(
            f"honeyhive serve: cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr
        )
        app.state.store.close()
        return 1
    host, bound = sock.getsockname()[:2]
    url = f"http://{host}:{bound}"
    stats = app.state.store.stats()
    print(f"honeyhive collector listening on {url}", flush=True)
    print(f"  viewer    {url}/")
    counts = f"{_plural(stats['sessions'], 'session')}, {_plural(stats['spans'], 'span')}"
    print(f"  database  {os.path.abspath(db_path)} ({counts})")
    print(f"  send to   HH_API_URL={url}")
    if prices_file:
        print(f"  prices    {os.path.abspath(prices_file)} ({_plural(len(prices or {}), 'model')})")
    if api_key:
        print("  auth      Bearer key required (the key given with --api-key or $" + _KEY_ENV + ")")
    else:
        print("  auth      none (loopback only; set --api-key to require one)")
    print("Press Ctrl-C to stop.", flush=True)
    server.run(app, sock, access_log=args.access_log)
    return 0
