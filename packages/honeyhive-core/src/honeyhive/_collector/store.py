"""The collector's SQLite database: sessions, spans, events and event updates.

Standard library only (``honeyhive traces`` reads a database with it when the collector extra is
not installed). One file in WAL mode, so readers never wait for the writer; one writer at a time
(a lock in this process, ``BEGIN IMMEDIATE`` against other processes); every write is one
transaction, so a request is stored whole or not at all.

Sessions carry running totals (span, error and event counts, first and last time) that each write
updates, so listing sessions never scans spans. A session's time is that of its spans and events;
until it has any, the time its start call arrived. A span that names a session the database has not
seen creates it (``origin = 'span'``); so does an event. Updates (``PUT /events``) are kept as
they came and merged into the session or event they name when it is read, whatever the order of
arrival.

Reads return JSON-ready dicts; :meth:`Store.session_json` and :meth:`Store.trace_json` build the
text of big answers directly from the stored JSON columns, without parsing them.
"""

# ruff: noqa: S608 - the SQL text is built from this module's constants only; values are bound

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Optional, Union

from honeyhive._collector.normalize import llm_view
from honeyhive._collector.payloads import (
    UPDATE_FIELDS,
    EventBatch,
    EventRecord,
    EventUpdate,
    SessionStart,
)
from honeyhive._collector.prices import PriceTable
from honeyhive._collector.records import SessionHint, SpanBatch, SpanRow, dumps
from honeyhive._collector.schema import (
    SCHEMA_VERSION,
    SchemaError,
    add_model_totals,
    prepare,
    version_of,
)
from honeyhive._collector.search import INSERT_TEXT, SpanFilter, search_spans

__all__ = ["DEFAULT_DB_PATH", "SCHEMA_VERSION", "Store", "StoreError"]

#: Where ``honeyhive serve`` and ``honeyhive traces`` keep and look for traces by default.
DEFAULT_DB_PATH = Path(".honeyhive") / "traces.db"
_INSERT_SPAN = (
    f"INSERT OR IGNORE INTO spans (rowid, {', '.join(SpanRow._fields)}) "
    f"VALUES ({', '.join('?' * (len(SpanRow._fields) + 1))})"
)
_UPSERT_FROM_SPANS = """
INSERT INTO sessions (session_id, name, project, source, origin, created_ns, start_ns, end_ns,
                      span_count, error_count, model_calls, prompt_tokens, completion_tokens,
                      total_tokens)
VALUES (?, ?, ?, ?, 'span', ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET
    model_calls = model_calls + excluded.model_calls,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    total_tokens = total_tokens + excluded.total_tokens,
    name = coalesce(name, excluded.name),
    project = coalesce(project, excluded.project),
    source = coalesce(source, excluded.source),
    start_ns = CASE WHEN span_count + event_count = 0 THEN excluded.start_ns
                    ELSE min(start_ns, excluded.start_ns) END,
    end_ns = CASE WHEN span_count + event_count = 0 THEN excluded.end_ns
                  ELSE max(end_ns, excluded.end_ns) END,
    span_count = span_count + excluded.span_count,
    error_count = error_count + excluded.error_count
"""
_UPSERT_FROM_START = """
INSERT INTO sessions (session_id, name, project, source, origin, started, created_ns, start_ns,
                      end_ns, inputs, metadata, run_id)
VALUES (?, ?, ?, ?, 'session_start', 1, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET
    name = coalesce(excluded.name, name),
    project = coalesce(excluded.project, project),
    source = coalesce(excluded.source, source),
    started = 1,
    inputs = coalesce(excluded.inputs, inputs),
    metadata = coalesce(excluded.metadata, metadata),
    run_id = coalesce(excluded.run_id, run_id)
"""
_UPSERT_FROM_EVENT = """
INSERT INTO sessions (session_id, origin, created_ns, start_ns, end_ns, event_count, error_count)
VALUES (?, 'event', ?, ?, ?, 1, ?)
ON CONFLICT (session_id) DO UPDATE SET
    start_ns = CASE WHEN span_count + event_count = 0 THEN excluded.start_ns
                    ELSE min(start_ns, excluded.start_ns) END,
    end_ns = CASE WHEN span_count + event_count = 0 THEN excluded.end_ns
                  ELSE max(end_ns, excluded.end_ns) END,
    event_count = event_count + 1,
    error_count = error_count + excluded.error_count
"""
_SESSION_COLUMNS = (
    "session_id, name, project, source, origin, started, created_ns, start_ns, end_ns, "
    "span_count, error_count, event_count, model_calls, prompt_tokens, completion_tokens, "
    "total_tokens"
)
# What the waterfall and the terminal tree need, and what only a span's details need.
_SUMMARY_COLUMNS = (
    "trace_id, span_id, parent_span_id, session_id, name, kind, start_ns, end_ns, status_code, "
    "status_message, event_type, error, resource, model, prompt_tokens, completion_tokens, "
    "total_tokens"
)
_DETAIL_COLUMNS = "attributes, events, links, scope"
_EVENT_COLUMNS = "event_id, session_id, parent_id, name, event_type, start_ns, end_ns, error, body"
_MIN_PREFIX = 4
_TOP = "\U0010ffff"


