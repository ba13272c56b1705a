"""Spans, then SIGTERM, the way uvicorn ends (default disposition re-raised)."""

from __future__ import annotations

import os
import signal
import sys

if sys.argv[1:] == ["own-handler"]:
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(7))

from honeyhive import HoneyHiveTracer

tracer = HoneyHiveTracer(project="sigterm", schedule_delay=30)
for index in range(20):
    with tracer.trace(f"op-{index}"):
        pass
os.kill(os.getpid(), signal.SIGTERM)
