"""honeyhive-django under real servers on loopback: gunicorn --preload (WSGI), uvicorn (ASGI).

Spans are checked at the real loopback collector. Each server runs in a subprocess with the
shared test project (apps/django_project), HONEYHIVE built from settings + HH_API_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.collector import Collector
from support.ports import free_port

TESTS = Path(__file__).parent
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _env(collector: Collector) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "HONEYHIVE_", "OTEL_"))}
    env.update(
        HH_API_URL=collector.url,
        DJANGO_HH_REAL_SERVER="1",
        DJANGO_SETTINGS_MODULE="apps.django_project.settings",
        PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
    )
    return env


COMMANDS = {
    "gunicorn": [
        "-m",
        "gunicorn",
        "--preload",
        "--workers",
        "2",
        "--threads",
        "2",
        "apps.django_project.wsgi:application",
        "--bind",
    ],
    "uvicorn": ["-m", "uvicorn", "apps.django_project.asgi:application", "--port"],
}


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_real_server_spans_reach_the_collector(collector: Collector, server: str) -> None:
    port = free_port()
    bind = f"127.0.0.1:{port}" if server == "gunicorn" else str(port)
    process = subprocess.Popen(
        [sys.executable, *COMMANDS[server], bind],
        env=_env(collector),
        cwd=str(TESTS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server exited"
                assert time.monotonic() < deadline, f"{server} did not start"
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=5) as client:
            for index in range(10):
                assert client.get(f"/items/{index}").status_code == 200
            traced = client.get("/items/99", headers={"traceparent": TRACEPARENT})
            assert traced.status_code == 200
            assert client.get("/stream").text == "0\n1\n2\n"
            assert client.get("/boom").status_code == 500
            assert client.get("/nope").status_code == 404
            assert client.get("/drf/things/5/").status_code == 200
            assert client.get("/articles/2024/?token=abc").status_code == 200
        collector.wait_for(lambda c: len(c.spans_named("GET /items/{item_id}")) == 11, timeout=10)
        # Session starts are delivered while the server runs (and what is still queued when
        # SIGTERM arrives, at exit: see test_shutdown.py).
        collector.wait_for(lambda c: len(c.sessions) >= 17, timeout=10)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        finally:
            assert process.stderr is not None
            errors = process.stderr.read().decode()
            process.stderr.close()
    collector.wait_for(lambda c: len(c.spans_named("GET /articles/{year}/")) == 1, timeout=10)
    assert "honeyhive internal error" not in errors
    servers = [s for s in collector.spans if s.kind == "SERVER"]
    names = sorted(s.name for s in servers if s.name != "GET /")
    assert names == sorted(
        ["GET /items/{item_id}"] * 11
        + ["GET /stream", "GET /boom", "GET", "GET /drf/things/{pk}/", "GET /articles/{year}/"]
    )
    assert collector.duplicates == 0
    traced_span = next(s for s in servers if s.attributes.get("url.path") == "/items/99")
    assert traced_span.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert traced_span.attributes["url.scheme"] == "http"
    assert traced_span.attributes["server.port"] == port
    assert traced_span.attributes["client.address"] == "127.0.0.1"
    assert traced_span.attributes["network.protocol.version"] == "1.1"
    loads = collector.spans_named("load-item")
    assert any(s.parent_span_id == traced_span.span_id for s in loads)
    stream = collector.spans_named("GET /stream")[0]
    chunks = [s for s in collector.spans if s.name.startswith("chunk-")]
    assert len(chunks) == 3
    assert all(c.parent_span_id == stream.span_id for c in chunks)
    assert stream.status_code == "UNSET"
    boom = collector.spans_named("GET /boom")[0]
    assert boom.status_code == "ERROR"
    assert len([e for e in boom.events if e.name == "exception"]) == 1
    article = collector.spans_named("GET /articles/{year}/")[0]
    assert article.attributes["url.query"] == "token=[REDACTED]"
    span_sessions = [s.attributes.get("honeyhive.session_id") for s in servers]
    started = {session["session_id"]: session for session in collector.sessions}
    assert len(set(span_sessions)) == len(servers)  # each request is its own session
    # ... and no other: the processes' own tracer sessions were never used, never started
    assert set(span_sessions) == set(started)
    for span in servers:  # named after the request
        assert started[span.attributes["honeyhive.session_id"]]["session_name"] == span.name
        assert span.resource["service.name"] == "apps"  # the project of apps.django_project...
