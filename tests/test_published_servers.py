"""Per-request sessions written the published SDK's way, under real servers with several
workers and threads, many requests at once, stopped by SIGTERM: no session bleeds into another
request, every session starts before anything of it arrives, and each request's span and
enrichment land in its own session, exactly once.

The apps (``apps/published_sessions.py``) use no integration: ``create_session`` in Flask's
``before_request`` and ``acreate_session`` in a FastAPI ``@app.middleware("http")``, as the
published docstrings do. ``HH_SCHEDULE_DELAY=30`` keeps everything queued until the signal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.collector import Collector
from support.ports import start_server

TESTS = Path(__file__).resolve().parent
REQUESTS = 80  # half of them with a session of their own
SERVERS = {
    "flask-gunicorn-gthread": [
        sys.executable,
        "-m",
        "gunicorn",
        "--graceful-timeout",
        "10",
        "-w",
        "2",
        "--threads",
        "4",
        "-b",
        "127.0.0.1:{port}",
        "apps.published_sessions:flask_app",
    ],
    "fastapi-uvicorn-workers-2": [
        sys.executable,
        "-m",
        "uvicorn",
        "--log-level",
        "warning",
        "--workers",
        "2",
        "--port",
        "{port}",
        "apps.published_sessions:fastapi_app",
    ],
}


def _serve(command: list[str], collector: Collector) -> tuple[list[dict[str, Any]], str]:
    """Start the server, send the requests (8 at a time), SIGTERM it; the answers, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update(
        HH_API_URL=collector.url,
        HH_API_KEY="published-key",
        HH_SCHEDULE_DELAY="30",
        PYTHONPATH=str(TESTS),
    )
    process, base = start_server(command, env, TESTS)
    try:
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
        with httpx.Client(base_url=base, timeout=20, limits=limits) as client:

            def one(n: int) -> dict[str, Any]:
                response = client.get(f"/{'work' if n % 2 == 0 else 'plain'}/{n}")
                assert response.status_code == 200, response.text
                answer: dict[str, Any] = response.json()
                answer.setdefault("session_id", response.headers.get("x-session"))
                return answer

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(one, range(REQUESTS)))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        return answers, stderr
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def _arrival(collector: Collector) -> tuple[dict[str, int], dict[str, int]]:
    """For each session id: the index of the request that started it, and of the first
    request that carried a span or an update of it."""
    started: dict[str, int] = {}
    used: dict[str, int] = {}
    for index, request in enumerate(collector.requests):
        if request.path.endswith("/traces"):
            for span in collector.spans_of(request):
                used.setdefault(str(span.attributes.get("honeyhive.session_id")), index)
        elif request.path == "/events/batch":
            for event in json.loads(request.body).get("events", []):
                if event.get("event_type") == "session":
                    started.setdefault(event["session_id"], index)
        elif request.method == "PUT" and request.path == "/events":
            used.setdefault(json.loads(request.body)["event_id"], index)
    return started, used


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_per_request_sessions_under_a_real_server_never_bleed(
    collector: Collector, server: str
) -> None:
    answers, stderr = _serve(SERVERS[server], collector)
    assert "Traceback" not in stderr, stderr
    assert "not delivered" not in stderr, stderr
    work = range(0, REQUESTS, 2)
    collector.wait_for(lambda c: len(c.spans) >= REQUESTS, timeout=10)
    assert collector.duplicates == 0
    steps = {s.attributes["honeyhive_inputs.n"]: s for s in collector.spans}
    assert sorted(steps) == list(range(REQUESTS))  # one span per request, exactly once

    sessions = [s["session_id"] for s in collector.sessions]
    assert len(sessions) == len(set(sessions))  # each started once
    by_name = {s["session_name"]: s for s in collector.sessions}
    for n in work:
        sid = answers[n]["session_id"]
        assert by_name[f"req-{n}"]["session_id"] == sid
        assert by_name[f"req-{n}"]["inputs"] == {"n": n}
        assert steps[n].attributes["honeyhive.session_id"] == sid, n
        updates = [u for u in collector.event_updates if u["event_id"] == sid]
        assert [u["metadata"] for u in updates if "metadata" in u] == [{"n": n}]
    request_sessions = {answers[n]["session_id"] for n in work}
    assert len(request_sessions) == len(work)
    for n in range(1, REQUESTS, 2):  # no session of its own: the worker's, never a request's
        sid = steps[n].attributes["honeyhive.session_id"]
        assert sid == answers[n]["session_id"], n
        assert sid not in request_sessions, n
        assert sid in sessions  # the worker's own session was started too

    started, used = _arrival(collector)
    for sid, first_use in used.items():
        assert started[sid] < first_use, sid  # the start arrived (answered) before its data
