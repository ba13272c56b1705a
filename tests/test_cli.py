"""The ``honeyhive`` command: ``traces`` and ``doctor`` (``serve`` is in test_collector_product).

Commands run as subprocesses (``python -m honeyhive ...``), as a user would run them, against
collectors and databases on 127.0.0.1 and in temporary directories.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import httpx
import pytest

from honeyhive import HoneyHiveTracer
from honeyhive.collector import RunningCollector, start

from support.local_collector import clean_env, otlp_json, otlp_span

SENTINEL = "sk-sentinel-" + uuid.uuid4().hex  # an API key that must never be printed


def honeyhive(
    *args: str, cwd: Optional[Path] = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "honeyhive", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        # No collector that happens to run on this machine's default port is read by accident.
        env=clean_env(
            **{"PYTHONIOENCODING": "utf-8", "HH_COLLECTOR_PORT": str(_closed_port()), **env}
        ),
    )


def _session(url: str, name: str, *, api_key: Optional[str] = None, fail: bool = True) -> str:
    tracer = HoneyHiveTracer(
        server_url=url, project="cli-tests", session_name=name, api_key=api_key, schedule_delay=0.05
    )
    try:
        with tracer.trace("handle request", event_type="chain"):
            with tracer.trace("call model", event_type="model"):
                pass
            if fail:
                with contextlib.suppress(TimeoutError), tracer.trace("tool", event_type="tool"):
                    raise TimeoutError("the tool timed out")
        assert tracer.flush(timeout=10)
        return tracer.session_id
    finally:
        tracer.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project directory whose default database (.honeyhive/traces.db) has two sessions."""
    with start(port=0, db_path=tmp_path / ".honeyhive" / "traces.db") as running:
        _session(running.url, "older", fail=False)
        _session(running.url, "newer")
    return tmp_path


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    with start(port=0, db_path=tmp_path / "served.db") as collector:
        yield collector


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- honeyhive traces -----------------------------------------------------------------------------


def test_traces_from_the_collector_hh_api_url_names(running: RunningCollector) -> None:
    session_id = _session(running.url, "served")
    done = honeyhive("traces", HH_API_URL=running.url)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"session served [{session_id}]" in out
    assert "project cli-tests" in out
    assert "3 spans" in out
    assert "1 ERROR" in out
    assert "└─ handle request [chain]" in out
    assert "├─ call model [model]" in out
    assert "└─ tool [tool]" in out
    assert "ERROR: TimeoutError: the tool timed out" in out
    assert " ms" in out  # durations


