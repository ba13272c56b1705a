"""``honeyhive runs``: experiment runs in the terminal.

* ``honeyhive runs``: the latest runs, each with its status, passed and failed datapoints, and
  the mean of each metric;
* ``honeyhive runs RUN``: one run, datapoint by datapoint (a unique prefix of its id will do);
* ``honeyhive runs NEW --compare OLD``: two runs, metric by metric and datapoint by datapoint.

It finds the collector the way ``honeyhive traces`` does (``--url``, ``--db``, ``HH_API_URL``,
``.honeyhive/traces.db``, 127.0.0.1:8318).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, Callable, Optional

from honeyhive._cli.traces import SourceError, open_source_and_say
from honeyhive._experiments import cell, text_table

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "runs",
        help="list experiment runs, show one, or compare two",
        description=(
            "Experiment runs recorded by evaluate(): the latest with their metric summaries, "
            "one run datapoint by datapoint (RUN: its id, or a unique prefix of it), or RUN "
            "compared with an older run (--compare OLD). Reads the collector as `honeyhive "
            "traces` does."
        ),
    )
    parser.add_argument(
        "run_id", nargs="?", metavar="RUN", default=None, help="a run id (or a unique prefix)"
    )
    parser.add_argument("--compare", metavar="OLD", default=None, help="compare RUN with OLD")
    parser.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("--url", default=None, help="a running collector's URL")
    parser.add_argument("--db", default=None, help="a collector database file")
    parser.add_argument("--api-key", default=None, help="the collector's key, if it has one")
    parser.add_argument("--json", action="store_true", help="print what was read as JSON")
    parser.set_defaults(run=run)


def _cell(value: Any, width: int = 32) -> str:
    return cell(value, width, digits=3)


def _signed(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:+.3f}"


def render_runs(runs: Sequence[dict[str, Any]]) -> list[str]:
    if not runs:
        return ["no runs yet: run evaluate(..., server_url=<this collector>)"]
    rows = []
    for run in runs:
        metrics = ", ".join(
            f"{m['metric_name']}={_cell(m['mean'], 10)}"
            for m in run["metrics"]
            if m.get("mean") is not None
        )
        rows.append(
            [
                run["run_id"][:8],
                _cell(run["name"], 28),
                run["status"] or "-",
                str(run["passed"]),
                str(run["failed"]),
                run["created_at"][:19].replace("T", " "),
                metrics or "-",
            ]
        )
    return text_table(["run", "name", "status", "passed", "failed", "created (UTC)", "means"], rows)


def render_run(result: dict[str, Any]) -> list[str]:
    run = result["run_object"]
    lines = [
        f"{run['name']} ({run['run_id']}): {run['status']}, {len(result['passed'])} passed, "
        f"{len(result['failed'])} failed"
    ]
    details = result["metrics"]["details"]
    numeric = [d for d in details if d["metric_type"] != "string"]
    if numeric:
        rows = [
            [
                d["metric_name"],
                _cell(d["mean"]),
                _cell(d["min"]),
                _cell(d["max"]),
                str(d["count"]),
            ]
            for d in numeric
        ]
        lines += ["", *text_table(["metric", "mean", "min", "max", "count"], rows)]
    names = [d["metric_name"] for d in details]
    rows = []
    for row in result["rows"]:
        problem = row["error"] or "; ".join(f"{k}: {v}" for k, v in row["evaluator_errors"].items())
        rows.append(
            [
                _cell(row["datapoint_id"] or "-", 24),
                _cell(row["inputs"], 28),
                _cell(row["outputs"], 28),
                *(_cell(row["metrics"].get(n), 10) for n in names),
                _cell(problem or None, 40),
                row["session_id"][:8],
            ]
        )
    header = ["datapoint", "inputs", "output", *names, "error", "session"]
    return [*lines, "", *text_table(header, rows)]


def render_comparison(compared: dict[str, Any]) -> list[str]:
    new, old = compared["new_run"], compared["old_run"]
    counts = compared["counts"]
    lines = [
        f"{new['name']} ({new['run_id'][:8]}) against {old['name']} ({old['run_id'][:8]}): "
        f"{len(compared['rows'])} datapoints in both; {counts['improved']} improved, "
        f"{counts['regressed']} regressed, {counts['mixed']} mixed, "
        f"{counts['unchanged']} unchanged",
    ]
    rows = [
        [
            m["metric_name"],
            _cell(m["old_aggregate"]),
            _cell(m["new_aggregate"]),
            _signed(m["difference"]),
            str(m["improved_count"]),
            str(m["degraded_count"]),
        ]
        for m in compared["metrics"]
    ]
    if rows:
        lines += ["", *text_table(["metric", "old", "new", "delta", "improved", "regressed"], rows)]
    names = [m["metric_name"] for m in compared["metrics"]]
    rows = [
        [
            _cell(row["datapoint_id"], 24),
            *(_signed(row["deltas"].get(n)) for n in names),
            row["verdict"],
            _cell(row.get("why"), 48),
        ]
        for row in compared["rows"]
    ]
    header = ["datapoint", *(f"d {n}" for n in names), "verdict", "why"]
    return [*lines, "", *text_table(header, rows)]


def run(args: argparse.Namespace) -> int:
    if args.compare and not args.run_id:
        print("honeyhive runs: --compare OLD needs the newer RUN first", file=sys.stderr)
        return 2
    source = open_source_and_say("honeyhive runs", args)
    if source is None:
        return 1
    render: Callable[[Any], list[str]]
    try:
        if args.compare:
            answer: Any = source.compare(args.run_id, args.compare)
            render = render_comparison
        elif args.run_id:
            answer, render = source.run(args.run_id), render_run
        else:
            answer, render = source.runs(max(1, args.limit)), render_runs
    except SourceError as exc:
        print(f"honeyhive runs: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
    if args.json:
        print(json.dumps(answer, indent=2, default=str))
        return 0
    for line in render(answer):
        print(line)
    return 0
