"""Delivery you can trust: faults, rate limits, the spool, exit and fork, against a real collector.

Fork and exit behaviour is tested in real subprocesses (and a real gunicorn), since an in-process
test cannot see what happens after ``os.fork`` or at interpreter exit.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from honeyhive import HoneyHiveTracer
from honeyhive._export import gate_for

from support.collector import Collector
from support.ports import free_port

MakeTracer = Callable[..., HoneyHiveTracer]
APPS = Path(__file__).parent / "apps"
ROOT = Path(__file__).parents[1]

FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("down", {}),
    ("status", {"status": 500}),
    ("status", {"status": 503}),
    ("status", {"status": 429, "retry_after": "1"}),
    ("hang", {"seconds": 30}),
    ("slow", {"seconds": 0.3}),
    ("too_large", {"max_bytes": 3000}),
    ("reset", {}),
]


def _fault_id(fault: tuple[str, dict[str, Any]]) -> str:
    mode, params = fault
    return "-".join([mode, *(str(v) for v in params.values())])


@pytest.mark.parametrize("fault", FAULTS, ids=[_fault_id(f) for f in FAULTS])
def test_every_fault_mode_is_invisible_to_the_app_and_bounded(
    make_tracer: MakeTracer, collector: Collector, fault: tuple[str, dict[str, Any]]
) -> None:
    mode, params = fault
    tracer = make_tracer(export_timeout=2.0, exit_timeout=1.0)
    assert tracer.flush(5)
    collector.set_fault(mode, **params)  # type: ignore[arg-type]
    started = time.monotonic()
    for index in range(50):  # nothing here may raise, nothing may block
        with tracer.trace(f"op-{index}") as span:
            span.set_attribute("payload", "x" * 50)
        tracer.create_event("event")
        tracer.enrich_session(metadata={"n": index})
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    flushed = tracer.flush(1.0)
    assert time.monotonic() - started < 1.0 + 0.25
    started = time.monotonic()
    tracer.close()
    assert time.monotonic() - started < 1.0 + 0.25
    received = len({(s.trace_id, s.span_id) for s in collector.spans})
    dropped = sum(tracer.dropped.values())
    assert collector.duplicates == 0
    # After close every span is accounted for: delivered, or counted by reason. A request
    # abandoned in flight to a hung backend is counted although the backend may still take it.
    assert received + dropped >= 50
    assert received <= 50
    if mode != "hang":
        assert received + dropped == 50
    calls = len(collector.events) + len(collector.event_updates)
    assert calls + sum(tracer.dropped_api_calls.values()) >= 100
    if received < 50:
        assert not flushed  # never True while something was lost
    if mode in ("slow", "too_large"):
        assert received == 50  # slow is slow, and a 413 splits: nothing is lost
        assert dropped == 0
    collector.clear_fault()


def test_after_a_429_with_retry_after_nothing_is_sent_until_the_window_ends(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer(export_timeout=10.0)
    assert tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=429, retry_after="3", count=1)
    with tracer.trace("first"):
        pass
    collector.wait_for(lambda c: len(c.requests) == 1, timeout=5)
    limited_at = collector.requests[0].received_at
    gate = gate_for(collector.url)
    deadline = time.monotonic() + 5
    while gate.wait_time() == 0:  # the SDK has read the 429 (microseconds after the collector)
        assert time.monotonic() < deadline
        time.sleep(0.001)
    with tracer.trace("second"):
        pass
    tracer.create_event("during-window")
    tracer.enrich_session(metadata={"a": 1})
    assert tracer.flush(10)
    later = [r.received_at - limited_at for r in collector.requests[1:]]
    assert later, "nothing was retried after the window"
    assert min(later) >= 3.0 - 0.05, later  # spans, events and session calls all waited
    assert {s.name for s in collector.spans} == {"first", "second"}


def test_retry_after_as_an_http_date(make_tracer: MakeTracer, collector: Collector) -> None:
    from email.utils import formatdate

    tracer = make_tracer()
    assert tracer.flush(5)
    collector.clear()
    collector.set_fault("status", status=503, retry_after=formatdate(time.time() + 2), count=1)
    with tracer.trace("op"):
        pass
    assert tracer.flush(10), (dict(tracer.dropped), collector.describe())
    first, second = collector.requests[0], collector.requests[1]
    assert second.received_at - first.received_at >= 1.0


def test_close_interrupts_a_backoff_wait(make_tracer: MakeTracer, collector: Collector) -> None:
    tracer = make_tracer(exit_timeout=0.5)
    assert tracer.flush(5)
    collector.set_fault("status", status=429, retry_after="60")
    with tracer.trace("op"):
        pass
    time.sleep(0.3)  # the sender is now waiting out the 60 s window
    started = time.monotonic()
    tracer.close()
    assert time.monotonic() - started < 0.5 + 0.25
    assert tracer.dropped["shutdown"] + tracer.dropped["rate_limited"] == 1


def test_drop_counters_are_logged_once_a_minute_with_the_total(
    make_tracer: MakeTracer, collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = make_tracer(max_queue_size=5, max_export_batch_size=5, schedule_delay=30)
    collector.set_fault("hang", seconds=10)
    for index in range(60):
        with tracer.trace(f"op-{index}"):
            pass
    lines = [r.getMessage() for r in caplog.records if "dropped spans" in r.getMessage()]
    assert lines == ["honeyhive dropped spans: reason=queue_full total=1"]
    assert tracer.dropped["queue_full"] >= 50
    collector.clear_fault()


def test_unreachable_and_tls_failures_never_raise(collector: Collector) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    for url in (f"http://127.0.0.1:{closed_port}", f"https://127.0.0.1:{collector.port}"):
        tracer = HoneyHiveTracer(server_url=url, export_timeout=1.0, exit_timeout=1.0)
        with tracer.trace("op"):
            pass
        assert tracer.flush(2) is False
        tracer.close()
        assert tracer.dropped["network_error"] == 1


def test_dns_failure_never_raises() -> None:
    script = (
        "import socket\n"
        "def fail(*a, **k): raise socket.gaierror(-2, 'Name or service not known')\n"
        "socket.getaddrinfo = fail\n"
        "from honeyhive import HoneyHiveTracer\n"
        "t = HoneyHiveTracer(server_url='https://api.example.test', api_key='hh_k_12345678',"
        " export_timeout=1, exit_timeout=1)\n"
        "with t.trace('op'): pass\n"
        "flushed = t.flush(2)\n"
        "t.close()\n"  # whatever the flush could not settle is counted by now
        "print(flushed, dict(t.dropped)['network_error'])\n"
    )
    result = _python(["-c", script], {}, timeout=30)
    assert result.stdout.split() == ["False", "1"], result.stderr
    assert "Traceback" not in result.stderr


def test_unserialisable_attributes_never_raise(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()

    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with tracer.trace("op", thing=Weird(), nested={"k": Weird(), "n": float("nan")}) as span:
        span.set_attribute("bad", {"dict": "not allowed"})  # type: ignore[arg-type]
        tracer.enrich_span(metadata={"obj": Weird(), "set": {1, 2}})
        tracer.enrich_current_span({"x": Weird()})
    tracer.create_event("e", inputs={"w": Weird()})
    tracer.flush(5)
    (received,) = collector.wait_for_spans(1)
    assert received.name == "op"


def test_a_rejected_api_call_makes_flush_false_once(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    tracer = make_tracer()
    assert tracer.flush(5)  # the session start arrived
    collector.set_fault("status", status=400, count=1)
    tracer.create_event("rejected")
    assert not tracer.flush(5)  # a call was lost since the previous flush
    assert sum(tracer.dropped_api_calls.values()) == 1  # counted where users look
    tracer.create_event("accepted")
    assert tracer.flush(5)


@pytest.mark.internal_errors_expected
def test_a_request_the_http_client_cannot_send_is_counted_and_flush_returns_at_once(
    monkeypatch: pytest.MonkeyPatch, collector: Collector
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-key=caf%C3%A9")  # not encodable
    tracer = HoneyHiveTracer(exporters=["otlp"], project="p", schedule_delay=0.05)
    try:
        with tracer.trace("unsendable"):
            pass
        started = time.monotonic()
        assert not tracer.flush(5)
        assert time.monotonic() - started < 4  # not waiting out the timeout on a lost request
        assert tracer.dropped["internal_error"] == 1
        assert tracer.flush(5)  # and nothing is left in flight
    finally:
        tracer.close()


def test_an_unreadable_key_costs_only_its_value_and_is_counted(
    make_tracer: MakeTracer, collector: Collector
) -> None:
    class BadKey:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    tracer = make_tracer()
    with tracer.trace("op"):
        tracer.enrich_span(metadata={BadKey(): "maybe-a-secret", "ok": 2})
    tracer.flush(5)
    (received,) = collector.wait_for_spans(1)
    metadata = {k: v for k, v in received.attributes.items() if k.startswith("honeyhive_metadata")}
    # the key cannot be read, so it cannot be checked for a secret: its value is left out
    assert metadata == {"honeyhive_metadata.ok": 2}
    assert received.attributes["honeyhive.truncated"] == 1


def test_tls_verification_off_warns_once(
    collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    import honeyhive._export._transport as transport

    transport._tls_warned = False
    tracers = [HoneyHiveTracer(server_url=collector.url, verify_tls=False) for _ in range(2)]
    for tracer in tracers:
        tracer.close()
    warnings = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(warnings) == 1


# -- the spool ------------------------------------------------------------------------------


def test_the_spool_keeps_what_the_backend_could_not_take(
    make_tracer: MakeTracer, collector: Collector, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    tracer = make_tracer(spool_dir=str(spool), export_timeout=0.5)
    assert tracer.flush(5)
    collector.set_fault("down")
    for index in range(20):
        with tracer.trace(f"op-{index}"):
            pass
    tracer.create_event("kept-too")
    assert tracer.flush(3) is False  # spooled is not delivered
    assert sum(tracer.dropped.values()) == 0
    (private,) = list(spool.iterdir())
    (directory,) = list(private.iterdir())
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.glob("*.parcel"))
    assert files
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    collector.clear_fault()
    with tracer.trace("after-recovery"):
        pass
    assert tracer.flush(10)
    collector.wait_for(lambda c: len(c.spans) == 21 and len(c.events) == 1, timeout=10)
    assert collector.duplicates == 0
    assert [e["event_name"] for e in collector.events] == ["kept-too"]
    _eventually(lambda: list(directory.glob("*.parcel")) == [])


def test_the_next_process_delivers_the_spool_with_no_duplicates(
    collector: Collector, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    env = {"HH_SPOOL_DIR": str(spool), "HH_EXPORT_TIMEOUT": "0.5", "HH_EXIT_TIMEOUT": "2"}
    collector.set_fault("down")
    first = _python([str(APPS / "exit_with_spans.py"), "30"], {**env, "HH_API_URL": collector.url})
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert list(spool.rglob("*.parcel"))
    collector.clear_fault()
    # Two later processes start at once against the same spool: each parcel goes once.
    later = [
        subprocess.Popen(
            [sys.executable, str(APPS / "exit_with_spans.py"), "0"],
            env=_env({**env, "HH_API_URL": collector.url}),
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for process in later:
        assert process.wait(30) == 0
        assert process.stderr is not None
        assert b"Traceback" not in process.stderr.read()
        process.stderr.close()
    collector.wait_for(lambda c: len(c.spans) >= 30, timeout=10)
    assert len(collector.spans) == 30
    assert collector.duplicates == 0
    _eventually(lambda: list(spool.rglob("*.parcel")) == [])


def test_a_final_rejection_is_counted_not_spooled(
    make_tracer: MakeTracer, collector: Collector, tmp_path: Path
) -> None:
    tracer = make_tracer(spool_dir=str(tmp_path), export_timeout=1.0)
    with tracer.trace("the session starts"):
        pass
    assert tracer.flush(5)
    collector.set_fault("status", status=400, count=1)
    with tracer.trace("refused"):
        pass
    assert tracer.flush(5) is False
    assert tracer.dropped["refused"] == 1  # a 4xx is a refusal, counted apart
    assert tracer.dropped["network_error"] == 0
    assert list(tmp_path.rglob("*.parcel")) == []  # never resent: it would be refused again


def test_the_spool_never_changes_the_directory_it_is_given(
    make_tracer: MakeTracer, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)
    make_tracer(spool_dir=str(shared))
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_the_spool_is_bounded(
    make_tracer: MakeTracer, collector: Collector, tmp_path: Path
) -> None:
    tracer = make_tracer(spool_dir=str(tmp_path), spool_max_bytes=3000, export_timeout=0.3)
    assert tracer.flush(5)
    collector.set_fault("down")
    for index in range(40):
        with tracer.trace(f"op-{index}") as span:
            span.set_attribute("payload", "y" * 300)
        if index % 10 == 9:
            tracer.flush(2)
    tracer.flush(2)
    size = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert size <= 3000
    assert tracer.dropped["network_error"] > 0  # what did not fit is counted, not lost silently
    collector.clear_fault()


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- exit and fork ----------------------------------------------------------------------------


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
    env.update(extra)
    env["PYTHONPATH"] = str(ROOT / "tests")
    return env


def _python(
    args: list[str], extra: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=_env(extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_exit_delivers_what_was_queued(collector: Collector) -> None:
    result = _python([str(APPS / "exit_with_spans.py"), "25"], {"HH_API_URL": collector.url})
    assert result.returncode == 0, result.stderr
    assert len(collector.spans) == 25
    assert [e["event_name"] for e in collector.events] == ["bye"]
    assert len(collector.sessions) == 1


@pytest.mark.parametrize(
    ("fault", "why"), [("down", "connection refused"), ("hang", "HH_EXIT_TIMEOUT")]
)
def test_exit_is_bounded_and_says_what_was_lost_when_the_backend_fails(
    collector: Collector, fault: str, why: str
) -> None:
    collector.set_fault(fault)  # type: ignore[arg-type]
    started = time.monotonic()
    result = _python([str(APPS / "exit_with_spans.py"), "25"], {"HH_API_URL": collector.url})
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    # One WARNING, without verbose, with exactly what was lost: 25 spans; the session start
    # and the event ("bye").
    (final,) = [line for line in result.stderr.splitlines() if "not delivered" in line]
    assert "honeyhive exporter: 25 spans" in final
    assert "API: 2 API calls" in final
    assert why in final
    assert elapsed < 5.0 + 1.0 + 2.0  # the default exit budget + 1 s + the interpreter's start
    collector.clear_fault()


def test_fork_child_delivers_its_spans_and_the_parents_are_not_repeated(
    collector: Collector,
) -> None:
    # The process resource detector puts process.pid on the resource; the SDK renews it in a
    # forked child, and the child's spans must carry the child's.
    env = {"HH_API_URL": collector.url, "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "process"}
    result = _python([str(APPS / "fork_child.py")], env)
    assert result.returncode == 0, result.stderr
    collector.wait_for(lambda c: len(c.spans) >= 7, timeout=10)
    children = [s for s in collector.spans if s.name.startswith("child-")]
    assert {s.resource["process.pid"] for s in children} == {s.attributes["pid"] for s in children}
    names = sorted(s.name for s in collector.spans)
    assert names == [
        "child-0",
        "child-1",
        "child-2",
        "child-3",
        "child-4",
        "parent-after-fork",
        "parent-before-fork",
    ]
    assert collector.duplicates == 0


def test_multiprocessing_children_deliver_without_user_code(collector: Collector) -> None:
    result = _python([str(APPS / "mp_children.py")], {"HH_API_URL": collector.url})
    assert result.returncode == 0, result.stderr
    collector.wait_for(lambda c: len(c.spans) >= 400, timeout=10)
    assert len(collector.spans) == 400
    assert collector.duplicates == 0


def test_a_fork_while_the_sdk_holds_its_locks_does_not_deadlock(collector: Collector) -> None:
    result = _python([str(APPS / "fork_while_locked.py")], {"HH_API_URL": collector.url})
    assert result.returncode == 0, result.stderr


def test_background_threads_never_import(collector: Collector) -> None:
    """A fork while a thread is importing leaves the child an import lock it cannot take."""
    script = f"""
