"""The local collector holds under abuse: bounded memory and time, a 4xx for every input error,
a private database, locked-down pages, and clear errors for impossible settings.

Everything runs against the real collector on loopback (in-process uvicorn, or the ``honeyhive
serve`` command), with real HTTP clients and raw sockets where a client must misbehave.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from honeyhive.collector import RunningCollector, create_app, start

from support import browser
from support.local_collector import clean_env, otlp_json, otlp_span

TRACES = "/opentelemetry/v1/traces"
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _stats(url: str) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(url + "/api/stats").json()
    return stats


def _ids() -> tuple[str, str]:
    return uuid.uuid4().hex, uuid.uuid4().hex[:16]


# -- a 4xx for every input error ------------------------------------------------------------------


def _protobuf_span(start: int, end: int, event_time: int = 0) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = os.urandom(16), os.urandom(8)
    span.name = "extreme"
    span.start_time_unix_nano, span.end_time_unix_nano = start, end
    if event_time:
        span.events.add(name="late", time_unix_nano=event_time)
    return request.SerializeToString()


def _json_span(start: int, end: int) -> bytes:
    trace_id, span_id = _ids()
    span = otlp_span(trace_id, span_id, start_ns=start, duration_ns=end - start)
    return otlp_json(span)


def _event(**fields: Any) -> bytes:
    return json.dumps({"event": {"event_name": "e", "event_type": "tool", **fields}}).encode()


NOW = 1_700_000_000_000_000_000
EXTREME = [
    # (method, path, headers, body, what the message names)
    ("POST", TRACES, PROTOBUF, _protobuf_span(2**63, 2**63 + 1), "start time"),
    ("POST", TRACES, PROTOBUF, _protobuf_span(NOW, 2**64 - 1), "end time"),
    ("POST", TRACES, PROTOBUF, _protobuf_span(NOW, NOW + 1, event_time=2**63), "event time"),
    ("POST", TRACES, JSON, _json_span(2**63, 2**63 + 5), "start time"),
    ("POST", TRACES, JSON, _json_span(NOW, 2**64 - 1), "end time"),
    ("POST", "/events", JSON, _event(start_time=10**13), "event.start_time"),  # year 2286
    ("POST", "/events", JSON, _event(end_time=9.3e12), "event.end_time"),
    ("POST", "/events", JSON, _event(duration=1e300), "event.duration"),
    ("POST", "/events", JSON, _event(duration=10**400), "event.duration"),
    ("POST", "/events", JSON, _event(start_time=9e12, duration=9e12), "event.end_time"),
    ("POST", "/events", JSON, _event(end_time=1.0, duration=5.0), "event.start_time"),
    ("POST", "/events", JSON, b'{"event": {"event_name": "e", "inputs": {"x": 1e999}}}', "range"),
    ("PUT", "/events", JSON, b'{"event_id": "s", "metrics": {"score": -1e400}}', "range"),
    ("GET", "/api/sessions?offset=" + "9" * 30, {}, b"", "offset"),
    ("GET", "/api/sessions?offset=9223372036854775808", {}, b"", "offset"),
    ("GET", "/api/sessions?limit=" + "9" * 5000, {}, b"", "limit"),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "names"),
    EXTREME,
    ids=[f"{case[0]} {case[1][:20]} {case[4]}" for case in EXTREME],
)
def test_extreme_but_well_formed_values_are_a_400(
    local: RunningCollector,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    names: str,
) -> None:
    before = _stats(local.url)
    response = httpx.request(method, local.url + path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    if headers is not PROTOBUF:
        answer = response.json()
        assert names in (answer.get("error") or answer.get("message")), answer
    assert _stats(local.url) == before  # nothing of a refused request is stored
    assert httpx.get(local.url + "/api/health").json()["ok"] is True


def test_the_last_storable_nanosecond_is_accepted(local: RunningCollector) -> None:
    last = 2**63 - 1
    response = httpx.post(
        local.url + TRACES, content=_protobuf_span(last - 5, last), headers=PROTOBUF
    )
    assert response.status_code == 200
    response = httpx.post(local.url + "/events", content=_event(start_time=9.2e12), headers=JSON)
    assert response.status_code == 200
    assert _stats(local.url)["spans"] == 1


# -- parsing off the event loop -------------------------------------------------------------------


def _big_events_body(megabytes: int) -> bytes:
    inputs = {f"field_{index}": [index, "value", {"nested": True}] for index in range(20_000)}
    text = json.dumps({"event": {"event_name": "big", "event_type": "tool", "inputs": inputs}})
    # Many small objects: the most parsing work per byte.
    blob = json.dumps([{"k": index, "v": [1, 2, 3]} for index in range(megabytes * 32_000)])
    return (text[:-2] + ', "outputs": {"rows": ' + blob + "}}}").encode()


def test_a_30_mb_events_body_does_not_block_health_checks(local: RunningCollector) -> None:
    body = _big_events_body(30)
    assert 30_000_000 < len(body) < 32 * 1024 * 1024, len(body)
    port = int(local.url.rsplit(":", 1)[1])
    big = socket.create_connection(("127.0.0.1", port), timeout=120)
    try:
        big.sendall(
            b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sent = time.monotonic()
        time.sleep(0.3)  # the body is in; the collector is parsing it
        with httpx.Client(timeout=120) as client:
            asked = time.monotonic()
            health = client.get(local.url + "/api/health")
            health_took = time.monotonic() - asked
        assert health.status_code == 200
        answer = big.recv(65536)
        big_took = time.monotonic() - sent
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    finally:
        big.close()
    # Compared with the big request's own time on this machine, not with a clock: parsed on the
    # event loop, the health check waited for most of it (0.7 of it on the old code).
    assert health_took < 0.2 * big_took, (health_took, big_took)
    assert _stats(local.url)["events"] == 1


_BIG_EVENT = json.dumps({"event": {"event_name": "big", "inputs": {"text": "x" * 3_000_000}}})

# A script that starts the collector at its top level, with no ``if __name__ == "__main__"``
# guard (as a quick script does). The child that parses big bodies must not run it again.
_UNGUARDED_SCRIPT = f"""
import sys, httpx
from honeyhive.collector import start
if __name__ != "__main__":  # run again, in a child process: what must not happen
    sys.exit(f"the script ran again as {{__name__}}")
