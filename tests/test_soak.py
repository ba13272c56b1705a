"""Soak (marked slow; run with `python3 dev.py test -m slow`): a 30 s outage at 1,000 spans/s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.collector import Collector

ROOT = Path(__file__).parents[1]


class _Control(BaseHTTPRequestHandler):
    collector: Collector

    def do_GET(self) -> None:
        if self.path == "/down":
            self.collector.set_fault("down")
        else:
            self.collector.clear_fault()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_a_30_second_outage_at_1000_spans_per_second(collector: Collector) -> None:
    handler = type("Handler", (_Control,), {"collector": collector})
    control = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update({"HH_API_URL": collector.url, "PYTHONPATH": str(ROOT / "tests")})
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests" / "apps" / "soak.py"),
                f"http://127.0.0.1:{control.server_address[1]}",
                "30",
                "5",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        control.shutdown()
        control.server_close()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    collector.wait_for(
        lambda c: len(c.spans) >= report["produced"] - sum(report["dropped"].values()), timeout=30
    )
    delivered = len(collector.spans)
    dropped = sum(report["dropped"].values())
    print(report)
    assert report["errors"] == []  # 0 exceptions in the application
    assert collector.duplicates == 0
    assert delivered + dropped == report["produced"]  # exact: every span delivered or counted
    assert {k for k, v in report["dropped"].items() if v} <= {"queue_full", "network_error"}
    assert dropped > 0  # the 2 MiB byte bound was reached during the outage...
    assert (
        delivered > report["produced"] - report["produced_while_down"]
    )  # ...and what it kept arrived
    assert report["rss_growth_kib"] < 40 * 1024  # memory stays bounded by the byte-capped queue
