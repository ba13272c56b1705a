"""``python -m honeyhive``: the ``honeyhive`` command (serve, traces, doctor)."""

from __future__ import annotations

import sys

from honeyhive._cli import main

if __name__ == "__main__":
    sys.exit(main())
