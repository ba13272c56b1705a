"""The ``honeyhive`` command.

* ``honeyhive serve``: the local collector and its viewer (needs the ``collector`` extra);
* ``honeyhive traces``: the latest sessions as trees, from a running collector or its database;
* ``honeyhive runs``: experiment runs: the latest, one in detail, or two compared;
* ``honeyhive doctor``: the resolved configuration, the installed plug-ins, and whether the
  configured backend answers with the configured key.

``traces``, ``runs`` and ``doctor`` need nothing beyond the core's own dependencies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Optional

from honeyhive._cli.doctor import register as register_doctor
from honeyhive._cli.runs import register as register_runs
from honeyhive._cli.serve import register as register_serve
from honeyhive._cli.traces import register as register_traces
from honeyhive._version import __version__

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honeyhive",
        description=(
            "HoneyHive tracing tools: a local collector, its traces and experiment runs, a "
            "health check."
        ),
    )
    parser.add_argument("--version", action="version", version=f"honeyhive-core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in (register_serve, register_traces, register_runs, register_doctor):
        register(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `honeyhive traces | head`
        sys.stderr.close()
        return 0
    return status
