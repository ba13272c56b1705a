"""honeyhive-fastapi under a real uvicorn on loopback, spans checked at the local collector."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_ws import connect_ws

from support.collector import Collector
from support.ports import free_port

TESTS = Path(__file__).resolve().parent


class Server:
    def __init__(self, collector: Collector, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("HH_", "OTEL_"))}
        environ.update(
            HH_API_URL=collector.url,
            HH_API_KEY="test-key",
            PYTHONPATH=os.pathsep.join([str(TESTS), environ.get("PYTHONPATH", "")]),
            **env,
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "apps.fastapi_app:app",
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--log-level",
                "warning",
                "--lifespan",
                "on",
            ],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/items/0", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"uvicorn did not start:\n{self.output}")

    output = ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=5)
        self.output = out.decode(errors="replace") if out else ""


@pytest.fixture
def server_factory(collector: Collector) -> Iterator[object]:
    started: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(collector, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _server_spans(collector: Collector, name: str, n: int = 1) -> list:  # type: ignore[type-arg]
    collector.wait_for(lambda c: len(c.spans_named(name)) >= n, timeout=10)
    return collector.spans_named(name)


def test_requests_streaming_errors_websockets_and_background_tasks(
    server_factory, collector: Collector
) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert client.get("/items/7").status_code == 200
        assert client.get("/api/v1/users/u1").status_code == 200
        assert client.get("/sub/things/t1").status_code == 200
        assert client.get("/star/things/s1").text == "s1"
        assert client.get("/stream?n=3").text == "0\n1\n2\n"
        assert client.post("/signup").status_code == 200
        assert client.get("/nowhere").status_code == 404
        with connect_ws(server.url + "/ws/lobby", client) as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "lobby:hi"
    with httpx.Client(base_url=server.url, timeout=5) as client:
        boom = client.get("/boom")  # uvicorn closes the connection after an exception
        assert boom.status_code == 500
        assert boom.text == "sorry"  # the user's handler answered
    server.stop()  # SIGTERM: lifespan shutdown flushes
    (item,) = [
        s
        for s in _server_spans(collector, "GET /items/{item_id}", 2)
        if s.attributes["url.path"] == "/items/7"
    ]
    assert item.kind == "SERVER"
    assert item.attributes["http.route"] == "/items/{item_id}"
    assert item.attributes["url.path"] == "/items/7"
    assert item.attributes["server.port"] == server.port
    lookups = _server_spans(collector, "lookup", 2)
    assert [lk.trace_id for lk in lookups if lk.parent_span_id == item.span_id] == [item.trace_id]
    user = _server_spans(collector, "GET /api/v1/users/{user_id}")[0]
    assert user.attributes["app.user"] == "u1"
    assert _server_spans(collector, "GET /sub/things/{thing}")
    star = _server_spans(collector, "GET /star/things/{thing_id}")[0]  # not /star/{path}
    assert star.attributes["http.route"] == "/star/things/{thing_id}"
    stream = _server_spans(collector, "GET /stream")[0]
    chunks = _server_spans(collector, "chunk", 3)
    assert {c.parent_span_id for c in chunks} == {stream.span_id}
    boom_span = _server_spans(collector, "GET /boom")[0]
    assert boom_span.status_code == "ERROR"
    assert boom_span.attributes["http.response.status_code"] == 500
    assert boom_span.attributes["app.handled"] == "RuntimeError"  # handler ran with it current
    assert len([e for e in boom_span.events if e.name == "exception"]) == 1
    signup = _server_spans(collector, "POST /signup")[0]
    task = _server_spans(collector, "send_email")[0]
    assert task.parent_span_id == signup.span_id
    assert _server_spans(collector, "smtp")[0].parent_span_id == task.span_id
    assert _server_spans(collector, "GET")[0].attributes["http.response.status_code"] == 404
    ws_span = _server_spans(collector, "WS /ws/{room}")[0]
    assert ws_span.kind == "SERVER"
    assert ws_span.status_code != "ERROR"
    servers = [s for s in collector.spans if s.kind == "SERVER"]
    assert len(servers) == 10  # one per request, the websocket and the readiness probe


def test_client_disconnect_mid_stream_is_an_error(server_factory, collector: Collector) -> None:
    server = server_factory()
    with (
        httpx.Client(base_url=server.url, timeout=5) as client,
        client.stream("GET", "/stream", params={"n": 50, "delay": 0.05}) as response,
    ):
        next(response.iter_raw())  # the first chunk, then hang up
    span = _server_spans(collector, "GET /stream")[0]
    assert span.status_code == "ERROR"
    assert span.attributes["http.route"] == "/stream"


def test_concurrent_requests_do_not_share_context(server_factory, collector: Collector) -> None:
    server = server_factory()

    def get(i: int) -> int:
        return httpx.get(f"{server.url}/items/{i}", timeout=5).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(get, range(1, 41))) == {200}
    collector.wait_for(
        lambda c: (
            len(
                [
                    s
                    for s in c.spans_named("GET /items/{item_id}")
                    if s.attributes["url.path"] != "/items/0"
                ]
            )
            >= 40
        ),
        timeout=10,
    )
    requests = [
        s
        for s in collector.spans_named("GET /items/{item_id}")
        if s.attributes["url.path"] != "/items/0"
    ]
    assert len(requests) == 40, [s.attributes["url.path"] for s in requests]
    lookups = _server_spans(collector, "lookup", 41)
    assert len({s.trace_id for s in requests}) == 40  # forty traces, none nested in another
    assert all(s.parent_span_id is None for s in requests)
    by_span = {s.span_id: s for s in requests}
    children = [lk for lk in lookups if lk.parent_span_id in by_span]
    assert len(children) == 40
    assert all(lk.trace_id == by_span[lk.parent_span_id].trace_id for lk in children)
    sessions = {
        s.attributes.get("honeyhive.session_id") or s.attributes.get("session_id") for s in requests
    }
    assert len(sessions) == 40 or sessions == {None}


@pytest.mark.parametrize("switch", ["FASTAPI_NATIVE", "FASTAPI_CONTRIB", "FASTAPI_SENTRY"])
def test_exactly_one_server_span_with_other_telemetry_on(
    server_factory, collector: Collector, switch: str
) -> None:
    server = server_factory(**{switch: "1"})
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert client.get("/items/3").status_code == 200
        assert client.get("/sub/things/x").status_code == 200
        assert client.get("/boom").status_code == 500
    server.stop()
    item = _server_spans(collector, "GET /items/{item_id}", 2)
    lookups = _server_spans(collector, "lookup", 2)
    # Same trace; with native telemetry on, the parent is FastAPI's endpoint span (its provider).
    assert {lk.trace_id for lk in lookups} <= {s.trace_id for s in item}
    assert len(_server_spans(collector, "GET /sub/things/{thing}")) == 1
    assert _server_spans(collector, "GET /boom")[0].attributes["http.response.status_code"] == 500
    servers = [s for s in collector.spans if s.kind == "SERVER"]
    assert len(servers) == 4, collector.span_tree()
