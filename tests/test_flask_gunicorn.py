"""honeyhive-flask under real gunicorn on loopback, spans checked at the local collector."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.collector import Collector
from support.ports import free_port

TESTS = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
WARMUP = "/warmup"


class Server:
    def __init__(self, collector: Collector, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
        env.update(
            HH_API_URL=collector.url,
            HH_API_KEY="test-key",
            PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
        )
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  # a pipe nobody reads would block the server
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
                *args,
                "apps.flask_app:app",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + WARMUP, timeout=1)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"gunicorn did not start: {self.log.read()!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def serve(collector: Collector) -> Iterator[Any]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        server = Server(collector, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _requests(spans: list[Any]) -> list[Any]:
    """Spans other than the server's start-up probes."""
    return [s for s in spans if s.attributes.get("url.path") != WARMUP]


@pytest.mark.parametrize("args", [(), ("--threads", "4"), ("--preload", "-w", "2")])
def test_short_circuits_exceptions_and_streams(
    serve: Any, collector: Collector, args: tuple[str, ...]
) -> None:
    server = serve(*args)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/items/1", headers={"x-deny": "1"}).status_code == 403
        assert client.get("/nope").status_code == 404
        assert client.get("/boom").status_code == 500
        response = client.get("/stream", params={"n": 3, "tag": "s"})
        assert response.status_code == 200
        assert response.text.count("s:2") == 64
    server.stop()
    collector.wait_for_spans(4 + 3 + 1, timeout=10)  # the warm-up request too
    spans = _requests(collector.spans)
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    assert [s.attributes["http.response.status_code"] for s in by_name["GET"]] == [404]
    deny = [
        s
        for s in by_name["GET /items/{item_id}"]
        if s.attributes.get("http.response.status_code") == 403
    ]
    assert len(deny) == 1
    (boom,) = by_name["GET /boom"]
    assert boom.status_code == "ERROR"
    assert len([e for e in boom.events if e.name == "exception"]) == 1
    (stream,) = by_name["GET /stream"]
    chunks = [s for s in spans if s.name.startswith("chunk-")]
    assert len(chunks) == 3
    assert all(c.parent_span_id == stream.span_id for c in chunks)
    assert stream.status_code != "ERROR"
    assert stream.attributes["url.path"] == "/stream"
    assert stream.attributes["server.port"] == server.port


def test_a_client_that_disconnects_mid_stream(serve: Any, collector: Collector) -> None:
    server = serve("--threads", "2")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /stream?n=200&delay=0.01&tag=d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    # the worker notices on a later write; then the same thread serves more requests cleanly
    time.sleep(1.0)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for i in range(5):
            assert client.get(f"/items/{i}", headers={"x-tag": f"after-{i}"}).status_code == 200
    server.stop()
    collector.wait_for_spans(1, timeout=10)
    streams = collector.spans_named("GET /stream")
    assert len(streams) == 1
    assert streams[0].status_code == "ERROR"
    assert streams[0].attributes["error.type"] == "incomplete_response"
    for span in collector.spans_named("GET /items/{item_id}"):
        assert span.parent_span_id is None  # no context left on the worker thread
        assert span.trace_id != streams[0].trace_id


def test_a_thousand_mixed_requests_on_a_threaded_server_do_not_leak_context(
    serve: Any, collector: Collector
) -> None:
    server = serve("--threads", "4", "-w", "2")
    paths = ["/items/{i}", "/items/{i}?sleep=0.001", "/nope/{i}", "/boom", "/stream?n=2&tag={i}"]

    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    with httpx.Client(base_url=server.url, timeout=20, limits=limits) as client:

        def one(i: int) -> int:
            path = paths[i % len(paths)].format(i=i)
            return client.get(path, headers={"x-tag": str(i)}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(1000)))
    assert statuses.count(500) == 200
    server.stop()
    collector.wait_for_spans(1400, timeout=20)
    spans = _requests(collector.spans)
    servers = [s for s in spans if s.kind == "SERVER"]
    assert len(servers) == 1000
    by_id = {s.span_id: s for s in servers}
    sessions = [_session(s) for s in servers]
    assert len(set(sessions)) == len(servers)  # a session per request
    for span in servers:
        assert span.parent_span_id is None  # no request became the child of another
    works = [s for s in spans if s.name == "work"]
    assert len(works) == 400
    for work in works:
        parent = by_id[work.parent_span_id]
        assert parent.attributes.get("tag") == work.attributes["tag"]
        assert parent.trace_id == work.trace_id


def _session(span: Any) -> str:
    for key in ("session_id", "honeyhive.session_id", "honeyhive_session_id"):
        if key in span.attributes:
            return str(span.attributes[key])
    raise AssertionError(f"no session id on {span.name}: {sorted(span.attributes)}")