class StoreError(Exception):
    """The database cannot be opened or used (a message for a person, not a traceback)."""


def _private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) readable by this user only; an existing folder
    is left as it is (it may be the project's, or /tmp)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        os.chmod(created, 0o700)  # mkdir's mode is filtered by the umask


def _private_file(path: Path) -> None:
    """Create the database file readable and writable by this user only (SQLite gives its -wal
    and -shm files the database file's mode); an existing file is left as it is."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def _tighten(path: Path) -> None:
    """A collector database an older version made readable by others: this user's only."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def _now_ns() -> int:
    return time.time_ns()


def _session_dict(row: Sequence[Any]) -> dict[str, Any]:
    (session_id, name, project, source, origin, started, created_ns, start_ns, end_ns) = row[:9]
    span_count, error_count, event_count, model_calls, prompt, completion, total = row[9:16]
    return {
        "session_id": session_id,
        "name": name,
        "project": project,
        "source": source,
        "origin": origin,
        "started": bool(started),
        "created_ns": created_ns,
        "start_ns": start_ns,
        "end_ns": end_ns,
        "duration_ms": max(0, end_ns - start_ns) / 1e6,
        "span_count": span_count,
        "error_count": error_count,
        "event_count": event_count,
        "model_calls": model_calls,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
    }


def _merge(target: dict[str, Any], body: dict[str, Any]) -> None:
    """Fold one update into a session's or event's fields (mappings merge key by key)."""
    for key, value in body.items():
        current = target.get(key)
        if key in UPDATE_FIELDS and isinstance(value, dict) and isinstance(current, dict):
            target[key] = {**current, **value}
        else:
            target[key] = value


def _run_id(metadata: Optional[str]) -> Optional[str]:
    """The experiment run a session belongs to (its start's ``metadata.run_id``)."""
    if not metadata or '"run_id"' not in metadata:
        return None
    try:
        value = json.loads(metadata).get("run_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _write_start(db: sqlite3.Connection, start: SessionStart, received: int) -> None:
    db.execute(
        _UPSERT_FROM_START,
        (
            start.session_id,
            start.name,
            start.project,
            start.source,
            received,
            received,
            received,
            start.inputs,
            start.metadata,
            _run_id(start.metadata),
        ),
    )


def _write_event(db: sqlite3.Connection, event: EventRecord) -> bool:
    cursor = db.execute(
        f"INSERT OR IGNORE INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            event.event_id,
            event.session_id,
            event.parent_id,
            event.name,
            event.event_type,
            event.start_ns,
            event.end_ns,
            event.error,
            event.body,
        ),
    )
    if cursor.rowcount != 1:
        return False
    if event.session_id is not None:
        db.execute(
            _UPSERT_FROM_EVENT,
            (
                event.session_id,
                _now_ns(),
                event.start_ns,
                event.end_ns,
                int(event.error is not None),
            ),
        )
    return True


def _write_update(db: sqlite3.Connection, update: EventUpdate, received: int) -> None:
    db.execute(
        "INSERT INTO updates (target_id, received_ns, body) VALUES (?, ?, ?)",
        (update.target_id, received, update.body),
    )


class Store:
    """A collector database (created on first use, kept across restarts).

    ``readonly=True`` opens an existing database for reading only (``FileNotFoundError`` if
    there is none) and never writes to it.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        readonly: bool = False,
        prices: Optional[PriceTable] = None,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.prices = prices or PriceTable()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        if readonly:
            if not self.path.is_file():
                raise FileNotFoundError(f"no collector database at {self.path}")
            self._writer: Optional[sqlite3.Connection] = None
            try:
                self._check_schema(self._reader())
            except StoreError:
                self.close()
                raise
            return
        try:
            _private_folder(self.path.parent)
            _private_file(self.path)
        except OSError as exc:
            raise StoreError(f"cannot create {exc.filename or self.path}: {exc.strerror}") from None
        self._writer = self._connect()
        try:
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA cache_size=-32768")  # 32 MiB: index pages stay hot
            # Checkpoint every 64 MiB of WAL rather than 4: an index page changed by many
            # transactions in between is copied into the database once.
            self._writer.execute("PRAGMA wal_autocheckpoint=16384")
            self._writer.execute("PRAGMA journal_size_limit=67108864")
            with self._transaction() as db:
                prepare(db)
            self._check_schema(self._writer)
            _tighten(self.path)
        except OSError as exc:
            self.close()
            raise StoreError(f"cannot make {exc.filename} private: {exc.strerror}") from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path} is not a usable collector database: {exc}") from None
        except SchemaError as exc:
            self.close()
            raise StoreError(f"{self.path} has {exc}") from None
        except StoreError:
            self.close()
            raise

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        with self._connections_lock:
            self._connections.append(db)
        return db

    def _reader(self) -> sqlite3.Connection:
        db: Optional[sqlite3.Connection] = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise StoreError("the store is closed")
            db = self._connect()
            if not self.readonly:
                db.execute("PRAGMA query_only=1")
            self._local.db = db
        return db

    def _check_schema(self, db: sqlite3.Connection) -> None:
        try:
            version = version_of(db)
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise StoreError(f"{self.path} is not a collector database: {exc}") from None
        if 0 < version < SCHEMA_VERSION and self.readonly:
            raise StoreError(
                f"{self.path} was written by an older collector: start `honeyhive serve --db "
                f"{self.path}` once to upgrade it (nothing is lost), then read it again"
            )
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this collector reads version "
                f"{SCHEMA_VERSION}"
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._writer
        if db is None:
            raise StoreError("the store is read-only")
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def writing(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction, for the experiment tables (see :mod:`.runs`)."""
        return self._transaction()

    def reading(self) -> sqlite3.Connection:
        """This thread's read connection."""
        return self._reader()

    def session_record(self, db: sqlite3.Connection, session_id: str) -> Optional[dict[str, Any]]:
        """A session's summary with its merged updates (``outputs``, ``metrics``, ...)."""
        return self._session_row(db, session_id)

    def close(self) -> None:
        """Close every connection (idempotent)."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for db in connections:
            with suppress(sqlite3.Error):
                db.close()

    # -- writes ------------------------------------------------------------------------------

    def add_spans(self, batch: SpanBatch) -> int:
        """Store a batch of spans in one transaction; returns how many were new.

        A span already stored (same trace and span id: a retried export) is skipped and counts
        nowhere. Sessions the spans name are created or have their totals updated.
        """
        rows = batch.rows
        if not rows:
            return 0
        received = _now_ns()
        with self._transaction() as db:
            # Rowids are given here (the writer lock is held), so that the search index row of
            # each span has the span's rowid.
            last = db.execute("SELECT coalesce(max(rowid), 0) FROM spans").fetchone()[0]
            numbered = [(last + index, *row) for index, row in enumerate(rows, 1)]
            texts = batch.texts
            db.execute("SAVEPOINT batch")
            before = db.total_changes
            db.executemany(_INSERT_SPAN, numbered)
            if db.total_changes - before != len(rows):  # duplicates: find the new ones
                db.execute("ROLLBACK TO batch")
                new = [
                    i for i, item in enumerate(numbered) if db.execute(_INSERT_SPAN, item).rowcount
                ]
                numbered = [numbered[i] for i in new]
                rows = [rows[i] for i in new]
                texts = [texts[i] for i in new]
            db.execute("RELEASE batch")
            db.executemany(
                INSERT_TEXT,
                [(item[0], item[5], text[0], text[1]) for item, text in zip(numbered, texts)],
            )
            self._account(db, rows, batch.sessions, received)
        return len(rows)

    @staticmethod
    def _account(
        db: sqlite3.Connection,
        rows: list[SpanRow],
        hints: dict[str, SessionHint],
        received: int,
    ) -> None:
        # session -> [start, end, spans, errors, model calls, prompt, completion, total tokens]
        totals: dict[str, list[int]] = {}
        models: dict[tuple[str, str], list[int]] = {}  # (session, model) -> calls, tokens
        for row in rows:
            session_id = row.session_id
            if session_id is None:
                continue
            total = totals.get(session_id)
            if total is None:
                total = totals[session_id] = [row.start_ns, row.end_ns, 0, 0, 0, 0, 0, 0]
            else:
                total[0] = min(total[0], row.start_ns)
                total[1] = max(total[1], row.end_ns)
            total[2] += 1
            total[3] += row.status_code == 2
            if row.model is not None or row.total_tokens is not None:
                total[4] += row.event_type == "model"
                total[5] += row.prompt_tokens or 0
                total[6] += row.completion_tokens or 0
                total[7] += row.total_tokens or 0
                if row.model is not None:
                    sums = models.get((session_id, row.model))
                    if sums is None:
                        sums = models[(session_id, row.model)] = [0, 0, 0]
                    sums[0] += 1
                    sums[1] += row.prompt_tokens or 0
                    sums[2] += row.completion_tokens or 0
            elif row.event_type == "model":
                total[4] += 1
        if models:
            add_model_totals(db, models)
        none = SessionHint(None, None, None)
        upserts = []
        for session_id, total in totals.items():
            hint = hints.get(session_id, none)
            upserts.append((session_id, hint.name, hint.project, hint.source, received, *total))
        db.executemany(_UPSERT_FROM_SPANS, upserts)

    def start_session(self, start: SessionStart) -> None:
        """Record a session start (creating the session, or completing one its spans made)."""
        with self._transaction() as db:
            _write_start(db, start, _now_ns())

    def add_event(self, event: EventRecord) -> bool:
        """Store a standalone event; False if its id was already stored (nothing changes)."""
        with self._transaction() as db:
            return _write_event(db, event)

    def add_update(self, update: EventUpdate) -> None:
        """Keep an update to a session or an event (merged into it when it is read)."""
        with self._transaction() as db:
            _write_update(db, update, _now_ns())

    def add_batch(self, batch: EventBatch) -> None:
        """A batch of events (``POST /events/batch``) in one transaction, in order: the
        sessions it starts, its events, and what its session events carry besides."""
        received = _now_ns()
        with self._transaction() as db:
            for item in batch.items:
                if isinstance(item, SessionStart):
                    _write_start(db, item, received)
                elif isinstance(item, EventRecord):
                    _write_event(db, item)
                else:
                    _write_update(db, item, received)

    # -- reads -------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """How many sessions, spans, events and updates are stored."""
        db = self._reader()
        counts = {}
        for table in ("sessions", "spans", "events", "updates"):
            counts[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        counts["unattributed_spans"] = db.execute(
            "SELECT count(*) FROM spans WHERE session_id IS NULL"
        ).fetchone()[0]
        return counts

    def sessions(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Session summaries, newest first (by their first span, event or start call)."""
        db = self._reader()
        rows = db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY start_ns DESC, session_id "
            "LIMIT ? OFFSET ?",
            (max(0, limit), max(0, offset)),
        )
        sessions = [_session_dict(row) for row in rows]
        self._add_costs(db, sessions)
        return sessions

    def _add_costs(self, db: sqlite3.Connection, sessions: list[dict[str, Any]]) -> None:
        """Each session's ``models`` (name -> calls, tokens, cost), ``cost_usd`` (of the calls
        with a known price; None when none has one) and ``unpriced_calls``, at today's prices."""
        by_id = {session["session_id"]: session for session in sessions}
        for session in sessions:
            session.update(models={}, cost_usd=None, unpriced_calls=0)
        for start in range(0, len(by_id), 500):
            ids = list(by_id)[start : start + 500]
            rows = db.execute(
                "SELECT session_id, model, calls, prompt_tokens, completion_tokens "
                f"FROM session_models WHERE session_id IN ({', '.join('?' * len(ids))})",
                ids,
            )
            for session_id, model, calls, prompt, completion in rows:
                session = by_id[session_id]
                cost = self.prices.cost(model, prompt, completion)
                session["models"][model] = {
                    "calls": calls,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "cost_usd": cost,
                }
                if cost is None:
                    session["unpriced_calls"] += calls
                else:
                    session["cost_usd"] = (session["cost_usd"] or 0.0) + cost

    def _session_row(self, db: sqlite3.Connection, session_id: str) -> Optional[dict[str, Any]]:
        row = db.execute(
            f"SELECT {_SESSION_COLUMNS}, inputs, metadata FROM sessions WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        session = _session_dict(row)
        self._add_costs(db, [session])
        inputs, metadata = row[16], row[17]
        session["inputs"] = json.loads(inputs) if inputs else None
        session["metadata"] = json.loads(metadata) if metadata else {}
        for name in UPDATE_FIELDS:
            session.setdefault(name, {})
        for (body,) in db.execute(
            "SELECT body FROM updates WHERE target_id = ? ORDER BY seq", (session_id,)
        ):
            _merge(session, json.loads(body))
        session["update_count"] = db.execute(
            "SELECT count(*) FROM updates WHERE target_id = ?", (session_id,)
        ).fetchone()[0]
        return session

    def _events(self, db: sqlite3.Connection, where: str, args: Sequence[Any]) -> list[Any]:
        events = []
        rows = db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY start_ns", args
        ).fetchall()
        for event_id, session_id, parent_id, name, event_type, start, end, error, body in rows:
            event = json.loads(body)
            for (update,) in db.execute(
                "SELECT body FROM updates WHERE target_id = ? ORDER BY seq", (event_id,)
            ):
                _merge(event, json.loads(update))
            events.append(
                {
                    "event_id": event_id,
                    "session_id": session_id,
                    "parent_id": parent_id,
                    "name": name,
                    "event_type": event_type,
                    "start_ns": start,
                    "end_ns": end,
                    "error": error,
                    "body": event,
                }
            )
        return events

    def _spans_json(self, rows: Sequence[Sequence[Any]], full: bool) -> str:
        """``"spans":[...],"resources":[...]`` (and ``"scopes"``) built from the stored JSON.

        A span's ``resource`` (and ``scope``) is an index into those lists: a batch's spans
        share them. Without ``full``, spans have no attributes, events, links or scope (the
        waterfall fetches them per span).
        """
        resources: dict[str, int] = {}
        scopes: dict[str, int] = {}
        parts = []
        quote = dumps
        cost = self.prices.cost
        for row in rows:
            trace_id, span_id, parent, session_id, name, kind, start, end = row[:8]
            code, message, event_type, error, resource = row[8:13]
            text = (
                f'{{"trace_id":"{trace_id}","span_id":"{span_id}",'
                f'"parent_span_id":{quote(parent)},"session_id":{quote(session_id)},'
                f'"name":{quote(name)},"kind":{kind},"start_ns":{start},"end_ns":{end},'
                f'"status_code":{code},"status_message":{quote(message)},'
                f'"event_type":{quote(event_type)},"error":{quote(error)},'
                f'"resource":{resources.setdefault(resource, len(resources))}'
            )
            model, prompt, completion, total = row[13:17]
            if model is not None or total is not None:
                text += (
                    f',"model":{quote(model)},"prompt_tokens":{quote(prompt)},'
                    f'"completion_tokens":{quote(completion)},"total_tokens":{quote(total)},'
                    f'"cost_usd":{quote(cost(model, prompt, completion))}'
                )
            if full:
                attributes, events, links, scope = row[17:]
                text += (
                    f',"attributes":{attributes},"events":{events},"links":{links},'
                    f'"scope":{scopes.setdefault(scope, len(scopes))}'
                )
            parts.append(text + "}")
        answer = f'"spans":[{",".join(parts)}],"resources":[{",".join(resources)}]'
        return answer + (f',"scopes":[{",".join(scopes)}]' if full else "")

    def _span_rows(self, db: sqlite3.Connection, where: str, args: Any, full: bool) -> list[Any]:
        columns = f"{_SUMMARY_COLUMNS}, {_DETAIL_COLUMNS}" if full else _SUMMARY_COLUMNS
        return db.execute(
            f"SELECT {columns} FROM spans WHERE {where} ORDER BY start_ns", args
        ).fetchall()

    def session_json(self, session_id: str, *, full: bool = False) -> Optional[str]:
        """A session with its spans, events and merged updates, as JSON text.

        Without ``full`` the spans are summaries (see :meth:`_spans_json`); :meth:`span_json`
        has the rest of each.
        """
        db = self._reader()
        db.execute("BEGIN")  # one consistent snapshot for the whole answer
        try:
            session = self._session_row(db, session_id)
            if session is None:
                return None
            rows = self._span_rows(db, "session_id = ?", (session_id,), full)
            events = self._events(db, "session_id = ?", (session_id,))
        finally:
            db.execute("COMMIT")
        return (
            f'{{"session":{dumps(session)},"events":{dumps(events)},'
            f"{self._spans_json(rows, full)}}}"
        )

    def trace_json(self, trace_id: str, *, full: bool = False) -> Optional[str]:
        """One trace's spans (across sessions and services), with the events under them."""
        trace_id = trace_id.lower()
        db = self._reader()
        db.execute("BEGIN")
        try:
            rows = self._span_rows(db, "trace_id = ?", (trace_id,), full)
            if not rows:
                return None
            session_ids = sorted({row[3] for row in rows if row[3] is not None})
            span_ids = {row[1] for row in rows}
            events = [
                event
                for session_id in session_ids
                for event in self._events(db, "session_id = ?", (session_id,))
                if event["parent_id"] in span_ids
            ]
            sessions = [self._session_row(db, session_id) for session_id in session_ids]
        finally:
            db.execute("COMMIT")
        return (
            f'{{"trace_id":{dumps(trace_id)},"sessions":{dumps(sessions)},'
            f'"events":{dumps(events)},{self._spans_json(rows, full)}}}'
        )

    def span_json(self, trace_id: str, span_id: str) -> Optional[str]:
        """One span with everything stored about it (``resources`` and ``scopes`` of one)."""
        db = self._reader()
        rows = self._span_rows(
            db, "trace_id = ? AND span_id = ?", (trace_id.lower(), span_id.lower()), True
        )
        if not rows:
            return None
        row = rows[0]
        view = llm_view(json.loads(row[17]), json.loads(row[18]))
        if "model" in view or "usage" in view:
            usage = view.get("usage", {})
            price = self.prices.price(view.get("model"))
            view["cost_usd"] = self.prices.cost(
                view.get("model"), usage.get("prompt_tokens"), usage.get("completion_tokens")
            )
            if price is not None:
                view["price_per_million_tokens"] = {"input": price[0], "output": price[1]}
        return f'{{{self._spans_json(rows, True)},"llm":{dumps(view)}}}'

    def session(self, session_id: str, *, full: bool = False) -> Optional[dict[str, Any]]:
        """:meth:`session_json`, parsed."""
        text = self.session_json(session_id, full=full)
        return None if text is None else dict(json.loads(text))

    def trace(self, trace_id: str, *, full: bool = False) -> Optional[dict[str, Any]]:
        """:meth:`trace_json`, parsed."""
        text = self.trace_json(trace_id, full=full)
        return None if text is None else dict(json.loads(text))

    def search(
        self, query: str, limit: int = 20, filters: Optional[SpanFilter] = None
    ) -> dict[str, Any]:
        """Sessions, traces, spans and events whose id is ``query`` (or starts with it, from
        four characters on), sessions whose name contains it, and in ``matches`` the spans
        whose name, input or output has its words and that pass ``filters`` (see
        :mod:`.search`)."""
        text = query.strip()
        filters = filters or SpanFilter()
        found: dict[str, Any] = {
            "query": text,
            "sessions": [],
            "traces": [],
            "spans": [],
            "events": [],
            "matches": [],
        }
        db = self._reader()
        if text or not filters.is_empty():
            found["matches"] = search_spans(db, text, filters, limit)
        if not text:
            return found

        low = text.lower()

        def bounds(value: str) -> tuple[str, str]:
            return (value, value + _TOP) if len(value) >= _MIN_PREFIX else (value, value)

        def id_match(column: str) -> str:
            if len(text) >= _MIN_PREFIX:
                return f"{column} >= ? AND {column} < ?"
            return f"{column} >= ? AND {column} <= ?"

        sessions = db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {id_match('session_id')} "
            "ORDER BY start_ns DESC LIMIT ?",
            (*bounds(text), limit),
        ).fetchall()
        named = db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE instr(lower(name), ?) > 0 "
            "ORDER BY start_ns DESC LIMIT ?",
            (low, limit),
        ).fetchall()
        seen: set[str] = set()
        for row in [*sessions, *named][:limit]:
            if row[0] not in seen:
                seen.add(row[0])
                found["sessions"].append(_session_dict(row))
        found["traces"] = [
            {
                "trace_id": trace_id,
                "session_id": session_id,
                "span_count": count,
                "start_ns": start,
                "end_ns": end,
                "error_count": errors,
            }
            for trace_id, session_id, count, start, end, errors in db.execute(
                "SELECT trace_id, max(session_id), count(*), min(start_ns), max(end_ns), "
                f"sum(status_code = 2) FROM spans WHERE {id_match('trace_id')} "
                "GROUP BY trace_id LIMIT ?",
                (*bounds(low), limit),
            )
        ]
        # No index on span_id alone (a random key would cost every write a page): the
        # primary key's index holds every span id, and scanning it is fast enough for a search.
        keys = db.execute(
            f"SELECT trace_id, span_id FROM spans WHERE {id_match('span_id')} LIMIT ?",
            (*bounds(low), limit),
        ).fetchall()
        for trace_id, span_id in keys:
            session_id, name = db.execute(
                "SELECT session_id, name FROM spans WHERE trace_id = ? AND span_id = ?",
                (trace_id, span_id),
            ).fetchone()
            found["spans"].append(
                {"trace_id": trace_id, "span_id": span_id, "session_id": session_id, "name": name}
            )
        found["events"] = [
            {"event_id": event_id, "session_id": session_id, "parent_id": parent, "name": name}
            for event_id, session_id, parent, name in db.execute(
                "SELECT event_id, session_id, parent_id, name FROM events "
                f"WHERE {id_match('event_id')} LIMIT ?",
                (*bounds(text), limit),
            )
        ]
        return found
