"""``honeyhive traces``: the latest sessions as trees in the terminal.

Where from, first that applies: ``--url``; ``--db``; the collector ``HH_API_URL`` names, if it
answers as one; the default database (``.honeyhive/traces.db``, or ``$HH_COLLECTOR_DB``) when it
exists; a collector on the default port (127.0.0.1:8318, or ``$HH_COLLECTOR_PORT``), so that it
works from any folder while ``honeyhive serve`` runs. It says on stderr what it read.
Standard library and the core's dependencies only (``httpx``); the collector extra is not needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Optional, Protocol
from urllib.parse import quote

from honeyhive._collector.runs import Experiments
from honeyhive._collector.store import DEFAULT_DB_PATH, Store, StoreError
from honeyhive._collector.tree import render_session

__all__ = [
    "ApiSource",
    "DatabaseSource",
    "Source",
    "SourceError",
    "open_source",
    "open_source_and_say",
    "register",
]

_DB_ENV = "HH_COLLECTOR_DB"
_PORT_ENV = "HH_COLLECTOR_PORT"
_KEY_ENVS = ("HH_COLLECTOR_API_KEY", "HH_API_KEY")
DEFAULT_PORT = 8318  # honeyhive.collector.DEFAULT_PORT, without importing the collector extra


def default_port() -> int:
    """The port ``honeyhive serve`` uses when given none: ``$HH_COLLECTOR_PORT`` (0: any free
    port) or 8318. ValueError, naming the variable, when it is set to something else."""
    raw = os.environ.get(_PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 65535:
        raise ValueError(
            f"{_PORT_ENV}={raw[:40]!r} is not a port: use 1 to 65535, or 0 for any free port"
        )
    return int(raw)


class SourceError(Exception):
    """Traces cannot be read from this source (a message for a person)."""


class ApiSource:
    """A running collector, through its JSON API."""

    def __init__(self, url: str, api_key: Optional[str], timeout: float = 10.0) -> None:
        import httpx

        from honeyhive._settings import is_loopback_url

        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # A loopback collector is never reached through a proxy from the environment.
        self._client = httpx.Client(
            headers=headers, timeout=timeout, trust_env=not is_loopback_url(self.url)
        )
        self._httpx = httpx
        self.database: Optional[str] = None

    def describe(self) -> str:
        where = f" (its database: {self.database})" if self.database else ""
        return f"the collector at {self.url}{where}"

    def _get(self, path: str) -> Any:
        try:
            response = self._client.get(self.url + path)
        except self._httpx.HTTPError as exc:
            raise SourceError(f"{self.url} did not answer: {type(exc).__name__}: {exc}") from None
        if response.status_code == 401:
            raise SourceError(
                f"{self.url} wants an API key: set HH_COLLECTOR_API_KEY (or pass --api-key)"
            )
        if response.status_code != 200:
            raise SourceError(f"GET {self.url}{path} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{self.url}{path} did not answer JSON") from None

    def check(self) -> None:
        """Raise :class:`SourceError` unless a HoneyHive collector answers there."""
        try:
            health = self._get("/api/health")
        except SourceError as exc:
            if "answered" not in str(exc):
                raise
            health = None
        if not isinstance(health, dict) or health.get("collector") != "honeyhive":
            raise SourceError(
                f"{self.url} is not a local honeyhive collector (`honeyhive traces` reads a "
                "collector started with `honeyhive serve`)"
            )
        if isinstance(health.get("database"), str):
            self.database = health["database"]

    def latest(self, limit: int) -> list[dict[str, Any]]:
        found = self._get(f"/api/sessions?limit={limit}")
        return [self.session(s["session_id"]) for s in found.get("sessions", ())]

    def session(self, session_id: str) -> dict[str, Any]:
        detail: dict[str, Any] = self._get(f"/api/sessions/{quote(session_id, safe='')}")
        return detail

    def runs(self, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._get(f"/api/runs?limit={limit}").get("runs", [])
        return found

    def run(self, run_id: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._get(f"/api/runs/{quote(run_id, safe='')}")
        except SourceError as exc:
            if "404" in str(exc):
                raise SourceError(f"no run {run_id!r} at {self.url}") from None
            raise
        return answer

    def compare(self, new: str, old: str) -> dict[str, Any]:
        path = f"/api/runs/{quote(new, safe='')}/compare/{quote(old, safe='')}"
        try:
            answer: dict[str, Any] = self._get(path)
        except SourceError as exc:
            if "404" in str(exc):
                raise SourceError(f"no run {new!r} or no run {old!r} at {self.url}") from None
            raise
        return answer

    def close(self) -> None:
        self._client.close()


class DatabaseSource:
    """A collector's SQLite file, read directly (the collector need not run)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._store = Store(path, readonly=True)
        except FileNotFoundError:
            raise SourceError(
                f"no collector database at {path}: start one with `honeyhive serve` and send "
                "it traces (HH_API_URL=http://127.0.0.1:8318)"
            ) from None
        except StoreError as exc:
            raise SourceError(str(exc)) from None

    def describe(self) -> str:
        return f"the database {os.path.abspath(self.path)}"

    def check(self) -> None:
        pass

    def latest(self, limit: int) -> list[dict[str, Any]]:
        return [self.session(s["session_id"]) for s in self._store.sessions(limit)]

    def session(self, session_id: str) -> dict[str, Any]:
        detail = self._store.session(session_id)
        if detail is None:
            raise SourceError(f"no session {session_id!r} in {self.path}")
        return detail

    def runs(self, limit: int) -> list[dict[str, Any]]:
        return Experiments(self._store).summaries(limit)

    def run(self, run_id: str) -> dict[str, Any]:
        experiments = Experiments(self._store)
        found = experiments.result(experiments.find_run(run_id) or run_id)
        if found is None:
            raise SourceError(f"no run {run_id!r} in {self.path}")
        return found

    def compare(self, new: str, old: str) -> dict[str, Any]:
        experiments = Experiments(self._store)
        found = experiments.compare(
            experiments.find_run(new) or new, experiments.find_run(old) or old
        )
        if found is None:
            raise SourceError(f"no run {new!r} or no run {old!r} in {self.path}")
        return found

    def close(self) -> None:
        self._store.close()


