"""Make spans and exit without flushing: the SDK's exit hook has the last word."""

from __future__ import annotations

import sys

from honeyhive import HoneyHiveTracer

tracer = HoneyHiveTracer(project="exit", schedule_delay=30)
for index in range(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
    with tracer.trace(f"op-{index}"):
        pass
tracer.create_event("bye")
