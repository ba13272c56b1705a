"""Soak: 1,000 spans/s while the backend is down for a while, then back. Prints a JSON report."""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
import urllib.request

from honeyhive import HoneyHiveTracer

control, down_seconds, after_seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
tracer = HoneyHiveTracer(project="soak", max_queue_bytes=2 * 1024 * 1024)
errors: list[str] = []
produced = 0


def _rss_kib() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() // 1024


def produce(seconds: float) -> None:
    global produced
    interval = 1 / 1000
    deadline = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        try:
            with tracer.trace("soak-span") as span:
                span.set_attributes({"index": produced, "payload": "p" * 200})
        except Exception as exc:  # counted: the assertion is that there are none
            errors.append(repr(exc))
        produced += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def control_backend(action: str) -> None:
    urllib.request.urlopen(f"{control}/{action}", timeout=5).read()


tracer.flush(5)
baseline = _rss_kib()
control_backend("down")
peak = baseline
sampler_stop = threading.Event()


def sample() -> None:
    global peak
    while not sampler_stop.wait(0.2):
        peak = max(peak, _rss_kib())


threading.Thread(target=sample, daemon=True).start()
produce(down_seconds)
produced_while_down = produced
control_backend("up")
produce(after_seconds)
flushed = tracer.flush(60)
sampler_stop.set()
print(
    json.dumps(
        {
            "produced": produced,
            "produced_while_down": produced_while_down,
            "dropped": dict(tracer.dropped),
            "flushed": flushed,
            "errors": errors,
            "rss_growth_kib": peak - baseline,
        }
    )
)
tracer.close()
