"""Experiment runs in the collector, as the HoneyHive API has them (datasets: :mod:`.datasets`).

A run is what ``evaluate()`` creates (``POST /v1/runs``) and updates (``PUT /v1/runs/{id}``);
its datapoints are the sessions whose start carried its ``run_id`` (and any it names in
``event_ids``). Its result is read from them when asked: per datapoint the session's inputs,
outputs (``PUT /events``), ground truth (``feedback.ground_truth``) and metrics (the session's,
over any ``honeyhive_metrics.*`` its spans carry: the published SDK puts evaluator results on
its chain span), and per metric an aggregate and its mean, min, max and count. A datapoint
failed when its session's metadata has an ``error`` or ``evaluator_errors``, or it has error
spans and no outputs.

Comparing two runs matches datapoints by id: per metric and datapoint the delta (new minus
old; higher is better), and which datapoints improved, regressed, or both (``mixed``). A
datapoint that fails in the new run and did not in the old one regressed, and the other way
round improved.
"""

# ruff: noqa: S608 - the SQL text is built from this module's constants only; values are bound

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Optional

from honeyhive._collector.payloads import json_object
from honeyhive._collector.records import PayloadError
from honeyhive._collector.store import Store
from honeyhive._experiments import AGGREGATES, aggregate, as_number, metric_type

__all__ = [
    "AGGREGATES",
    "RUN_FIELDS",
    "RUN_STATUSES",
    "Experiments",
    "iso_time",
    "json_fields",
]

RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
RUN_FIELDS: dict[str, type] = {
    "run_id": str,
    "name": str,
    "description": str,
    "status": str,
    "metadata": dict,
    "results": dict,
    "dataset_id": str,
    "event_ids": list,
    "session_ids": list,
    "configuration": dict,
    "evaluators": list,
    "datapoint_ids": list,
    "passing_ranges": dict,
}
#: Fields that are lists of ids: each item a string (they are looked up, joined and compared).
_ID_LISTS = frozenset(
    {"event_ids", "session_ids", "datapoint_ids", "datapoints", "linked_datasets"}
)
_METRIC_PREFIX = "honeyhive_metrics."
_COMPARED = ("session_id", "outputs", "metrics", "error", "passed")


def json_fields(data: bytes, fields: Mapping[str, type], what: str) -> dict[str, Any]:
    """A JSON object body whose known fields have the right types (others are kept as sent)."""
    try:
        # As every other write: no NaN or infinities (a stored one could never be answered
        # as JSON again), no nesting deeper than the parser goes.
        body = json_object(data or b"{}")
    except PayloadError as exc:
        raise PayloadError(f"{what}: {exc.message}") from None
    for name, kind in fields.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            expected = {"dict": "an object", "list": "a list", "str": "a string"}[kind.__name__]
            raise PayloadError(f"{what}: {name} must be {expected}, got {json.dumps(value)[:60]}")
        if name in _ID_LISTS and isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    shown = json.dumps(item)[:60]
                    raise PayloadError(f"{what}: {name} must hold strings (ids), got {shown}")
    status = body.get("status")
    if "status" in fields and status is not None and status not in RUN_STATUSES:
        raise PayloadError(f"{what}: status must be one of {', '.join(RUN_STATUSES)}")
    return {k: v for k, v in body.items() if v is not None}


def iso_time(ns: int) -> str:
    """Nanoseconds since the epoch as the API writes times (ISO 8601, UTC)."""
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat().replace("+00:00", "Z")


def _run_object(row: Sequence[Any]) -> dict[str, Any]:
    run_id, name, status, dataset_id, created, updated, body = row
    stored = json.loads(body)
    return {
        "id": run_id,
        "run_id": run_id,
        "name": name,
        "description": stored.get("description"),
        "status": status,
        "metadata": stored.get("metadata") or {},
        "results": stored.get("results") or {},
        "event_ids": stored.get("event_ids") or [],
        "datapoint_ids": stored.get("datapoint_ids") or [],
        "configuration": stored.get("configuration") or {},
        "evaluators": stored.get("evaluators") or [],
        "passing_ranges": stored.get("passing_ranges") or {},
        "is_active": True,
        "created_at": iso_time(created),
        "updated_at": iso_time(updated),
        "scope_type": "project",
        "scope_id": "local",
        "dataset_id": dataset_id,
        "created_ns": created,
    }


