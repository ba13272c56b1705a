"""Run the benchmarks, print one table, write ``benchmarks/results/latest.json``.

    python3 dev.py bench                 # everything, full rounds
    python3 dev.py bench --quick         # fewer rounds: a smoke run, noisy
    python3 dev.py bench spans import    # only these (module names without ``bench_``)

Every benchmark compares contenders interleaved within this one run and reports ratios
ours/theirs; results from different runs are never compared. A MISS is reported, not failed:
the exit status is 0 whatever the ratios (1 only if a benchmark itself crashed, 2 for usage).

A ``bench_*.py`` module takes part by defining ``run(quick: bool) -> _harness.Report``. A module
that only has a ``main()`` (a stand-alone script) is run as a subprocess with default arguments;
its output is shown as it is and kept in the JSON, outside the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

if str(HERE) not in sys.path:  # the modules import the shared _harness
    sys.path.insert(0, str(HERE))

from _harness import Report, Row  # noqa: E402


def discover() -> dict[str, Path]:
    """Benchmark name (``spans`` for ``bench_spans.py``) -> module file."""
    return {path.stem[len("bench_") :]: path for path in sorted(HERE.glob("bench_*.py"))}


def _fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return "1.000" if row.status == "baseline" else "-"
    if row.ratio_iqr is None:
        return f"{row.ratio:.3f}"
    low, high = row.ratio_iqr
    return f"{row.ratio:.3f} [{low:.2f}-{high:.2f}]"


def _fmt_median(row: Row) -> str:
    if row.median is None:
        return "-"
    if row.unit in ("spans", "sessions"):  # a count, not a time
        return f"{row.median:.0f} {row.unit}"
    digits = 1 if row.unit == "ms" or row.median >= 100 else 2
    return f"{row.median:.{digits}f} {row.unit}"


def print_table(reports: list[Report], scripts: dict[str, str]) -> None:
    header = ("benchmark", "contender", "median/op", "ratio [IQR]", "target", "result")
    lines: list[tuple[str, ...]] = []
    for report in reports:
        for row in report.rows:
            target = "-" if row.target is None else f"<= {row.target:.3g}"
            lines.append(
                (
                    row.benchmark,
                    row.contender,
                    _fmt_median(row),
                    _fmt_ratio(row),
                    target,
                    row.status,
                )
            )
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def show(cells: tuple[str, ...]) -> str:
        left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        right = [cells[i].rjust(widths[i]) for i in (2, 3, 4)]
        return "  ".join([*left, *right, cells[5]]).rstrip()

    print()
    print(show(header))
    print("  ".join("-" * w for w in widths))
    for cells in lines:
        print(show(cells))
    print()
    print("ratio = median over rounds of (ours / baseline) measured in the same round;")
    print("[IQR] = its 25th-75th percentile across rounds. Lower is better.")
    for report in reports:
        for note in report.notes:
            print(f"  {report.name}: {note}")
        for row in report.rows:
            if row.note and row.status in ("info", "skipped", "error"):
                print(f"  {report.name}: {row.contender}: {row.note}")
    for name, output in scripts.items():
        print(f"\n--- bench_{name}.py (stand-alone script, output as is) ---")
        print(output.rstrip())


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> Optional[str]:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain")
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def _run_script(name: str, path: Path) -> str:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = done.stdout + (f"\n[stderr]\n{done.stderr}" if done.returncode else "")
    return f"{output.rstrip()}\n[{name}: exit {done.returncode}, {time.monotonic() - started:.0f}s]"


def main(argv: Optional[list[str]] = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(
        description="Run the benchmarks (ratios against incumbents, interleaved in one run).",
        epilog=f"benchmarks: {', '.join(available)}",
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run, noisy)")
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "latest.json", help="where to write the results"
    )
    args = parser.parse_args(argv)
    names = [name.removeprefix("bench_").removesuffix(".py") for name in args.names]
    unknown = [name for name in names if name not in available]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; have {', '.join(available)}")
    selected = names or list(available)

    started = datetime.now(timezone.utc)
    reports: list[Report] = []
    scripts: dict[str, str] = {}
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    for name in selected:
        print(f"bench: {name}{' (quick)' if args.quick else ''} ...", flush=True)
        begin = time.monotonic()
        try:
            module = importlib.import_module(f"bench_{name}")
            run = getattr(module, "run", None)
            if run is not None:
                reports.append(run(quick=args.quick))
            else:
                scripts[name] = _run_script(name, available[name])
        except Exception as exc:
            errors[name] = traceback.format_exc()
            print(errors[name], file=sys.stderr)
            row = Row(name, "(crashed)", None, status="error", note=f"{type(exc).__name__}: {exc}")
            reports.append(Report(name, [row]))
        durations[name] = time.monotonic() - begin
        print(f"bench: {name} done in {durations[name]:.0f}s", flush=True)

    print_table(reports, scripts)
    result = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "selected": selected,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "git": _git_state(),
        "durations_s": durations,
        "benchmarks": {report.name: report.as_dict() for report in reports},
        "scripts": scripts,
        "errors": errors,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    try:
        shown = args.json.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.json
    print(f"\nwrote {shown}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