class Source(Protocol):
    """Where sessions are read from."""

    def describe(self) -> str: ...
    def check(self) -> None: ...
    def latest(self, limit: int) -> list[dict[str, Any]]: ...
    def session(self, session_id: str) -> dict[str, Any]: ...
    def runs(self, limit: int) -> list[dict[str, Any]]: ...
    def run(self, run_id: str) -> dict[str, Any]: ...
    def compare(self, new: str, old: str) -> dict[str, Any]: ...
    def close(self) -> None: ...


def _api_key(args: argparse.Namespace) -> Optional[str]:
    if args.api_key:
        return str(args.api_key)
    for name in _KEY_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def open_source_and_say(command: str, args: argparse.Namespace) -> Optional[Source]:
    """:func:`open_source`, saying on stderr which source is read and any note on the way;
    None, after saying why, when there is none (the command then exits 1)."""
    notes: list[str] = []
    try:
        source = open_source(args, notes)
    except SourceError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None
    for note in notes:
        print(note, file=sys.stderr)
    print(f"reading {source.describe()}", file=sys.stderr)
    return source


def open_source(args: argparse.Namespace, notes: list[str]) -> Source:
    """The source to read from (see the module's docstring), checked."""
    default_db = os.environ.get(_DB_ENV) or str(DEFAULT_DB_PATH)
    if args.url:
        source: Source = ApiSource(args.url, _api_key(args))
        source.check()
        return source
    if args.db:
        return DatabaseSource(args.db)
    env_url = os.environ.get("HH_API_URL", "").strip()
    if env_url:
        api = ApiSource(env_url, _api_key(args), timeout=5.0)
        try:
            api.check()
            return api
        except SourceError as exc:
            api.close()
            if not os.path.isfile(default_db):
                raise
            notes.append(f"note: HH_API_URL: {exc}; reading {default_db} instead")
    if os.path.isfile(default_db):
        return DatabaseSource(default_db)
    try:
        port = default_port()
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    if port == 0:
        raise SourceError(
            f"there is no collector database at {default_db}, and {_PORT_ENV}=0 names no port "
            "to find a running collector on: give its address with --url"
        )
    local = ApiSource(f"http://127.0.0.1:{port}", _api_key(args), timeout=2.0)
    try:
        local.check()
        return local
    except SourceError:
        local.close()
    raise SourceError(
        f"no collector answers on 127.0.0.1:{port} and there is no collector database at "
        f"{default_db}: start one with `honeyhive serve` and send it traces "
        f"(HH_API_URL=http://127.0.0.1:{port})"
    )


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "traces",
        help="print the latest sessions as trace trees",
        description=(
            "Print the latest sessions as trace trees: from the collector HH_API_URL names "
            "when it runs, else from the collector's database (.honeyhive/traces.db) when there "
            "is one, else from a collector on 127.0.0.1:8318 ($HH_COLLECTOR_PORT)."
        ),
    )
    parser.add_argument("--limit", type=int, default=5, help="how many sessions (default 5)")
    parser.add_argument("--session", default=None, help="only this session id")
    parser.add_argument("--url", default=None, help="a running collector's URL")
    parser.add_argument("--db", default=None, help="a collector database file")
    parser.add_argument("--api-key", default=None, help="the collector's key, if it has one")
    parser.add_argument(
        "--max-spans", type=int, default=200, help="spans shown per session (default 200)"
    )
    parser.add_argument("--json", action="store_true", help="print the sessions as JSON")
    parser.set_defaults(run=run)


def _unicode_ok() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf8mb4")


def run(args: argparse.Namespace) -> int:
    source = open_source_and_say("honeyhive traces", args)
    if source is None:
        return 1
    try:
        if args.session:
            details: Sequence[dict[str, Any]] = [source.session(args.session)]
        else:
            details = source.latest(max(1, args.limit))
    except SourceError as exc:
        print(f"honeyhive traces: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
    if args.json:
        print(json.dumps(list(details), indent=2))
        return 0
    if not details:
        print(f"no sessions yet in {source.describe()}")
        return 0
    unicode = _unicode_ok()
    for index, detail in enumerate(details):
        if index:
            print()
        for line in render_session(detail, unicode=unicode, max_spans=max(1, args.max_spans)):
            print(line)
    return 0