def test_traces_from_the_default_database(workdir: Path) -> None:
    done = honeyhive("traces", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("session newer") < done.stdout.index("session older")  # newest first
    only = honeyhive("traces", "--limit", "1", cwd=workdir)
    assert "session newer" in only.stdout
    assert "session older" not in only.stdout
    ascii_tree = honeyhive("traces", "--limit", "1", cwd=workdir, PYTHONIOENCODING="ascii")
    assert "`- handle request [chain]" in ascii_tree.stdout


def test_traces_falls_back_to_the_database_when_hh_api_url_does_not_answer(workdir: Path) -> None:
    done = honeyhive("traces", cwd=workdir, HH_API_URL=f"http://127.0.0.1:{_closed_port()}")
    assert done.returncode == 0, done.stderr
    assert "note: HH_API_URL:" in done.stderr
    assert "did not answer" in done.stderr
    assert "session newer" in done.stdout


def test_traces_explains_a_url_that_is_not_a_collector(running: RunningCollector) -> None:
    done = honeyhive("traces", "--url", running.url + "/static")  # answers, but 404 on /api
    assert done.returncode == 1
    assert "is not a local honeyhive collector" in done.stderr


def test_traces_one_session_and_json(workdir: Path) -> None:
    listed = json.loads(honeyhive("traces", "--json", cwd=workdir).stdout)
    assert [d["session"]["name"] for d in listed] == ["newer", "older"]
    older = listed[1]["session"]["session_id"]
    done = honeyhive("traces", "--session", older, cwd=workdir)
    assert done.returncode == 0
    assert "session older" in done.stdout
    assert "newer" not in done.stdout
    missing = honeyhive("traces", "--session", "no-such-session", cwd=workdir)
    assert missing.returncode == 1
    assert "no session 'no-such-session'" in missing.stderr


def test_traces_prints_captured_values_as_text_not_terminal_controls(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    span = otlp_span(
        uuid.uuid4().hex,
        uuid.uuid4().hex[:16],
        "evil\x1b[2J\x1b]0;retitled\x07\nsecond line\u202e",
        session_id="s-1",
        error="boom\x1b[31m",
        attributes={"honeyhive.session_name": "red\x1b[31m", "llm.model_name": "m\x9b5m"},
    )
    with start(port=0, db_path=db) as collector:
        answer = httpx.post(
            collector.url + "/v1/traces",
            content=otlp_json(span),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 200
    done = honeyhive("traces", "--db", str(db))
    assert done.returncode == 0, done.stderr
    shown = done.stdout
    for control in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert control not in shown
    lines = shown.splitlines()
    assert lines[0].startswith("session red\\x1b[31m [s-1]")
    (span_line,) = [line for line in lines if "evil" in line]
    assert "evil\\x1b[2J\\x1b]0;retitled\\x07\\nsecond line\\u202e" in span_line
    assert "m\\x9b5m" in span_line
    assert "ERROR: boom\\x1b[31m" in span_line


def test_traces_says_where_to_start_when_there_is_nothing(tmp_path: Path) -> None:
    done = honeyhive("traces", cwd=tmp_path)
    assert done.returncode == 1
    assert "no collector database at .honeyhive/traces.db" in done.stderr
    assert "honeyhive serve" in done.stderr
    assert "Traceback" not in done.stderr


def test_traces_with_a_keyed_collector(tmp_path: Path) -> None:
    with start(port=0, db_path=tmp_path / "k.db", api_key=SENTINEL) as keyed:
        _session(keyed.url, "keyed", api_key=SENTINEL)
        refused = honeyhive("traces", "--url", keyed.url)
        assert refused.returncode == 1
        assert "wants an API key" in refused.stderr
        done = honeyhive("traces", "--url", keyed.url, HH_COLLECTOR_API_KEY=SENTINEL)
        assert done.returncode == 0
        assert "session keyed" in done.stdout
    assert SENTINEL not in refused.stdout + refused.stderr + done.stdout + done.stderr


# -- without the collector extra ------------------------------------------------------------------

_WITHOUT_EXTRA = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoExtra(importlib.abc.MetaPathFinder):
        blocked = ("starlette", "uvicorn", "opentelemetry.proto", "google.protobuf")

        def find_spec(self, name, path=None, target=None):
            if name.startswith(self.blocked):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoExtra())
    from honeyhive._cli import main
    status = main(sys.argv[1:])
    leaked = [m for m in sys.modules if m.startswith(NoExtra.blocked)]
    assert not leaked, leaked
    sys.exit(status)
    """
)


def _without_extra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRA, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=clean_env(PYTHONIOENCODING="utf-8"),
    )


def test_traces_doctor_and_serve_without_the_collector_extra(workdir: Path) -> None:
    traces = _without_extra("traces", cwd=workdir)
    assert traces.returncode == 0, traces.stderr
    assert "session newer" in traces.stdout

    doctor = _without_extra("doctor", "--offline", cwd=workdir)
    assert "not installed (missing starlette, uvicorn, opentelemetry-proto)" in doctor.stdout
    assert "pip install 'honeyhive-core[collector]'" in doctor.stdout
    assert "Traceback" not in doctor.stderr

    serve = _without_extra("serve", "--port", "0", cwd=workdir)
    assert serve.returncode == 1
    assert "needs the 'collector' extra" in serve.stderr
    assert "pip install 'honeyhive-core[collector]'" in serve.stderr


# -- honeyhive doctor -----------------------------------------------------------------------------


def _no_secret(done: subprocess.CompletedProcess[str]) -> None:
    assert SENTINEL not in done.stdout + done.stderr
    assert SENTINEL[5:] not in done.stdout + done.stderr  # not even most of it


def test_doctor_with_a_collector_that_accepts_the_key(tmp_path: Path) -> None:
    with start(port=0, db_path=tmp_path / "d.db", api_key=SENTINEL) as keyed:
        done = honeyhive(
            "doctor", HH_API_URL=keyed.url, HH_API_KEY=SENTINEL, HH_PROJECT="doctor-tests"
        )
    assert done.returncode == 0, done.stdout + done.stderr
    _no_secret(done)
    out = done.stdout
    assert f"sk-s... ({len(SENTINEL)} characters)" in out  # at most a short prefix
    assert f"server_url             {keyed.url}" in out
    assert "from HH_API_URL" in out
    assert "project                doctor-tests" in out
    assert "from HH_PROJECT" in out
    assert "source                 dev" in out
    assert "default" in out
    assert "-> 200 in " in out
    assert "the backend answers and accepts the key" in out
    assert "a local honeyhive collector" in out
    assert "no problems found" in out


def test_doctor_reports_a_refused_key(tmp_path: Path) -> None:
    with start(port=0, db_path=tmp_path / "d.db", api_key="the-real-key-0123456789") as keyed:
        done = honeyhive("doctor", HH_API_URL=keyed.url, HH_API_KEY=SENTINEL)
    assert done.returncode == 1
    _no_secret(done)
    assert "-> 401 in " in done.stdout
    assert "refused the API key" in done.stdout
    # What the SDK itself delivered: refusals, counted per exporter and for the API calls.
    assert "honeyhive exporter     lost: refused 1" in done.stdout
    assert "API calls              lost: refused 1" in done.stdout
    assert "is HH_API_KEY right for it?" in done.stdout
    assert "3 problems found" in done.stdout


def test_doctor_without_a_key_on_loopback(running: RunningCollector) -> None:
    done = honeyhive("doctor", HH_API_URL=running.url)
    assert done.returncode == 0, done.stdout
    assert "(not set): fine for a loopback collector" in done.stdout
    assert "without an API key" in done.stdout
    assert "needs no key" in done.stdout


def test_doctor_reports_an_invalid_configuration_and_an_unreachable_backend() -> None:
    invalid = honeyhive("doctor", HH_API_URL="ftp://example.invalid", HH_API_KEY=SENTINEL)
    assert invalid.returncode == 1
    assert "INVALID: server_url must be an http:// or https:// URL" in invalid.stdout
    assert "backend: not checked (the configuration is invalid)" in invalid.stdout
    assert f"HH_API_KEY=sk-s... ({len(SENTINEL)} characters)" in invalid.stdout
    assert "Traceback" not in invalid.stderr
    _no_secret(invalid)

    no_key = honeyhive("doctor", "--offline")  # the default backend needs a key
    assert no_key.returncode == 1
    assert "INVALID: Missing project API key: provide api_key" in no_key.stdout

    port = _closed_port()
    url = f"http://user:{SENTINEL}@127.0.0.1:{port}"  # a secret in the URL is not printed either
    down = honeyhive("doctor", "--timeout", "2", HH_API_URL=url)
    assert down.returncode == 1
    assert "UNREACHABLE: ConnectError" in down.stdout
    assert f"http://127.0.0.1:{port}" in down.stdout
    _no_secret(down)


def test_doctor_lists_plugins_and_integrations_with_versions() -> None:
    done = honeyhive("doctor", "--offline", HH_API_URL="http://127.0.0.1:9")
    assert done.returncode == 0, done.stdout
    out = done.stdout
    from honeyhive import __version__

    for kind, name in (("exporters", "honeyhive"), ("processors", "baggage")):
        line = next(line for line in out.splitlines() if f" {name} " in line and "ok" in line)
        assert f"honeyhive-core {__version__}" in line, (kind, line)
    assert "propagators   baggage" in out
    assert "tracecontext" in out
    assert "integrations" in out
    section = out.split("plug-ins and integrations (entry points)")[1].split("\n\n")[0]
    integration_lines = section.split("integrations", 1)[1].splitlines()
    assert "none installed" in integration_lines[0] or all(
        line.rstrip().endswith("ok") for line in integration_lines if line.strip()
    ), section
    assert "backend: not checked (--offline)" in out


# -- the command itself ---------------------------------------------------------------------------


def test_the_console_script_and_python_m(running: RunningCollector) -> None:
    script = Path(sys.executable).parent / "honeyhive"
    assert script.exists(), "pip install -e packages/honeyhive-core installs the honeyhive command"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, env=clean_env()
    )
    from honeyhive import __version__

    assert done.stdout.strip() == f"honeyhive-core {__version__}"
    bare = honeyhive()
    assert bare.returncode == 2
    assert "serve" in bare.stdout
    assert "doctor" in bare.stdout


def test_traces_finds_the_collector_on_the_default_port_from_any_folder(tmp_path: Path) -> None:
    port = str(_closed_port())  # stands for 8318, which a test must not take
    served = tmp_path / "project"
    served.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    serve = subprocess.Popen(
        [sys.executable, "-m", "honeyhive", "serve"],  # no --port, no --db
        cwd=served,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(HH_COLLECTOR_PORT=port),
    )
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in first, first
        _session(f"http://127.0.0.1:{port}", "served elsewhere")
        done = honeyhive("traces", cwd=elsewhere, HH_COLLECTOR_PORT=port)
        assert done.returncode == 0, done.stderr
        assert "session served elsewhere" in done.stdout
        database = served / ".honeyhive" / "traces.db"
        assert f"reading the collector at http://127.0.0.1:{port}" in done.stderr
        assert f"(its database: {database.resolve()})" in done.stderr
    finally:
        serve.terminate()
        serve.communicate(timeout=20)
    gone = honeyhive("traces", cwd=elsewhere, HH_COLLECTOR_PORT=port)
    assert gone.returncode == 1
    assert f"no collector answers on 127.0.0.1:{port}" in gone.stderr


def test_traces_says_which_database_it_read(workdir: Path) -> None:
    done = honeyhive("traces", cwd=workdir)
    assert f"reading the database {workdir / '.honeyhive' / 'traces.db'}" in done.stderr
