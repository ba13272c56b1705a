"""The README's main command (``python3 dev.py demo``): three services traced into a local
collector, and the trace trees that arrived.

1. Starts ``honeyhive serve`` (the collector and its viewer; traces kept in
   ``.honeyhive/traces.db``).
2. Starts the example apps under real servers, each with its own tracer pointed at the collector
   by one setting, ``HH_API_URL``:

   * ``web``: Flask under gunicorn (``flask_app.py``),
   * ``agent``: FastAPI under uvicorn (``fastapi_app.py``),
   * ``docs``: Django under gunicorn (``django_app/``).

3. Drives traffic as a client with its own tracer and session: a question that goes
   web -> agent -> docs (one trace and one session across three services: ``tracer.inject`` on
   each caller, ``tracer.link`` on each callee), a streamed answer, and a checkout that fails.
4. Stops the services (they flush their spans on the way out), prints the session's trace trees
   and the viewer's address, and keeps the collector up until Enter or Ctrl-C when run in a
   terminal (``--no-wait``: stop at once).

Every process it starts is stopped on the way out, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import httpx

from honeyhive import HoneyHiveTracer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_PORT = 8318


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Processes:
    """The processes the demo started; all of them are stopped on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only: it stops them in order
        )
        log.close()
        self._started.append((name, process))
        return process

    def stop(self, name: str, timeout: float = 15.0) -> None:
        for started, process in self._started:
            if started == name:
                _stop(process, timeout)

    def stop_all(self) -> None:
        for _, process in reversed(self._started):
            _stop(process, 10.0)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process's group (gunicorn's workers too), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _start_collector(processes: Processes, db: str, env: dict[str, str]) -> str:
    port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else 0
    args = [sys.executable, "-m", "honeyhive", "serve", "--port", str(port), "--db", db]
    process = processes.start("collector", args, env)
    log = processes.logs / "collector.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        first = log.read_text(errors="replace").splitlines()[:1]
        if first and "listening on " in first[0]:
            url = first[0].split("listening on ", 1)[1].strip()
            _wait_ready(url + "/api/health", process)
            return url
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"the collector did not start:\n{processes.log_tail('collector')}")


def _services(collector: str) -> dict[str, dict[str, Any]]:
    ports = {name: _free_port() for name in ("web", "agent", "docs")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gunicorn = [sys.executable, "-m", "gunicorn", "--chdir", str(HERE), "--workers", "1"]
    gunicorn += ["--graceful-timeout", "10", "--log-level", "warning"]
    return {
        "web": {
            "label": "Flask under gunicorn",
            "args": [*gunicorn, "--bind", f"127.0.0.1:{ports['web']}", "flask_app:app"],
            "url": urls["web"],
        },
        "agent": {
            "label": "FastAPI under uvicorn",
            "args": [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(HERE),
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["agent"]),
                "--log-level",
                "warning",
                "fastapi_app:app",
            ],
            "url": urls["agent"],
        },
        "docs": {
            "label": "Django under gunicorn",
            "args": [
                *gunicorn,
                "--bind",
                f"127.0.0.1:{ports['docs']}",
                "django_app.wsgi:application",
            ],
            "url": urls["docs"],
        },
    }


