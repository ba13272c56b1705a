"""The collector database's tables, and the upgrade of an older database to them.

Version 2 added what the LLM view needs: each span's model and token counts, per-session
totals (model calls, tokens) and per-session, per-model token sums (cost is computed from them
when read, with the prices in force), and the full-text index ``span_text``. Opening a version 1
database for writing upgrades it in place, in one transaction: the new columns are filled from
each span's stored attributes, so old traces get models, tokens and search too.

Version 3 added experiments: the ``runs``, ``datasets`` and ``datapoints`` tables, and each
session's ``run_id`` (from its start's metadata, indexed: a run's sessions are found by it).
Upgrading fills ``run_id`` from the sessions already stored, so runs recorded before the upgrade
(by the published SDK, say) show their sessions as soon as their run is created.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Optional

from honeyhive._collector.normalize import span_facts
from honeyhive._collector.search import FTS_SCHEMA, INSERT_TEXT

__all__ = ["SCHEMA_VERSION", "SchemaError", "add_model_totals", "prepare", "version_of"]

SCHEMA_VERSION = 3


_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    name TEXT,
    project TEXT,
    source TEXT,
    origin TEXT NOT NULL,
    started INTEGER NOT NULL DEFAULT 0,
    created_ns INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    span_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    event_count INTEGER NOT NULL DEFAULT 0,
    inputs TEXT,
    metadata TEXT,
    model_calls INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (start_ns);
CREATE INDEX IF NOT EXISTS sessions_by_run ON sessions (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    session_id TEXT,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    status_message TEXT NOT NULL,
    event_type TEXT,
    error TEXT,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    links TEXT NOT NULL,
    resource TEXT NOT NULL,
    scope TEXT NOT NULL,
    model TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_session ON spans (session_id, start_ns);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    session_id TEXT,
    parent_id TEXT,
    name TEXT NOT NULL,
    event_type TEXT,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    error TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, start_ns);
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS updates_by_target ON updates (target_id, seq);
CREATE TABLE IF NOT EXISTS session_models (
    session_id TEXT NOT NULL,
    model TEXT NOT NULL,
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (session_id, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT,
    status TEXT,
    dataset_id TEXT,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_ns);
CREATE TABLE IF NOT EXISTS datasets (
    dataset_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datapoints (
    datapoint_id TEXT PRIMARY KEY,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    body TEXT NOT NULL
);
"""


_UPSERT_MODEL = """
INSERT INTO session_models VALUES (?, ?, ?, ?, ?)
ON CONFLICT (session_id, model) DO UPDATE SET
    calls = calls + excluded.calls,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens
"""
_V2_TO_V3 = (
    "ALTER TABLE sessions ADD COLUMN run_id TEXT",
    "UPDATE sessions SET run_id = json_extract(metadata, '$.run_id') "
    "WHERE json_valid(metadata) AND json_type(metadata, '$.run_id') = 'text'",
)
_V1_TO_V2 = (
    "ALTER TABLE spans ADD COLUMN model TEXT",
    "ALTER TABLE spans ADD COLUMN prompt_tokens INTEGER",
    "ALTER TABLE spans ADD COLUMN completion_tokens INTEGER",
    "ALTER TABLE spans ADD COLUMN total_tokens INTEGER",
    "ALTER TABLE sessions ADD COLUMN model_calls INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sessions ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sessions ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sessions ADD COLUMN total_tokens INTEGER NOT NULL DEFAULT 0",
)


class SchemaError(Exception):
    """The database has a schema this collector cannot use."""


def version_of(db: sqlite3.Connection) -> int:
    """The database's schema version (0 when it has none yet)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def prepare(db: sqlite3.Connection) -> None:
    """Create the tables, or upgrade version 1 (inside the caller's transaction)."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    version = version_of(db)
    if version in (1, 2):
        for statement in _V2_TO_V3:
            db.execute(statement)
        if version == 1:
            _upgrade_from_1(db)
    elif version not in (0, SCHEMA_VERSION):
        raise SchemaError(f"schema version {version}; this collector reads {SCHEMA_VERSION}")
    for statement in _TABLES.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(FTS_SCHEMA)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def add_model_totals(db: sqlite3.Connection, sums: dict[tuple[str, str], list[int]]) -> None:
    """Add ``(session, model) -> [calls, prompt tokens, completion tokens]`` to the totals."""
    db.executemany(_UPSERT_MODEL, [(s, m, *counts) for (s, m), counts in sums.items()])


def _upgrade_from_1(db: sqlite3.Connection) -> None:
    for statement in _V1_TO_V2:
        db.execute(statement)
    for statement in _TABLES.split(";"):  # session_models
        if statement.strip():
            db.execute(statement)
    db.execute(FTS_SCHEMA)
    sessions: dict[str, list[int]] = {}  # calls, prompt, completion, total
    models: dict[tuple[str, str], list[int]] = {}
    rows = db.execute("SELECT rowid, session_id, name, attributes FROM spans").fetchall()
    for rowid, session_id, name, attributes in rows:
        try:
            facts = span_facts(json.loads(attributes))
        except ValueError:
            continue
        db.execute(
            "UPDATE spans SET event_type = coalesce(?, event_type), model = ?, "
            "prompt_tokens = ?, completion_tokens = ?, total_tokens = ? WHERE rowid = ?",
            (
                facts.event_type,
                facts.model,
                facts.prompt_tokens,
                facts.completion_tokens,
                facts.total_tokens,
                rowid,
            ),
        )
        db.execute(INSERT_TEXT, (rowid, name, facts.input_text, facts.output_text))
        if session_id is None:
            continue
        _count(sessions, models, session_id, facts.event_type, facts.model, facts)
    db.executemany(
        "UPDATE sessions SET model_calls = ?, prompt_tokens = ?, completion_tokens = ?, "
        "total_tokens = ? WHERE session_id = ?",
        [(*totals, session_id) for session_id, totals in sessions.items()],
    )
    add_model_totals(db, models)


def _count(
    sessions: dict[str, list[int]],
    models: dict[tuple[str, str], list[int]],
    session_id: str,
    event_type: Optional[str],
    model: Optional[str],
    facts: Any,
) -> None:
    totals = sessions.setdefault(session_id, [0, 0, 0, 0])
    totals[0] += event_type == "model"
    totals[1] += facts.prompt_tokens or 0
    totals[2] += facts.completion_tokens or 0
    totals[3] += facts.total_tokens or 0
    if model:
        sums = models.setdefault((session_id, model), [0, 0, 0])
        sums[0] += 1
        sums[1] += facts.prompt_tokens or 0
        sums[2] += facts.completion_tokens or 0
