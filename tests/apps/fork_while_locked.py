"""Fork while another thread holds the SDK's locks: the child must not deadlock."""

from __future__ import annotations

import os
import sys
import threading
import time

from honeyhive import HoneyHiveTracer, _context, _diagnostics

tracer = HoneyHiveTracer(
    project="locks", schedule_delay=0.05, max_queue_size=1, max_export_batch_size=1
)
held = threading.Event()
release = threading.Event()


def hold_locks() -> None:
    counter = tracer._delivery.span_drops
    with counter._lock, _context._lock, _diagnostics._lock:
        held.set()
        release.wait(10)


threading.Thread(target=hold_locks, daemon=True).start()
held.wait(5)
pid = os.fork()
if pid == 0:
    # Everything below takes the locks the parent's thread held at the fork.
    for index in range(5):  # max_queue_size=1: drops are counted under the drop lock
        with tracer.trace(f"child-{index}"):
            pass
    second = HoneyHiveTracer(project="locks-child")  # registers under the context lock
    _diagnostics.internal_error("probe from the child")  # takes the diagnostics lock
    second.close()
    tracer.close()
    os._exit(0)
release.set()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.waitstatus_to_exitcode(status))
    time.sleep(0.05)
os.kill(pid, 9)
print("child deadlocked", file=sys.stderr)
sys.exit(3)