import sys, threading
imports = []
def hook(event, args):
    if event == "import" and threading.current_thread().name.startswith("honeyhive"):
        imports.append(args[0])
sys.addaudithook(hook)
sys.path.insert(0, {str(ROOT / "tests")!r})
from support.collector import Collector
from honeyhive import HoneyHiveTracer
from honeyhive._export import gate_for
with Collector() as c:
    for fmt in ("protobuf", "json"):
        t = HoneyHiveTracer(server_url=c.url, schedule_delay=0.05, export_timeout=1,
                            otlp_format=fmt, disable_http_tracing=False)
        with t.trace("a"): pass
        t.create_event("e"); t.enrich_session(metadata={{"a": 1}})
        t.flush(5)
        for fault in (dict(mode="status", status=503, retry_after="0", count=1),
                      dict(mode="status", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT",
                           count=1),
                      dict(mode="too_large", max_bytes=10, count=1),
                      dict(mode="reset", count=1)):
            c.set_fault(**fault)
            for i in range(3):
                with t.trace("b"): pass
            t.flush(5)
        c.set_fault("down")
        with t.trace("d"): pass
        t.flush(1.5)
        c.clear_fault()
        t.close()
print(imports)
"""
    result = _python(["-c", script], {}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_gunicorn_preload_workers_deliver_their_spans(collector: Collector) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "apps.gunicorn_app:app",
        ],
        env=_env({"HH_API_URL": collector.url}),
        cwd=str(ROOT / "tests"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        pids = set()
        with httpx.Client() as client:
            for index in range(60):
                response = client.get(f"http://127.0.0.1:{port}/item/{index}", timeout=5)
                pids.add(response.text)
                client.cookies.clear()
        collector.wait_for(lambda c: len(c.spans_named("GET /item/59")) == 1, timeout=10)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        assert server.stderr is not None
        errors = server.stderr.read().decode()
        server.stderr.close()
    assert "Traceback" not in errors
    spans = collector.spans
    items = [s for s in spans if s.name.startswith("GET /item/")]
    assert len(items) == 60
    assert collector.duplicates == 0
    assert len(collector.spans_named("master-startup")) == 1
    assert {str(s.attributes["worker.pid"]) for s in items} == pids


def test_sigterm_delivers_what_was_queued_and_still_ends_the_process(
    collector: Collector,
) -> None:
    result = _python([str(APPS / "sigterm.py")], {"HH_API_URL": collector.url})
    assert result.returncode == -signal.SIGTERM  # it still died by the signal
    assert result.stderr == ""
    assert len(collector.spans) == 20
    assert len(collector.sessions) == 1


def test_an_applications_own_sigterm_handler_is_left_alone(collector: Collector) -> None:
    result = _python([str(APPS / "sigterm.py"), "own-handler"], {"HH_API_URL": collector.url})
    assert result.returncode == 7  # the app's handler ran (then atexit delivered the spans)
    assert len(collector.spans) == 20


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kolkata"])
def test_retry_after_dates_are_gmt_whatever_the_local_zone(zone: str) -> None:
    script = (
        "import time\n"
        "from email.utils import formatdate\n"
        "from honeyhive._export import parse_retry_after\n"
        "for gmt in (False, True):\n"
        "    print(round(parse_retry_after(formatdate(time.time() + 30, usegmt=gmt))))\n"
    )
    result = _python(["-c", script], {"TZ": zone})
    assert [abs(int(v) - 30) <= 2 for v in result.stdout.split()] == [True, True], result