_RUN_COLUMNS = "run_id, name, status, dataset_id, created_ns, updated_ns, body"


class Experiments:
    """The experiment tables of one collector database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- runs --------------------------------------------------------------------------------

    def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        run_id = str(body.get("run_id") or uuid.uuid4())
        now = time.time_ns()
        name = body.get("name") or f"run-{run_id[:8]}"
        with self.store.writing() as db:
            # A run is created once: replacing it would silently lose its results and sessions.
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise PayloadError(
                    f"createRun: a run with run_id {run_id!r} already exists; update it with "
                    f"PUT /v1/runs/{run_id}, or create a run with another run_id",
                    status=409,
                )
            db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    name,
                    body.get("status") or "pending",
                    body.get("dataset_id"),
                    now,
                    now,
                    json.dumps(body),
                ),
            )
            return self._run(db, run_id) or {}

    def update_run(self, run_id: str, body: dict[str, Any]) -> Optional[dict[str, Any]]:
        with self.store.writing() as db:
            run = self._run(db, run_id)
            if run is None:
                return None
            row = db.execute("SELECT body FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            stored = json.loads(row[0])
            for key, value in body.items():
                if key == "metadata" and isinstance(stored.get(key), dict):
                    stored[key] = {**stored[key], **value}
                elif key != "run_id":
                    stored[key] = value
            db.execute(
                "UPDATE runs SET name = ?, status = ?, updated_ns = ?, body = ? WHERE run_id = ?",
                (
                    body.get("name") or run["name"],
                    body.get("status") or run["status"],
                    time.time_ns(),
                    json.dumps(stored),
                    run_id,
                ),
            )
            return self._run(db, run_id)

    def delete_run(self, run_id: str) -> bool:
        with self.store.writing() as db:
            cursor = db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            return bool(cursor.rowcount == 1)

    def _run(self, db: sqlite3.Connection, run_id: str) -> Optional[dict[str, Any]]:
        row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_object(row) if row else None

    def get_run(self, run_id: str) -> Optional[dict[str, Any]]:
        return self._run(self.store.reading(), run_id)

    def list_runs(
        self,
        limit: int = 50,
        offset: int = 0,
        *,
        dataset_id: Optional[str] = None,
        name: Optional[str] = None,
        status: Optional[str] = None,
        run_ids: Optional[Sequence[str]] = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Runs, newest first, and how many match in all."""
        where, args = ["1"], []
        for column, value in (("dataset_id", dataset_id), ("name", name), ("status", status)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if run_ids:
            where.append(f"run_id IN ({', '.join('?' * len(run_ids))})")
            args.extend(run_ids)
        clause = " AND ".join(where)
        db = self.store.reading()
        total = db.execute(f"SELECT count(*) FROM runs WHERE {clause}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE {clause} "
            "ORDER BY created_ns DESC, run_id LIMIT ? OFFSET ?",
            (*args, max(0, limit), max(0, offset)),
        ).fetchall()
        return [_run_object(row) for row in rows], total

    def summaries(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Runs, newest first, each with its passed and failed counts and metric summaries."""
        found, _ = self.list_runs(limit, offset)
        out = []
        for item in found:
            answer = self.result(item["run_id"]) or {}
            out.append(
                {
                    **item,
                    "passed": len(answer.get("passed", [])),
                    "failed": len(answer.get("failed", [])),
                    "metrics": [
                        {
                            k: d[k]
                            for k in ("metric_name", "metric_type", "mean", "min", "max", "count")
                        }
                        for d in answer.get("metrics", {}).get("details", [])
                    ],
                }
            )
        return out

    def find_run(self, prefix: str) -> Optional[str]:
        """The run whose id is ``prefix``, or the only one that starts with it."""
        db = self.store.reading()
        if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (prefix,)).fetchone():
            return prefix
        rows = db.execute(
            "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? LIMIT 2", (len(prefix), prefix)
        ).fetchall()
        return str(rows[0][0]) if len(rows) == 1 else None

    # -- results -----------------------------------------------------------------------------

    def _span_metrics(self, db: sqlite3.Connection, session_id: str) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        for (text,) in db.execute(
            "SELECT attributes FROM spans WHERE session_id = ? AND instr(attributes, ?) > 0 "
            "ORDER BY start_ns",
            (session_id, f'"{_METRIC_PREFIX}'),
        ):
            for key, value in json.loads(text).items():
                if key.startswith(_METRIC_PREFIX):
                    metrics[key[len(_METRIC_PREFIX) :]] = value
        return metrics

    def _first_error(self, db: sqlite3.Connection, session_id: str) -> Optional[str]:
        row = db.execute(
            "SELECT name, coalesce(error, status_message) FROM spans "
            "WHERE session_id = ? AND status_code = 2 ORDER BY start_ns LIMIT 1",
            (session_id,),
        ).fetchone()
        return f"{row[0]}: {row[1] or 'error'}" if row else None

    def _row(self, db: sqlite3.Connection, session_id: str) -> Optional[dict[str, Any]]:
        session = self.store.session_record(db, session_id)
        if session is None:
            return None
        metadata = session.get("metadata") or {}
        metrics = {**self._span_metrics(db, session_id), **(session.get("metrics") or {})}
        outputs = session.get("outputs") or None
        feedback = session.get("feedback") or {}
        error = metadata.get("error")
        if error is None and session["error_count"] and not outputs:
            error = self._first_error(db, session_id)
        evaluator_errors = metadata.get("evaluator_errors") or {}
        return {
            "datapoint_id": metadata.get("datapoint_id"),
            "session_id": session_id,
            "inputs": session.get("inputs"),
            "outputs": outputs,
            "ground_truth": feedback.get("ground_truth") if isinstance(feedback, dict) else None,
            "metrics": metrics,
            "error": error,
            "evaluator_errors": evaluator_errors,
            "passed": not error and not evaluator_errors,
            "start_ns": session["start_ns"],
            "duration_ms": session["duration_ms"],
        }

    def result(self, run_id: str, function: str = "average") -> Optional[dict[str, Any]]:
        """The run with its datapoints and per-metric aggregates (see the module)."""
        db = self.store.reading()
        db.execute("BEGIN")
        try:
            run = self._run(db, run_id)
            if run is None:
                return None
            ids = [
                sid
                for (sid,) in db.execute(
                    "SELECT session_id FROM sessions WHERE run_id = ? ORDER BY start_ns",
                    (run_id,),
                )
            ]
            seen = set(ids)
            ids += [s for s in run["event_ids"] if isinstance(s, str) and s not in seen]
            rows = [row for row in (self._row(db, sid) for sid in ids) if row is not None]
        finally:
            db.execute("COMMIT")
        order = {dp: index for index, dp in enumerate(run["datapoint_ids"])}
        rows.sort(key=lambda r: (order.get(r["datapoint_id"], len(order)), r["start_ns"]))
        return _result(run, rows, function)

    def compare(
        self, new_id: str, old_id: str, function: str = "average"
    ) -> Optional[dict[str, Any]]:
        """Two runs, datapoint by datapoint (see the module); None if either is unknown."""
        new, old = self.result(new_id, function), self.result(old_id, function)
        if new is None or old is None:
            return None
        return _compare(new, old, function)


def _result(run: dict[str, Any], rows: list[dict[str, Any]], function: str) -> dict[str, Any]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row["metrics"]))
    event_name = run["configuration"].get("function")
    details = []
    for name in names:
        pairs = [(r["datapoint_id"], r["metrics"][name]) for r in rows if name in r["metrics"]]
        values = [value for _, value in pairs]
        numbers = [n for n in map(as_number, values) if n is not None]
        details.append(
            {
                "metric_name": name,
                "metric_type": metric_type(values),
                "event_name": event_name,
                "event_type": "chain",
                "aggregate": aggregate(function, numbers),
                "values": values,
                "mean": aggregate("average", numbers),
                "min": min(numbers) if numbers else None,
                "max": max(numbers) if numbers else None,
                "count": len(values),
                "datapoints": {
                    "passed": [dp for dp, v in pairs if v is not False],
                    "failed": [dp for dp, v in pairs if v is False],
                },
            }
        )
    passed = [r["datapoint_id"] or r["session_id"] for r in rows if r["passed"]]
    failed = [r["datapoint_id"] or r["session_id"] for r in rows if not r["passed"]]
    return {
        "status": run["status"],
        "success": run["status"] == "completed" and not failed,
        "passed": passed,
        "failed": failed,
        "metrics": {"aggregation_function": function, "details": details},
        "datapoints": [
            {
                "datapoint_id": r["datapoint_id"],
                "session_id": r["session_id"],
                "passed": r["passed"],
                "metrics": [
                    {"name": k, "value": v, "event_name": event_name, "event_type": "chain"}
                    for k, v in r["metrics"].items()
                ],
            }
            for r in rows
        ],
        "event_details": [{"event_name": event_name or "session", "event_type": "chain"}],
        "run_object": run,
        "rows": rows,
    }


def _compare(new: dict[str, Any], old: dict[str, Any], function: str) -> dict[str, Any]:
    old_rows = {r["datapoint_id"]: r for r in reversed(old["rows"]) if r["datapoint_id"]}
    pairs = [(r, old_rows[r["datapoint_id"]]) for r in new["rows"] if r["datapoint_id"] in old_rows]
    names = list(  # the metrics with numbers (a text metric has no delta)
        dict.fromkeys(
            d["metric_name"]
            for d in [*new["metrics"]["details"], *old["metrics"]["details"]]
            if d["metric_type"] != "string"
        )
    )
    metrics = []
    deltas: dict[str, dict[str, Optional[float]]] = {}
    for name in names:
        improved: list[str] = []
        degraded: list[str] = []
        same: list[str] = []
        old_values: list[float] = []
        new_values: list[float] = []
        for new_row, old_row in pairs:
            a, b = as_number(old_row["metrics"].get(name)), as_number(new_row["metrics"].get(name))
            dp = new_row["datapoint_id"]
            if a is None or b is None:
                deltas.setdefault(dp, {})[name] = None
                continue
            delta = b - a
            deltas.setdefault(dp, {})[name] = delta
            old_values.append(a)
            new_values.append(b)
            (improved if delta > 0 else degraded if delta < 0 else same).append(dp)
        old_aggregate = aggregate(function, old_values)
        new_aggregate = aggregate(function, new_values)
        difference = None
        if old_aggregate is not None and new_aggregate is not None:
            difference = new_aggregate - old_aggregate
        metrics.append(
            {
                "metric_name": name,
                "metric_type": "numeric",
                "old_aggregate": old_aggregate,
                "new_aggregate": new_aggregate,
                "difference": difference,
                "percentage_change": (
                    difference / abs(old_aggregate) * 100
                    if difference is not None and old_aggregate
                    else None
                ),
                "found_count": len(old_values),
                "improved_count": len(improved),
                "degraded_count": len(degraded),
                "same_count": len(same),
                "improved": improved,
                "degraded": degraded,
                "same": same,
                "old_values": old_values,
                "new_values": new_values,
            }
        )
    rows = []
    counts = {"improved": 0, "regressed": 0, "mixed": 0, "unchanged": 0}
    for new_row, old_row in pairs:
        changes = deltas.get(new_row["datapoint_id"], {})
        # A datapoint that newly fails regressed; one that no longer fails improved.
        up = any(d is not None and d > 0 for d in changes.values()) or (
            new_row["passed"] and not old_row["passed"]
        )
        down = any(d is not None and d < 0 for d in changes.values()) or (
            old_row["passed"] and not new_row["passed"]
        )
        verdict = (
            "mixed" if up and down else "improved" if up else "regressed" if down else "unchanged"
        )
        counts[verdict] += 1
        rows.append(
            {
                "datapoint_id": new_row["datapoint_id"],
                "inputs": new_row["inputs"],
                "old": {k: old_row[k] for k in _COMPARED},
                "new": {k: new_row[k] for k in _COMPARED},
                "deltas": changes,
                "verdict": verdict,
                "why": _why(new_row, old_row, names),
            }
        )
    return {
        "metrics": metrics,
        "commonDatapoints": [r["datapoint_id"] for r in rows],
        "event_details": [],
        "old_run": old["run_object"],
        "new_run": new["run_object"],
        "rows": rows,
        "counts": counts,
    }


def _why(new_row: dict[str, Any], old_row: dict[str, Any], numeric: list[str]) -> Optional[str]:
    """Why a datapoint changed, in words: the new run's error, the old run's error that is
    gone, else the text metrics (an evaluator's explanation) that changed."""
    if new_row["error"]:
        return f"new: {new_row['error']}"
    if old_row["error"]:
        return f"fixed: {old_row['error']}"
    said = [
        f"{name.removesuffix('_explanation')}: {value}"
        for name, value in new_row["metrics"].items()
        if name not in numeric and isinstance(value, str) and old_row["metrics"].get(name) != value
    ]
    return "; ".join(said) or None
