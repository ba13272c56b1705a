"""Failures are visible by default: a misconfigured backend says so on stderr without any debug
flag (the URL, the reason, what it likely means, what was dropped), refusals are counted apart
from network errors and per exporter, a typo in an ``HH_*`` variable is named, and no secret
ever shows. Each process here runs as a user's would: a plain script, no logging configured."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

from honeyhive import HoneyHiveTracer
from honeyhive._export import _failures

from support.collector import Collector
from support.ports import free_port

MakeTracer = Callable[..., HoneyHiveTracer]
API_KEY = "hh_visible_secret_0123456789"
SCRIPT = (
    "import json\n"
    "from honeyhive import HoneyHiveTracer\n"
    "tracer = HoneyHiveTracer(project='visible', export_timeout=1, exit_timeout=2)\n"
    "for i in range(3):\n"
    "    with tracer.trace(f'op-{i}'):\n"
    "        pass\n"
    "tracer.flush(3)\n"
    "print(json.dumps({k: dict(v) for k, v in tracer.dropped_by_exporter.items()}))\n"
)


def _run(env: dict[str, str], script: str = SCRIPT) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    clean.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " WARNING " in line]


def test_nothing_listening_at_hh_api_url_is_said_on_stderr() -> None:
    port = free_port()
    done = _run({"HH_API_URL": f"http://user:url-secret@127.0.0.1:{port}", "HH_API_KEY": API_KEY})
    assert done.returncode == 0, done.stderr
    warnings = _warnings(done.stderr)
    first = warnings[0]
    assert "cannot deliver to http://" in first
    assert f"127.0.0.1:{port}: connection refused" in first
    assert "connection refused" in first
    assert "is the backend running, and is HH_API_URL right?" in first
    assert "dropped" in first
    final = warnings[-1]
    assert "not delivered by this tracer (project visible)" in final
    assert "honeyhive exporter: 3 spans (network_error 3)" in final
    assert "API: 1 API call (network_error 1)" in final
    assert len(warnings) <= 3  # the first failure (per path at most) and the final count
    for secret in (API_KEY, "url-secret"):
        assert secret not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_path_that_answers_404_is_a_refusal_with_a_hint(collector: Collector) -> None:
    done = _run({"HH_API_URL": collector.url + "/v2", "HH_API_KEY": API_KEY})
    first = _warnings(done.stderr)[0]
    assert f"cannot deliver to {collector.url}/v2: HTTP 404: no such endpoint" in first
    assert "404: is HH_API_URL the API's base URL" in first
    counts = json.loads(done.stdout)
    assert counts["honeyhive"]["refused"] == 3
    assert counts["honeyhive"]["network_error"] == 0
    assert counts["api"]["refused"] == 1
    assert API_KEY not in done.stderr


class _EchoKey(BaseHTTPRequestHandler):
    """A backend that answers 401 and echoes the Authorization header it got (some do)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f"invalid credentials: {self.headers.get('Authorization')}\n".encode()
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_key() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKey)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_backend_that_echoes_the_key_does_not_get_it_logged(echo_key: str) -> None:
    done = _run({"HH_API_URL": echo_key, "HH_API_KEY": API_KEY})
    first = _warnings(done.stderr)[0]
    assert "HTTP 401: invalid credentials: [REDACTED]" in first
    assert "is HH_API_KEY right for it?" in first
    assert API_KEY not in done.stderr + done.stdout


def test_an_unknown_hh_variable_names_the_closest_known_one() -> None:
    script = (
        "from honeyhive import HoneyHiveTracer\n"
        "for _ in range(2):\n"
        "    HoneyHiveTracer(test_mode=True).close()\n"
    )
    done = _run({"HH_PROJCT": "shop", "HH_EXIT_TIMOUT": "3", "HH_TEST_MODE": "true"}, script)
    warnings = _warnings(done.stderr)
    assert len(warnings) == 2  # once each, although two tracers were made
    assert "HH_EXIT_TIMOUT is not a HoneyHive setting" in warnings[0]
    assert "did you mean HH_EXIT_TIMEOUT?" in warnings[0]
    assert "HH_PROJCT is not a HoneyHive setting" in warnings[1]
    assert "did you mean HH_PROJECT?" in warnings[1]


def test_every_hh_variable_the_code_reads_is_known() -> None:
    """A new HH_* variable must be registered, or users setting it would be told it is unknown."""
    import re
    from pathlib import Path

    from honeyhive._compat import PUBLISHED_ENV_VARS
    from honeyhive._settings import ENV_VARS, OTHER_ENV_VARS

    # PUBLISHED_ENV_VARS: the published SDK's, each said once to have no effect here.
    known = {var for names in ENV_VARS.values() for var in names} | OTHER_ENV_VARS
    known |= PUBLISHED_ENV_VARS
    source = Path(__file__).parents[1] / "packages"
    used = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r"\bHH_[A-Z][A-Z0-9_]*\b", path.read_text())
    }
    assert used - known == set()


def test_while_failures_persist_at_most_one_summary_a_minute(
    make_tracer: MakeTracer,
    collector: Collector,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_failures, "_SUMMARY_INTERVAL", 0.4)  # a minute, shrunk
    tracer = make_tracer(export_timeout=0.3, schedule_delay=0.02)
    with tracer.trace("warm-up"):
        pass
    assert tracer.flush(5)
    collector.set_fault("status", status=400)  # every request refused, at once
    caplog.set_level(logging.WARNING, logger="honeyhive")
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        with tracer.trace("refused"):
            pass
        tracer.flush(1)
    told = [r.getMessage() for r in caplog.records if collector.url in r.getMessage()]
    assert 2 <= len(told) <= 4  # the first failure, then a summary per (shrunk) minute
    assert "cannot deliver to" in told[0]
    assert all("still failing (HTTP 400: injected fault)" in m for m in told[1:])
    assert tracer.dropped_by_exporter["honeyhive"]["refused"] >= 10
    collector.clear_fault()


def test_losses_are_counted_per_exporter(
    make_tracer: MakeTracer, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    tracer = make_tracer(exporters=["honeyhive", "otlp"], export_timeout=0.5)
    with tracer.trace("op"):
        pass
    tracer.flush(2)
    tracer.close()
    lost = tracer.dropped_by_exporter
    assert sum(lost["honeyhive"].values()) == 0  # delivered to the collector
    assert lost["otlp"]["network_error"] == 1  # nothing listens at the OTLP endpoint
    assert sum(lost["api"].values()) == 0
    assert len(collector.spans) == 1
