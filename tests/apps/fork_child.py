"""os.fork: the child's spans are delivered without user code; the parent's are not repeated."""

from __future__ import annotations

import os
import sys

from honeyhive import HoneyHiveTracer

tracer = HoneyHiveTracer(project="fork", schedule_delay=30)  # nothing leaves before the fork
with tracer.trace("parent-before-fork"):
    pass

pid = os.fork()
if pid == 0:
    for index in range(5):
        with tracer.trace(f"child-{index}") as span:
            span.set_attribute("pid", os.getpid())
    sys.exit(0)  # a normal exit: the SDK's exit hook delivers the child's spans

_, status = os.waitpid(pid, 0)
with tracer.trace("parent-after-fork"):
    pass
sys.exit(os.waitstatus_to_exitcode(status))
