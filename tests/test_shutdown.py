"""Shutdown delivers: real servers on loopback, stopped by real signals, everything counted at
the loopback collector. Each request is its own session with a span, a child span and an event;
``HH_SCHEDULE_DELAY=30`` keeps all of it queued until the signal arrives.

Healthy backend (answering 50 ms late, as across a network): every request span, session start
and event arrives exactly once, and the server stops well within the exit budget. Unhealthy
backend: the process stops within the budget plus 1 s and says, in one WARNING per process,
exactly what it lost and why.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.collector import Collector
from support.ports import start_server

TESTS = Path(__file__).resolve().parent
REQUESTS = 60
LATENCY = 0.05  # seconds the backend takes to answer, from the signal on
GUNICORN = [sys.executable, "-m", "gunicorn", "--graceful-timeout", "10", "-b"]
UVICORN = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--port"]
RUNSERVER = [sys.executable, "-m", "django", "runserver"]


@dataclass
class Stopped:
    returncode: int
    seconds: float  # from the signal to the process's end
    stderr: str


def _env(collector: Collector, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update(
        HH_API_URL=collector.url,
        HH_SCHEDULE_DELAY="30",  # nothing leaves before the signal
        HH_EXCLUDED_URLS="/healthz",  # the readiness probe: no span, no session
        PYTHONPATH=str(TESTS),
        DJANGO_SETTINGS_MODULE="apps.django_project.settings",
        DJANGO_HH_REAL_SERVER="1",
        **extra,
    )
    return env


def _serve_then_stop(
    command: list[str],
    env: dict[str, str],
    sig: int = signal.SIGTERM,
    group: bool = False,
    collector: Collector | None = None,
    requests: int = REQUESTS,
) -> Stopped:
    """Start the server, send REQUESTS requests, then the signal (to its process group if
    ``group``, as a terminal's Ctrl-C does); wait for the process to end. With ``collector``,
    the backend answers 50 ms late from the signal on, as one across a network would."""
    process, base = start_server(command, env, TESTS)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for index in range(requests):
                assert client.get(f"/work/{index}").status_code == 200
        if collector is not None:
            collector.set_fault("slow", seconds=LATENCY)
        started = time.monotonic()
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
        return Stopped(process.returncode, time.monotonic() - started, stderr)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def _assert_all_delivered(collector: Collector, stopped: Stopped, requests: int = REQUESTS) -> None:
    assert "Traceback" not in stopped.stderr, stopped.stderr
    assert "not delivered" not in stopped.stderr, stopped.stderr
    collector.wait_for(lambda c: len(c.events) >= requests, timeout=5)
    servers = [s for s in collector.spans if s.kind == "SERVER"]
    assert len(servers) == requests, collector.describe()
    assert len([s for s in collector.spans if s.name == "step"]) == requests
    assert collector.duplicates == 0
    sessions = [s["session_id"] for s in collector.sessions]
    assert len(sessions) == len(set(sessions)) == requests  # each once; no empty ones
    assert {s.attributes["honeyhive.session_id"] for s in servers} == set(sessions)
    assert {s["session_name"] for s in collector.sessions} == {"GET /work/{n}"}
    events = [e["event_id"] for e in collector.events]
    assert len(events) == len(set(events)) == requests
    # Far less than the default exit budget (5 s): the old code waited all of it.
    assert stopped.seconds < 3.0, stopped


SERVERS = {
    "gunicorn-sync": [*GUNICORN, "127.0.0.1:{port}", "apps.shutdown_flask:app"],
    "gunicorn-gthread": [
        *GUNICORN,
        "127.0.0.1:{port}",
        "--threads",
        "4",
        "apps.shutdown_flask:app",
    ],
    "gunicorn-preload-2": [
        *GUNICORN,
        "127.0.0.1:{port}",
        "--preload",
        "-w",
        "2",
        "apps.shutdown_flask:app",
    ],
    "uvicorn": [*UVICORN, "{port}", "apps.shutdown_fastapi:app"],
    "uvicorn-workers-2": [*UVICORN, "{port}", "--workers", "2", "apps.shutdown_fastapi:app"],
    # Django under uvicorn has no lifespan: only the exit flush can deliver.
    "uvicorn-django": [*UVICORN, "{port}", "apps.django_project.asgi:application"],
    "runserver": [*RUNSERVER, "--noreload", "127.0.0.1:{port}"],
}


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


@pytest.mark.parametrize("server", list(SERVERS))
def test_sigterm_delivers_everything_queued(collector: Collector, server: str) -> None:
    stopped = _serve_then_stop(SERVERS[server], _env(collector), collector=collector)
    _assert_all_delivered(collector, stopped)


def test_ctrl_c_on_runserver_with_its_reloader_delivers_everything(collector: Collector) -> None:
    """Ctrl-C in a terminal: SIGINT to the reloader and to the server process it runs."""
    command = [*RUNSERVER, "127.0.0.1:{port}"]
    stopped = _serve_then_stop(
        command, _env(collector), signal.SIGINT, group=True, collector=collector
    )
    _assert_all_delivered(collector, stopped)


def _lost(stderr: str) -> tuple[int, int]:
    """Spans and API calls the final WARNINGs (one per process) say were lost."""
    spans = calls = 0
    for line in stderr.splitlines():
        if "not delivered by this tracer" in line:
            spans += sum(int(n) for n in re.findall(r"exporter: (\d+) spans?", line))
            calls += sum(int(n) for n in re.findall(r"API: (\d+) API calls?", line))
    return spans, calls


@pytest.mark.parametrize("server", ["gunicorn-preload-2", "uvicorn-workers-2"])
def test_with_a_hung_backend_the_server_stops_within_the_budget_and_says_what_it_lost(
    collector: Collector, server: str
) -> None:
    collector.set_fault("hang")
    stopped = _serve_then_stop(SERVERS[server], _env(collector, HH_EXIT_TIMEOUT="2"))
    collector.clear_fault()
    assert stopped.seconds < 2 + 1 + 0.5, stopped  # the budget, plus 1 s, plus the server's own
    assert "Traceback" not in stopped.stderr
    # Exactly what was made: two spans, a session start and an event per request.
    assert _lost(stopped.stderr) == (2 * REQUESTS, 2 * REQUESTS), stopped.stderr
    assert "HH_EXIT_TIMEOUT" in stopped.stderr


def test_the_installed_uvicorn_keeps_the_signals_it_caught_where_the_sdk_looks() -> None:
    """The SDK holds uvicorn's re-raised SIGTERM back through a private list; if an upgrade
    moves it, the fallback below takes over, and this says so."""
    import uvicorn

    from honeyhive._signals import _uvicorn_server

    server = uvicorn.Server(uvicorn.Config("apps.shutdown_fastapi:app"))
    assert _uvicorn_server(server.handle_exit) is server
    assert isinstance(getattr(server, "_captured_signals", None), list), uvicorn.__version__


WITHOUT_CAPTURED_SIGNALS = [
    sys.executable,
    str(TESTS / "apps" / "uvicorn_without_captured_signals.py"),
    *UVICORN[3:],
    "{port}",
    "--workers",
    "2",
]


def test_a_uvicorn_without_its_private_signal_list_still_delivers_at_sigterm(
    collector: Collector,
) -> None:
    """Django under uvicorn has no lifespan flush: only the SDK's SIGTERM handling delivers."""
    command = [*WITHOUT_CAPTURED_SIGNALS, "apps.django_project.asgi:application"]
    stopped = _serve_then_stop(command, _env(collector), collector=collector)
    _assert_all_delivered(collector, stopped)


def test_a_uvicorn_without_its_private_signal_list_still_says_what_it_lost(
    collector: Collector,
) -> None:
    collector.set_fault("hang")
    command = [*WITHOUT_CAPTURED_SIGNALS, "apps.shutdown_fastapi:app"]
    stopped = _serve_then_stop(command, _env(collector, HH_EXIT_TIMEOUT="2"))
    collector.clear_fault()
    assert stopped.seconds < 2 + 1 + 0.5, stopped
    assert _lost(stopped.stderr) == (2 * REQUESTS, 2 * REQUESTS), stopped.stderr


def test_a_script_stopped_by_sigterm_gets_its_whole_exit_budget(collector: Collector) -> None:
    """The handler used to work its budget out after closing had begun: always 1 s."""
    collector.set_fault("slow", seconds=1.5)  # the session start, then the spans: about 3 s
    env = _env(collector, HH_EXIT_TIMEOUT="5")
    done = subprocess.run(
        [sys.executable, str(TESTS / "apps" / "sigterm.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    collector.clear_fault()
    assert done.returncode == -signal.SIGTERM  # still ended by the signal
    assert "not delivered" not in done.stderr, done.stderr
    assert len(collector.spans) == 20
    assert len(collector.sessions) == 1


@pytest.mark.slow
@pytest.mark.parametrize("server", ["gunicorn-preload-2", "uvicorn-workers-2", "uvicorn-django"])
def test_a_thousand_requests_queued_at_sigterm_all_arrive(
    collector: Collector, server: str
) -> None:
    """The soak-sized variant: 1,000 sessions, 2,000 spans and 1,000 events still queued."""
    stopped = _serve_then_stop(SERVERS[server], _env(collector), collector=collector, requests=1000)
    _assert_all_delivered(collector, stopped, requests=1000)
