"""Full-text search over spans, and the filters beside it (SQLite FTS5).

Each span is indexed once, when it is stored, in the contentless FTS5 table ``span_text``
(its rowid is the span's): its name, and the text of its captured inputs and outputs as
:func:`~.normalize.span_facts` finds it (at most :data:`~.normalize.SEARCH_TEXT_LIMIT`
characters each). Words are Unicode words without diacritics, matched by prefix: ``refund``
finds "refunds", ``charge_card`` finds the span named ``charge_card`` (both "charge" and
"card"). Every word typed must match. The index keeps no positions (``detail=none``): it is a
third of the size and cheaper to write, and a search box needs no phrases. Filters: errors
only, event type, model, minimum duration.

Hits come newest first (the index is walked backwards by rowid, so a common word costs no
sort); each carries a snippet of the text around the first match, cut from the span's
attributes when it is read.
"""

# ruff: noqa: S608 - the SQL text is built from this module's constants only; values are bound

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Optional

from honeyhive._collector.normalize import span_facts

__all__ = ["FTS_SCHEMA", "INSERT_TEXT", "SpanFilter", "fts_query", "search_spans", "snippet"]

FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS span_text USING fts5("
    "name, input, output, content='', detail=none, columnsize=0, "
    "tokenize='unicode61 remove_diacritics 2')"
)
INSERT_TEXT = "INSERT INTO span_text (rowid, name, input, output) VALUES (?, ?, ?, ?)"
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_WORDS = 16


@dataclass(frozen=True)
class SpanFilter:
    """What a span must be, besides matching the words (None: anything)."""

    errors_only: bool = False
    event_type: Optional[str] = None
    model: Optional[str] = None
    min_duration_ms: Optional[float] = None

    def is_empty(self) -> bool:
        return not (self.errors_only or self.event_type or self.model) and (
            self.min_duration_ms is None
        )


def fts_query(text: str) -> Optional[str]:
    """The FTS5 query for what a person typed: every word must match, each by prefix (a word
    with punctuation inside, ``charge_card``, ``gpt-4o``, is its parts). None when nothing
    searchable was typed. Quoting each token keeps FTS5's syntax out of a person's hands."""
    tokens = _WORD.findall(text.replace("_", " "))[:_MAX_WORDS]
    return " AND ".join(f'"{token}"*' for token in tokens) if tokens else None


_COLUMNS = (
    "s.trace_id, s.span_id, s.session_id, s.name, s.start_ns, s.end_ns, s.status_code, "
    "s.event_type, s.model, s.total_tokens, s.attributes"
)


def _where(filters: SpanFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if filters.errors_only:
        clauses.append("s.status_code = 2")
    if filters.event_type:
        clauses.append("s.event_type = ?")
        args.append(filters.event_type)
    if filters.model:
        clauses.append("s.model = ?")
        args.append(filters.model)
    if filters.min_duration_ms is not None:
        clauses.append("s.end_ns - s.start_ns >= ?")
        args.append(int(filters.min_duration_ms * 1e6))
    return clauses, args


def search_spans(
    db: sqlite3.Connection, text: str, filters: SpanFilter, limit: int
) -> list[dict[str, Any]]:
    """Spans matching ``text`` (all of them when it is empty) and ``filters``, newest first."""
    query = fts_query(text)
    clauses, args = _where(filters)
    if query is None and not text.strip() and filters.is_empty():
        return []
    if query is None and text.strip():
        return []  # only punctuation: nothing can match
    if query is not None:
        sql = (
            f"SELECT {_COLUMNS} FROM span_text JOIN spans AS s ON s.rowid = span_text.rowid "
            f"WHERE span_text MATCH ? {''.join(' AND ' + c for c in clauses)} "
            "ORDER BY span_text.rowid DESC LIMIT ?"
        )
        rows = db.execute(sql, (query, *args, limit)).fetchall()
    else:
        sql = (
            f"SELECT {_COLUMNS} FROM spans AS s WHERE {' AND '.join(clauses)} "
            "ORDER BY s.rowid DESC LIMIT ?"
        )
        rows = db.execute(sql, (*args, limit)).fetchall()
    words = [w.lower() for w in _WORD.findall(text.replace("_", " "))]
    hits = []
    for trace_id, span_id, session_id, name, start, end, code, kind, model, tokens, attrs in rows:
        hit: dict[str, Any] = {
            "trace_id": trace_id,
            "span_id": span_id,
            "session_id": session_id,
            "name": name,
            "start_ns": start,
            "duration_ms": max(0, end - start) / 1e6,
            "status_code": code,
            "event_type": kind,
            "model": model,
            "total_tokens": tokens,
        }
        if words:
            found = snippet(json.loads(attrs), words)
            if found is not None:
                hit["snippet"] = found
        hits.append(hit)
    return hits


def snippet(attributes: dict[str, Any], words: list[str]) -> Optional[dict[str, str]]:
    """Where the first word matched: ``{"field": "input"|"output", "text": ...}`` (about 160
    characters around the match), or None when it matched the name."""
    facts = span_facts(attributes)
    for field, text in (("input", facts.input_text), ("output", facts.output_text)):
        low = text.lower()
        for word in words:
            at = low.find(word)
            if at >= 0:
                start = max(0, at - 60)
                cut = text[start : at + 100]
                return {
                    "field": field,
                    "text": ("…" if start else "") + cut + ("…" if at + 100 < len(text) else ""),
                }
    return None
