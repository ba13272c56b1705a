"""``import honeyhive`` time: this repository's package against the published one from PyPI.

The published ``honeyhive`` (latest 1.x) is installed once into its own venv,
``benchmarks/.venvs/published`` (git-ignored, reused on later runs). Both packages are
imported as ``honeyhive``; they never meet, each lives in its own venv. Each measurement is a
fresh interpreter timing only the import statement::

    python -c "import time; t = time.perf_counter(); import honeyhive; print(...)"

alternating between ``.venv/bin/python`` (ours, editable) and the published venv's python, the
order flipping every round. Both interpreters share one byte-code cache
(``PYTHONPYCACHEPREFIX=benchmarks/.venvs/pycache``), warmed by a discarded first import, so
neither pays for compiling and the source tree gets no ``__pycache__``. If the published
package cannot be installed (no network), the benchmark reports "skipped".

Run alone: ``.venv/bin/python benchmarks/bench_import.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import Report, Row, quantile

NAME = "import"
TARGET = 0.5  # ours / published
PUBLISHED_REQUIREMENT = "honeyhive>=1,<2"

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".venvs"
PUBLISHED = VENVS / "published"
PYCACHE = VENVS / "pycache"
BIN = "Scripts" if os.name == "nt" else "bin"
EXE = "python.exe" if os.name == "nt" else "python"

_PROBE = (
    "import sys, time\n"
    "before = len(sys.modules)\n"
    "t = time.perf_counter()\n"
    "import honeyhive\n"
    "elapsed = time.perf_counter() - t\n"
    "modules = len(sys.modules) - before\n"
    "import json\n"
    "from importlib import metadata\n"
    "dist = 'honeyhive-core' if 'site-packages' not in honeyhive.__file__ else 'honeyhive'\n"
    "print(json.dumps({'seconds': elapsed, 'modules': modules,\n"
    "    'file': honeyhive.__file__, 'version': metadata.version(dist)}))\n"
)


def _our_python() -> Path:
    candidate = ROOT / ".venv" / BIN / EXE
    return candidate if candidate.exists() else Path(sys.executable)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _probe(python: Path, cwd: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", _PROBE],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python}: import honeyhive failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ensure_published(log: Any = print) -> tuple[Path | None, str]:
    """The published venv's python (installing it the first time), or None and why not."""
    python = PUBLISHED / BIN / EXE
    check = [
        str(python),
        "-c",
        "from importlib import metadata; print(metadata.version('honeyhive'))",
    ]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode == 0:
            return python, done.stdout.strip()
    log(f"bench_import: installing {PUBLISHED_REQUIREMENT} into {PUBLISHED.relative_to(ROOT)}")
    try:
        subprocess.run(
            [str(_our_python()), "-m", "venv", "--clear", str(PUBLISHED)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                PUBLISHED_REQUIREMENT,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        done = subprocess.run(check, capture_output=True, text=True, check=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-1:] if isinstance(exc.stderr, str) else []
        return None, f"installing {PUBLISHED_REQUIREMENT} failed: {' '.join(detail) or exc}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"installing {PUBLISHED_REQUIREMENT} failed: {exc}"
    return python, done.stdout.strip()


def measure(rounds: int) -> Report:
    published, version = ensure_published()
    if published is None:
        row = Row(
            NAME, "import honeyhive", None, target=TARGET, status="skipped", note=version, unit="ms"
        )
        return Report(NAME, [row], [f"skipped: {version}"])
    ours = _our_python()
    pythons = {"ours": ours, "published": published}
    samples: dict[str, list[float]] = {"ours": [], "published": []}
    info: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as cwd:
        for name, python in pythons.items():  # warm the byte-code cache; discarded
            _probe(python, cwd)
            info[name] = _probe(python, cwd)
        for round_number in range(rounds):
            order = ["ours", "published"] if round_number % 2 == 0 else ["published", "ours"]
            for name in order:
                samples[name].append(_probe(pythons[name], cwd)["seconds"])
    ratios = [a / b for a, b in zip(samples["ours"], samples["published"])]
    published_ms = statistics.median(samples["published"]) * 1e3
    ours_ms = statistics.median(samples["ours"]) * 1e3
    ratio = statistics.median(ratios)
    baseline = Row(
        NAME,
        f"published honeyhive {version}",
        published_ms,
        status="baseline",
        note=f"{info['published']['modules']} modules imported",
        unit="ms",
    )
    row = Row(
        NAME,
        f"ours honeyhive-core {info['ours']['version']}",
        ours_ms,
        baseline="published",
        ratio=ratio,
        ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
        ratio_of_medians=ours_ms / published_ms,
        target=TARGET,
        status="PASS" if ratio <= TARGET else "MISS",
        note=f"{info['ours']['modules']} modules imported",
        unit="ms",
    )
    notes = [
        f"{rounds} alternating fresh interpreters per side; medians: ours {ours_ms:.1f} ms, "
        f"published {published_ms:.1f} ms",
        f"ours: {info['ours']['file']}",
        f"published: {info['published']['file']}",
    ]
    return Report(
        NAME,
        [baseline, row],
        notes,
        {"published_version": version, "ours": info["ours"], "published": info["published"]},
        {"rounds": rounds},
        samples={f"{name}_ms": [x * 1e3 for x in values] for name, values in samples.items()},
    )


def run(quick: bool = False) -> Report:
    return measure(rounds=5 if quick else 15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.quick)
    for row in report.rows:
        ratio = "" if row.ratio is None else f"  ratio {row.ratio:.3f}"
        median = "-" if row.median is None else f"{row.median:.1f} ms"
        print(f"{row.contender:40s} {median}{ratio} {row.status} {row.note}")
    for note in report.notes:
        print(" ", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
