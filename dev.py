#!/usr/bin/env python3
"""Bootstrap and run the project's development tasks with nothing but python3.

    python3 dev.py demo      # three example services traced into a local collector, as trees
    python3 dev.py test      # lint, type-check and run the whole test suite
    python3 dev.py bench     # run the benchmarks (see benchmarks/README.md)

The first run creates ``.venv/`` and installs every package in editable mode with the
development tools; later runs reuse it unless a ``pyproject.toml`` changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _packages() -> list[Path]:
    return sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *(p / "pyproject.toml" for p in _packages())]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def bootstrap() -> None:
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("dev.py: installing packages and dev tools into .venv", flush=True)
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    editable: list[str | Path] = []
    for package in _packages():
        editable += ["-e", package]
    if _run(*pip, "-e", f"{ROOT}[dev]", *editable) != 0:
        sys.exit("dev.py: installing the development environment failed")
    STAMP.write_text(fingerprint)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


def _ensure_chromium() -> None:
    """The viewer's tests drive Debian's headless ``chromium``: install it if missing and we can.

    Only as root with apt-get (CI containers); quietly, and a failure is not fatal: the browser
    tests then skip and say why.
    """
    apt = shutil.which("apt-get")
    if shutil.which("chromium") or apt is None:
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    print("dev.py: installing chromium for the viewer's browser tests", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        if subprocess.call([apt, "update", "-qq"], env=env, **quiet) == 0:
            subprocess.call([apt, "install", "-y", "-qq", "chromium"], env=env, **quiet)
    except OSError:
        pass
    if not shutil.which("chromium"):
        print("dev.py: chromium could not be installed; the browser tests will skip", flush=True)


def cmd_test(args: list[str]) -> int:
    env = _env()
    _ensure_chromium()
    for check in (
        [PY, "-m", "ruff", "check", "."],
        [PY, "-m", "ruff", "format", "--check", "."],
        [PY, "-m", "mypy"],
    ):
        if _run(*check, env=env) != 0:
            return 1
    return _run(PY, "-m", "pytest", *args, env=env)


def cmd_demo(args: list[str]) -> int:
    return _run(PY, ROOT / "examples" / "demo.py", *args, env=_env())


def cmd_bench(args: list[str]) -> int:
    return _run(PY, ROOT / "benchmarks" / "run.py", *args, env=_env())


COMMANDS = {"test": cmd_test, "demo": cmd_demo, "bench": cmd_bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    bootstrap()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
