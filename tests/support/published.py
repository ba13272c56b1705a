"""The published ``honeyhive`` package (1.7.0) in a virtual environment of its own.

Made once, with the ordinary ``pip`` client, under ``.venvs/`` at the repository root
(git-ignored; CI creates it once and later runs reuse it), never inside the project's own
environment: the published package and ours are both imported as ``honeyhive``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest

__all__ = ["PUBLISHED_VERSION", "published_python", "published_python_or_skip"]

PUBLISHED_VERSION = "1.7.0"
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venvs" / f"published-{PUBLISHED_VERSION}"
_BIN = "Scripts" if os.name == "nt" else "bin"
_EXE = "python.exe" if os.name == "nt" else "python"


def _installed(python: Path) -> bool:
    check = "from importlib import metadata; print(metadata.version('honeyhive'))"
    try:
        done = subprocess.run(
            [str(python), "-c", check], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == PUBLISHED_VERSION


def published_python() -> tuple[Optional[Path], str]:
    """The environment's Python (installing ``honeyhive==1.7.0`` the first time), or None and
    why it could not be made (the package index cannot be reached, say)."""
    python = VENV / _BIN / _EXE
    if _installed(python):
        return python, ""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its final place and renamed into it: a run stopped halfway, or two runs at
    # once, never leave a half-installed environment where the next run looks.
    staging = Path(tempfile.mkdtemp(prefix=f".{VENV.name}-", dir=VENV.parent))
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(staging)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        done = subprocess.run(
            [
                str(staging / _BIN / _EXE),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--timeout",  # an unreachable index is a skip in a minute, not a long hang
                "15",
                "--retries",
                "1",
                f"honeyhive=={PUBLISHED_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"pip install honeyhive=={PUBLISHED_VERSION} failed: {' '.join(tail)}"
        if not VENV.exists():
            staging.rename(VENV)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not create the environment for honeyhive=={PUBLISHED_VERSION}: {exc}"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not _installed(python):
        return None, f"honeyhive=={PUBLISHED_VERSION} did not import in {VENV}"
    return python, ""


def published_python_or_skip() -> Path:
    """:func:`published_python`, or the calling test skipped with the reason it is missing."""
    found, why = published_python()
    if found is None:
        pytest.skip(f"honeyhive=={PUBLISHED_VERSION} could not be installed: {why}")
    return found