def _service_env(collector: str, urls: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update(
        {
            "HH_API_URL": collector,  # the one setting: a loopback collector needs no API key
            "HH_EXCLUDED_URLS": "/healthz",  # readiness probes: no spans, no sessions
            "HH_SCHEDULE_DELAY": "0.2",
            "AGENT_URL": urls["agent"],
            "DOCS_URL": urls["docs"],
            "DJANGO_SETTINGS_MODULE": "django_app.settings",  # whatever the shell exports
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def _traffic(tracer: HoneyHiveTracer, urls: dict[str, str]) -> None:
    with httpx.Client(timeout=20) as client:
        question = "how do I get a refund?"
        with tracer.trace("customer asks a question", event_type="chain", question=question):
            response = client.get(
                f"{urls['web']}/ask", params={"q": question}, headers=tracer.inject({})
            )
        print(f"  1. GET web /ask              -> {response.status_code}  web -> agent -> docs")
        print(f"     {response.json().get('answer', response.text)[:90]}")

        with tracer.trace("customer streams an answer", event_type="chain"):
            chunks = []
            with client.stream(
                "GET", f"{urls['agent']}/stream", params={"q": "refunds"}, headers=tracer.inject({})
            ) as streamed:
                for chunk in streamed.iter_text():
                    chunks.append(chunk)
        status = streamed.status_code
        print(f"  2. GET agent /stream         -> {status}  {len(chunks)} chunks, streamed")

        with tracer.trace("customer checks out", event_type="chain"):
            response = client.get(f"{urls['web']}/checkout", headers=tracer.inject({}))
        print(f"  3. GET web /checkout         -> {response.status_code}  the payment tool fails")


def _wait_for_spans(collector: str, session_id: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{collector}/api/sessions/{session_id}", timeout=10)
        if answer.status_code == 200 and answer.json()["session"]["span_count"] >= expected:
            return
        time.sleep(0.2)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Trace three example services into a local collector."
    )
    parser.add_argument(
        "--db", default=str(ROOT / ".honeyhive" / "traces.db"), help="collector database"
    )
    parser.add_argument("--no-wait", action="store_true", help="stop the collector at the end")
    args = parser.parse_args(argv)
    wait = not args.no_wait and sys.stdin.isatty()

    with tempfile.TemporaryDirectory(prefix="honeyhive-demo-") as logs, _sigterm_as_exit():
        processes = Processes(Path(logs))
        try:
            return _run(processes, args.db, wait)
        except RuntimeError as exc:
            print(f"\ndemo failed: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()


def _start_services(processes: Processes, collector: str) -> dict[str, dict[str, Any]]:
    """Start the three services and wait until each answers. A free port can be taken by
    another process between the moment it is picked and the bind: then all three start again
    on new ports (they know each other's URLs)."""
    for attempt in range(3):
        services = _services(collector)
        urls = {name: service["url"] for name, service in services.items()}
        env = _service_env(collector, urls)
        started = {
            # Each process names its service the OpenTelemetry way: the trees below show them.
            name: processes.start(name, service["args"], {**env, "OTEL_SERVICE_NAME": name})
            for name, service in services.items()
        }
        for name, service in services.items():
            try:
                _wait_ready(service["url"] + "/healthz", started[name])
            except RuntimeError as exc:
                log = processes.log_tail(name)
                if "in use" in log.lower() and attempt < 2:
                    for other in services:
                        processes.stop(other)
                    break
                raise RuntimeError(f"{name} did not start ({exc}):\n{log}") from None
        else:
            return services
    raise AssertionError("unreachable")


def _run(processes: Processes, db: str, wait: bool) -> int:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    collector = _start_collector(processes, db, base_env)
    print("HoneyHive demo: three services traced into a local collector\n")
    print(f"  collector  honeyhive serve          {collector}   (database {os.path.relpath(db)})")
    services = _start_services(processes, collector)
    urls = {name: service["url"] for name, service in services.items()}
    for name, service in services.items():
        print(f"  {name:<9}  {service['label']:<24} {service['url']}")
    print("\nTraffic, as one client session (the trace and the session travel in the headers):")

    tracer = HoneyHiveTracer.init(
        project="demo-shop", session_name="customer journey", source="demo", server_url=collector
    )
    try:
        _traffic(tracer, urls)
        delivered = tracer.flush(timeout=10)
    finally:
        tracer.close()
    print("\nStopping the services (each flushes its spans on the way out)...")
    for name in services:
        processes.stop(name)

    # client: 3 spans; web: 2 requests, ask, charge_card; agent: 2 requests, answer, search, model,
    # stream; docs: 1 request, rank
    _wait_for_spans(collector, tracer.session_id, expected=15, timeout=10)
    print(flush=True)
    # What arrived, printed by `honeyhive traces` (the same trees, any time later).
    command = [sys.executable, "-m", "honeyhive", "traces", "--url", collector]
    subprocess.run([*command, "--session", tracer.session_id], cwd=ROOT, check=False)
    viewer = f"{collector}/?session={tracer.session_id}"
    print(f"\nView it: {viewer}")
    default = os.path.abspath(db) == str(ROOT / ".honeyhive" / "traces.db")
    where = "" if default else f" --db {os.path.relpath(db)}"
    print(f"The traces stay in {os.path.relpath(db)}: `.venv/bin/honeyhive traces{where}` prints")
    print(f"them again, `.venv/bin/honeyhive serve{where}` reopens the viewer.")
    if not delivered:
        print("warning: the client's flush did not acknowledge everything", file=sys.stderr)
    if wait:
        print("\nThe collector is still running. Press Enter (or Ctrl-C) to stop it.")
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input()
    return 0 if delivered else 1


if __name__ == "__main__":
    sys.exit(main())