with start(port=0, db_path=sys.argv[1]) as collector:
    answer = httpx.post(
        collector.url + "/events", content={_BIG_EVENT!r},
        headers={{"Content-Type": "application/json"}}, timeout=30,
    )
    stats = httpx.get(collector.url + "/api/stats").json()
print(answer.status_code, stats["events"])
"""


def test_a_script_that_starts_the_collector_unguarded_parses_big_bodies(tmp_path: Path) -> None:
    script = tmp_path / "quick.py"
    script.write_text(_UNGUARDED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "t.db")],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean_env(),
    )
    assert "ran again" not in done.stderr, done.stderr
    assert done.stdout.split() == ["200", "1"], (done.stdout, done.stderr)
    assert done.returncode == 0


def test_a_big_body_is_stored_where_no_parser_process_can_start(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(db_path.parent / "no-such-python"))
    with start(port=0, db_path=db_path) as running:
        answer = httpx.post(running.url + "/events", content=_BIG_EVENT, headers=JSON, timeout=30)
        assert answer.status_code == 200, answer.text
        assert _stats(running.url)["events"] == 1


def test_ctrl_c_stops_serve_quietly_after_a_big_body(tmp_path: Path) -> None:
    """The terminal sends Ctrl-C to the whole process group: the parser process must not
    answer it with a traceback of its own."""
    serve = subprocess.Popen(
        [sys.executable, "-m", "honeyhive", "serve", "--port", "0", "--db", str(tmp_path / "t.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        start_new_session=True,  # a process group of its own, as a terminal gives a command
    )
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().split("listening on ", 1)[1].strip()
        answer = httpx.post(url + "/events", content=_BIG_EVENT, headers=JSON, timeout=30)
        assert answer.status_code == 200
        os.killpg(serve.pid, signal.SIGINT)
        _, err = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.communicate()
    assert serve.returncode == 130, err  # stopped by Ctrl-C, as a command should be
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err, err


# -- gzip: linear time, a cap on members ----------------------------------------------------------


def test_gzip_members_are_decoded_in_order_and_capped(local: RunningCollector) -> None:
    trace_id, span_id = _ids()
    body = otlp_json(otlp_span(trace_id, span_id, "from-three-members"))
    thirds = [
        body[: len(body) // 3],
        body[len(body) // 3 : 2 * len(body) // 3],
        body[2 * len(body) // 3 :],
    ]
    three = b"".join(gzip.compress(part) for part in thirds)
    gz = {**JSON, "Content-Encoding": "gzip"}
    assert httpx.post(local.url + TRACES, content=three, headers=gz).status_code == 200
    assert _stats(local.url)["spans"] == 1

    empty = gzip.compress(b"")
    many = empty * 200_000 + gzip.compress(body)  # 4 MB of empty members
    started = time.monotonic()
    response = httpx.post(local.url + TRACES, content=many, headers=gz, timeout=60)
    assert response.status_code == 400
    assert "more than 1024 members" in response.json()["message"]
    assert time.monotonic() - started < 30  # a generous bound: it was 9 s on the old code
    deflate = {**JSON, "Content-Encoding": "deflate"}
    import zlib

    twice = zlib.compress(body) + zlib.compress(body)
    response = httpx.post(local.url + TRACES, content=twice, headers=deflate)
    assert response.status_code == 400
    assert "data after the end of the deflate stream" in response.json()["message"]
    assert _stats(local.url)["spans"] == 1


# -- a budget for bodies in flight ----------------------------------------------------------------


def _hold_a_request(url: str, size: int) -> socket.socket:
    """Start a request with a body of ``size`` bytes and send only half of it (it stays in
    flight, holding what it sent, until the rest comes)."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"POST {TRACES} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n".encode()
    )
    sock.sendall(b" " * (size // 2))
    return sock


def test_bodies_in_flight_share_a_budget(db_path: Path) -> None:
    limit = 1024 * 1024
    with start(
        port=0, db_path=db_path, max_body_bytes=limit, body_budget_bytes=limit + 1000
    ) as running:
        trace_id, span_id = _ids()
        body = otlp_json(otlp_span(trace_id, span_id, "waited", attributes={"pad": "x" * 600_000}))
        held = _hold_a_request(running.url, len(body))
        try:
            time.sleep(0.2)
            refused = httpx.post(running.url + TRACES, content=body, headers=JSON)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert "busy" in refused.json()["message"]
            assert refused.json()["code"] == 14  # UNAVAILABLE: OTLP clients retry it
            protobuf = httpx.post(running.url + TRACES, content=b"x" * 600_000, headers=PROTOBUF)
            assert protobuf.status_code == 503
            assert protobuf.content[:2] == b"\x08\x0e"  # a google.rpc.Status, code 14
            assert httpx.get(running.url + "/api/health").json()["refused_busy"] == 2
            assert httpx.get(running.url + "/api/sessions").status_code == 200  # reads go on
        finally:
            held.close()
        time.sleep(0.2)  # the dropped request gives its bytes back
        assert httpx.post(running.url + TRACES, content=body, headers=JSON).status_code == 200
        assert _stats(running.url)["spans"] == 1


def test_a_request_alone_is_never_refused_by_the_budget(db_path: Path) -> None:
    with start(port=0, db_path=db_path, body_budget_bytes=1000) as running:
        trace_id, span_id = _ids()
        body = otlp_json(otlp_span(trace_id, span_id, attributes={"pad": "x" * 50_000}))
        assert httpx.post(running.url + TRACES, content=body, headers=JSON).status_code == 200
        packed = gzip.compress(body)
        response = httpx.post(
            running.url + TRACES, content=packed, headers={**JSON, "Content-Encoding": "gzip"}
        )
        assert response.status_code == 200


def test_the_sdk_retries_what_a_busy_collector_refused(db_path: Path) -> None:
    from honeyhive import HoneyHiveTracer

    limit = 256 * 1024
    with start(port=0, db_path=db_path, max_body_bytes=limit, body_budget_bytes=limit) as running:
        held = _hold_a_request(running.url, limit)
        tracer = HoneyHiveTracer(server_url=running.url, project="busy", schedule_delay=0.05)
        try:
            with tracer.trace("sent while busy", payload="x" * 1000):
                pass
            time.sleep(0.5)  # the first export is refused with 503
            held.close()
            assert tracer.flush(timeout=15)
            assert sum(tracer.dropped.values()) == 0
        finally:
            tracer.close()
        assert httpx.get(running.url + "/api/health").json()["refused_busy"] >= 1
        assert _stats(running.url)["spans"] == 1


# -- the database is private ----------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_folder_and_files_are_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        db = tmp_path / "made" / ".honeyhive" / "traces.db"
        with start(port=0, db_path=db) as running:
            trace_id, span_id = _ids()
            assert (
                httpx.post(
                    running.url + TRACES,
                    content=otlp_json(otlp_span(trace_id, span_id)),
                    headers=JSON,
                ).status_code
                == 200
            )
            assert _mode(tmp_path / "made") == 0o700
            assert _mode(db.parent) == 0o700
            assert _mode(db) == 0o600
            for companion in ("traces.db-wal", "traces.db-shm"):
                assert _mode(db.parent / companion) == 0o600

        # A database an older version left readable by everyone is tightened when opened.
        os.chmod(db, 0o644)
        create_app(db).state.store.close()
        assert _mode(db) == 0o600
    finally:
        os.umask(previous)


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    create_app(folder / "t.db").state.store.close()
    assert _mode(folder) == 0o755
    assert _mode(folder / "t.db") == 0o600


# -- the viewer's pages are locked down -----------------------------------------------------------


def test_every_response_carries_the_security_headers(local: RunningCollector) -> None:
    responses = [
        httpx.get(local.url + "/"),
        httpx.get(local.url + "/static/viewer.js"),
        httpx.get(local.url + "/static/viewer.css"),
        httpx.get(local.url + "/api/sessions"),
        httpx.get(local.url + "/api/sessions/nope"),
        httpx.get(local.url + "/no/such/page"),
        httpx.post(local.url + TRACES, content=b"{", headers=JSON),
        httpx.get(local.url + "/api/sessions", headers={"Host": "evil.example"}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 404, 400, 403]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


NAVIGATE_FROM_ELSEWHERE = {
    "Sec-Fetch-Site": "same-site",  # another port on localhost is the same site
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Accept": "text/html,application/xhtml+xml",
}


def test_a_viewer_link_followed_from_another_site_opens_a_page(local: RunningCollector) -> None:
    page = httpx.get(local.url + "/?session=abc", headers=NAVIGATE_FROM_ELSEWHERE)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/viewer.js">' in page.text

    refused = httpx.get(local.url + "/api/sessions", headers=NAVIGATE_FROM_ELSEWHERE)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "<h1>This request was refused</h1>" in refused.text
    assert '<a href="/">Open the trace viewer</a>' in refused.text

    fetched = httpx.get(
        local.url + "/api/sessions",
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
    )
    assert fetched.status_code == 403
    assert fetched.json() == {"error": "cross-site requests are refused"}
    posted = httpx.post(  # a form posted from elsewhere is a navigation, and still refused
        local.url + "/session/start",
        content=b"{}",
        headers={**NAVIGATE_FROM_ELSEWHERE, "Content-Type": "application/json"},
    )
    assert posted.status_code == 403


@pytest.mark.skipif(browser.chromium_path() is None, reason="chromium is not installed")
def test_a_link_on_another_local_port_opens_the_viewer_in_chromium(
    local: RunningCollector, tmp_path: Path
) -> None:
    session_id = str(uuid.uuid4())
    trace_id, span_id = _ids()
    spans = otlp_json(otlp_span(trace_id, span_id, "linked-span", session_id=session_id))
    assert httpx.post(local.url + TRACES, content=spans, headers=JSON).status_code == 200
    (tmp_path / "index.html").write_text(
        f'<a id="go" href="{local.url}/?session={session_id}">open the trace</a>'
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        with browser.DevTools() as chromium:
            chromium.navigate(f"http://localhost:{other.server_address[1]}/index.html")
            chromium.wait_for("document.getElementById('go') !== null")
            chromium.evaluate("document.getElementById('go').click()")
            shown = chromium.wait_for(
                "document.body && document.body.innerText.includes('linked-span') "
                "? document.body.innerText : ''"
            )
    finally:
        other.shutdown()
        other.server_close()
    assert "linked-span" in shown


# -- impossible settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "argument --port: 70000 is not a port"),
        (["--port", "-1"], "argument --port: -1 is not a port"),
        (["--port", "http"], "argument --port: 'http' is not a port number"),
        (["--max-body-bytes", "0"], "argument --max-body-bytes: 0 bytes: give a positive number"),
        (["--max-body-bytes", "-5"], "argument --max-body-bytes: -5 bytes"),
        (["--body-budget-bytes", "0"], "argument --body-budget-bytes: 0 bytes"),
    ],
)
def test_serve_refuses_impossible_values(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "honeyhive", "serve", "--db", str(tmp_path / "t.db"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize("value", ["70000", "http"])
def test_an_impossible_port_variable_is_an_error(tmp_path: Path, value: str) -> None:
    env = clean_env(HH_COLLECTOR_PORT=value)
    message = f"HH_COLLECTOR_PORT='{value}' is not a port: use 1 to 65535, or 0 for any free port"
    serve = subprocess.run(
        [sys.executable, "-m", "honeyhive", "serve", "--db", str(tmp_path / "t.db")],
        capture_output=True,
        text=True,
        timeout=30,  # it used to start on 8318 and serve
        env=env,
    )
    assert serve.returncode == 2
    assert message in serve.stderr
    assert not (tmp_path / "t.db").exists()
    traces = subprocess.run(
        [sys.executable, "-m", "honeyhive", "traces"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=tmp_path,  # no database here: it would look for a collector on the port
    )
    assert traces.returncode == 1
    assert message in traces.stderr
    assert "8318" not in traces.stderr


def test_the_library_refuses_impossible_values(tmp_path: Path) -> None:
    from honeyhive.collector import serve

    with pytest.raises(ValueError, match="port must be a number from 0 to 65535"):
        start(port=70000, db_path=tmp_path / "t.db")
    with pytest.raises(ValueError, match="port must be a number from 0 to 65535"):
        serve(port=-1, db_path=tmp_path / "t.db")
    with pytest.raises(ValueError, match="max_body_bytes must be a positive number of bytes"):
        create_app(tmp_path / "t.db", max_body_bytes=0)
    with pytest.raises(ValueError, match="body budget must be a positive number of bytes"):
        create_app(tmp_path / "t.db", body_budget_bytes=0)
