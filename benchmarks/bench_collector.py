"""The local collector (``honeyhive serve``): sustained OTLP ingest, and the viewer's render time.

Ingest: the same load -- pre-encoded OTLP protobuf batches, sent over 4 keep-alive connections
by a separate load process -- goes to four servers, each in its own process:

* ``sink`` (baseline): a raw asyncio HTTP/1.1 server that parses each body with
  ``ExportTraceServiceRequest.FromString`` to count the spans, and answers 200;
* ``asgi_sink``: the collector's stack (uvicorn + Starlette) doing only that: parse and count;
* ``collector``: ``honeyhive serve`` storing into SQLite (a fresh database per benchmark run,
  growing over the rounds);
* ``collector_bare``: the same collector with the LLM normalisation (``span_facts``) and the
  full-text index switched off, in the benchmark's own process (``--bare-collector``): what
  ingest cost before them. The ratio collector / collector_bare is what they cost.

The table shows time per span (the inverse of spans/s) and the ratio to the sink, per round,
contenders interleaved; the notes show spans/s. After the rounds the collector's database must
hold exactly the spans sent, and the sinks must have counted them all.

Render: a 10,000-span session (100 traces, up to 6 levels deep, 11 attributes a span, 1% errors)
is stored in the collector, and headless Chromium, driven over the DevTools protocol in real
time, opens it in the viewer repeatedly. The page measures with ``performance.now()`` from
before its fetch of the session to after its first layout, and writes the figures into the DOM
(``#render-stats``). Target: **fetch + render <= 1000 ms** (median).

Run alone: ``.venv/bin/python benchmarks/run.py collector`` (``--quick`` for a smoke run).
Helper modes (used by ``run()``): ``--sink``, ``--asgi-sink``, ``--bare-collector DB``, ``--load``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _harness import Report, Row, quantile  # noqa: E402

TRACE_PATHS = ("/opentelemetry/v1/traces", "/v1/traces")
BATCH = 512  # the SDK's default export batch
CONNECTIONS = 4
RENDER_TARGET_MS = 1000.0
# Normalisation and search indexing may cost at most 30% of the ingest rate without them: the
# collector's time per span at most 1 / 0.7 times the bare collector's.
NORMALISE_TARGET = 1 / 0.7


# -- load: pre-encoded OTLP protobuf ----------------------------------------------------------


def _span_batches(count: int, size: int, seed: int) -> list[bytes]:
    """``count`` requests of ``size`` spans each, every span id new, like the SDK's spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    rng = random.Random(seed)
    sessions = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(8)]
    now = time.time_ns()
    batches = []
    for number in range(count):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(
            key="service.name", value=AnyValue(string_value="bench")
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "honeyhive"
        scope_spans.scope.version = "0.1.0"
        trace_id = os.urandom(16)
        parent = b""
        for index in range(size):
            if index % 16 == 0:
                trace_id, parent = os.urandom(16), b""
            span = scope_spans.spans.add()
            span.trace_id = trace_id
            span.span_id = os.urandom(8)
            span.parent_span_id = parent
            parent = parent or span.span_id
            span.name = "call_model" if index % 3 else "search_docs"
            span.kind = 1
            span.start_time_unix_nano = now + (number * size + index) * 1000  # time goes on
            span.end_time_unix_nano = span.start_time_unix_nano + 250_000
            if index % 100 == 7:
                span.status.code = 2
                span.status.message = "TimeoutError: the tool timed out"
            session = sessions[index % len(sessions)]
            pairs: list[tuple[str, Any]] = [
                ("honeyhive.session_id", session),
                ("traceloop.association.properties.session_id", session),
                ("honeyhive.source", "bench"),
                ("traceloop.association.properties.source", "bench"),
                ("honeyhive.project", "bench"),
                ("honeyhive.session_name", "bench-session"),
                ("honeyhive.tracer_version", "0.1.0"),
                ("honeyhive_event_type", "model" if index % 3 else "tool"),
                ("honeyhive_inputs.query", "how do I trace a FastAPI app?"),
                ("honeyhive_outputs.result", "Use the middleware and set HH_API_URL."),
                ("llm.token_count.prompt", 123),
            ]
            for key, value in pairs:
                if isinstance(value, int):
                    span.attributes.append(KeyValue(key=key, value=AnyValue(int_value=value)))
                else:
                    span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        batches.append(request.SerializeToString())
    return batches


def _send_all(url: str, path: str, batches: list[bytes]) -> dict[str, Any]:
    """POST every batch over ``CONNECTIONS`` keep-alive connections; times the whole."""
    host, port = url.split("//", 1)[1].split(":")
    next_index = itertools.count()
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        headers = {"Content-Type": "application/x-protobuf"}
        while True:
            with lock:
                index = next(next_index)
            if index >= len(batches):
                break
            connection.request("POST", path, body=batches[index], headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"{response.status}")
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "failures": failures, "requests": len(batches)}


def load_main() -> None:
    """``--load``: read ``URL BATCHES SEED`` lines on stdin, answer one JSON line each."""
    for line in sys.stdin:
        url, count, seed = line.split()
        batches = _span_batches(int(count), BATCH, int(seed))
        result = _send_all(url, TRACE_PATHS[0], batches)
        result["spans"] = int(count) * BATCH
        print(json.dumps(result), flush=True)


# -- sinks ----------------------------------------------------------------------------------


def _count_spans(body: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(body)
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def sink_main() -> None:
    """``--sink``: a raw asyncio HTTP/1.1 server that counts spans."""
    stats = {"spans": 0, "requests": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for header in lines[1:]:
                    name, _, value = header.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                answer = b""
                kind = b"application/x-protobuf"
                if method == "POST" and path in TRACE_PATHS:
                    stats["spans"] += _count_spans(body)
                    stats["requests"] += 1
                else:
                    answer, kind = json.dumps(stats).encode(), b"application/json"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: "
                    + kind
                    + b"\r\nContent-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print(f"listening on http://127.0.0.1:{port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin

    asyncio.run(main())


def asgi_sink_main() -> None:
    """``--asgi-sink``: uvicorn + Starlette, parsing and counting only."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from honeyhive._collector import server

    stats = {"spans": 0, "requests": 0}

    async def traces(request: Request) -> Response:
        body = await request.body()  # before the +=, which would race across the await
        stats["spans"] += _count_spans(body)
        stats["requests"] += 1
        return Response(b"", media_type="application/x-protobuf")

    async def read_stats(request: Request) -> Response:
        del request
        return JSONResponse(stats)

    app = Starlette(
        routes=[
            *(Route(path, traces, methods=["POST"]) for path in TRACE_PATHS),
            Route("/__stats", read_stats),
        ]
    )
    sock = server.bind(0)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.run(app, sock)


def bare_collector_main(db: str) -> None:
    """``--bare-collector DB``: ``honeyhive serve --port 0 --db DB`` with the LLM normalisation
    and the search index switched off (the benchmark's batches are parsed in the ingest thread,
    below the size the parser process takes, so the switches hold for every batch)."""
    from honeyhive._cli import main as cli_main
    from honeyhive._collector import otlp_json, otlp_protobuf
    from honeyhive._collector import store as store_module
    from honeyhive._collector.normalize import SpanFacts

    nothing = SpanFacts(None, None, None, None, None, "", "")
    for decoder in (otlp_protobuf, otlp_json):
        decoder.span_facts = lambda attributes: nothing  # type: ignore[attr-defined]
    store_module.INSERT_TEXT = (  # type: ignore[attr-defined]
        "INSERT INTO span_text (rowid, name, input, output) SELECT ?, ?, ?, ? WHERE 0"
    )  # inserts nothing
    sys.exit(cli_main(["serve", "--port", "0", "--db", db]))


# -- orchestration ------------------------------------------------------------------------------


class _Process:
    """A helper process that prints ``... listening on URL`` first."""

    def __init__(self, args: list[str], env: Optional[dict[str, str]] = None) -> None:
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on " not in line:
            self.stop()
            raise RuntimeError(f"{args[1:]} did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _get_json(url: str) -> Any:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return json.loads(body)


def _ingest(
    quick: bool, notes: list[str], checks: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    rounds, batches = (2, 20) if quick else (5, 80)
    me = [sys.executable, str(Path(__file__).resolve())]
    work = tempfile.mkdtemp(prefix="hh-bench-collector-")
    db = os.path.join(work, "traces.db")
    servers: dict[str, _Process] = {}
    samples: dict[str, list[float]] = {
        "sink": [],
        "asgi_sink": [],
        "collector": [],
        "collector_bare": [],
    }
    load = subprocess.Popen(
        [*me, "--load"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        servers["sink"] = _Process([*me, "--sink"])
        servers["asgi_sink"] = _Process([*me, "--asgi-sink"])
        servers["collector"] = _Process(
            [sys.executable, "-m", "honeyhive", "serve", "--port", "0", "--db", db]
        )
        servers["collector_bare"] = _Process(
            [*me, "--bare-collector", os.path.join(work, "bare.db")]
        )
        assert load.stdin is not None
        assert load.stdout is not None
        order = list(samples)
        sent = dict.fromkeys(samples, 0)
        for round_number in range(rounds + 1):  # round 0 warms up
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                seed = round_number * 10 + order.index(name)
                load.stdin.write(f"{servers[name].url} {batches} {seed}\n")
                load.stdin.flush()
                result = json.loads(load.stdout.readline())
                if result["failures"]:
                    raise RuntimeError(f"{name}: {len(result['failures'])} failed requests")
                sent[name] += result["spans"]
                if round_number:
                    samples[name].append(result["seconds"] / result["spans"])
        stored = _get_json(servers["collector"].url + "/api/stats")["spans"]
        checks["collector_stored_all"] = stored == sent["collector"]
        bare = _get_json(servers["collector_bare"].url + "/api/stats")["spans"]
        checks["collector_bare_stored_all"] = bare == sent["collector_bare"]
        for name in ("sink", "asgi_sink"):
            counted = _get_json(servers[name].url + "/__stats")["spans"]
            checks[f"{name}_counted_all"] = counted == sent[name]
        notes.append(
            f"ingest: {rounds} rounds x {batches} requests x {BATCH} spans (11 attributes each), "
            f"{CONNECTIONS} connections; collector stored {stored:,} of {sent['collector']:,} "
            "spans sent"
        )
        db_size = sum(
            os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if "traces.db" in f
        )
        bare_size = sum(
            os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if "bare.db" in f
        )
        notes.append(
            f"ingest: database size {db_size / 1e6:.1f} MB ({db_size / stored:.0f} B/span; "
            f"{bare_size / bare:.0f} B/span without the search index)"
        )
    finally:
        if load.stdin:
            load.stdin.close()
        load.wait(timeout=30)
        for process in servers.values():
            process.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        Row(
            "collector",
            "ingest: sink (raw asyncio, count only)",
            statistics.median(samples["sink"]) * 1e6,
            status="baseline",
        ),
    ]
    for name, label in (
        ("asgi_sink", "ingest: uvicorn+Starlette, count only"),
        ("collector_bare", "ingest: honeyhive serve, normalisation and index off"),
        ("collector", "ingest: honeyhive serve (SQLite)"),
    ):
        ratios = [a / b for a, b in zip(samples[name], samples["sink"])]
        rows.append(
            Row(
                "collector",
                label,
                statistics.median(samples[name]) * 1e6,
                baseline="sink",
                ratio=statistics.median(ratios),
                ratio_iqr=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
                status="info",
            )
        )
    costs = [a / b for a, b in zip(samples["collector"], samples["collector_bare"])]
    cost = statistics.median(costs)
    rows.append(
        Row(
            "collector",
            "ingest: normalisation + search index (vs the same collector without them)",
            statistics.median(samples["collector"]) * 1e6,
            baseline="collector_bare",
            ratio=cost,
            ratio_iqr=(quantile(costs, 0.25), quantile(costs, 0.75)),
            target=NORMALISE_TARGET,
            status="PASS" if cost <= NORMALISE_TARGET else "MISS",
        )
    )
    notes.append(
        f"ingest: normalisation + search index take the rate to {1 / cost:.2f}x of the bare "
        f"collector's (a cost of {1 - 1 / cost:.0%} of its rate; budget 30%)"
    )
    for name in samples:
        rates = [1 / s for s in samples[name]]
        notes.append(
            f"ingest: {name}: {statistics.median(rates):,.0f} spans/s "
            f"(rounds: {', '.join(f'{r:,.0f}' for r in rates)})"
        )
    return rows, {name: list(values) for name, values in samples.items()}


def _render_session(collector_url: str, spans: int = 10_000) -> str:
    """Store one session of ``spans`` spans (100 traces, up to 6 levels deep); its id."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    rng = random.Random(7)
    session_id = str(uuid.uuid4())
    start = time.time_ns() - 600 * 10**9
    per_trace = spans // 100
    names = ["GET /chat", "answer", "search_docs", "call_model", "rerank", "format_reply"]
    host, port = collector_url.split("//", 1)[1].split(":")
    for trace_number in range(100):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(
            key="service.name", value=AnyValue(string_value="render-bench")
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "honeyhive"
        trace_id = os.urandom(16)
        trace_start = start + trace_number * 5 * 10**9
        nodes: list[tuple[bytes, int, int, int]] = []  # id, depth, start, end
        for index in range(per_trace):
            span = scope_spans.spans.add()
            span.trace_id, span.span_id = trace_id, os.urandom(8)
            if nodes:
                candidates = [n for n in nodes[-12:] if n[1] < 5] or nodes[:1]
                parent = rng.choice(candidates)
                span.parent_span_id = parent[0]
                begin = rng.randrange(parent[2], max(parent[2] + 1, parent[3] - 1000))
                finish = (
                    rng.randrange(begin + 1000, parent[3] + 1)
                    if parent[3] > begin + 1000
                    else parent[3]
                )
                depth = parent[1] + 1
            else:
                begin, finish, depth = trace_start, trace_start + 4 * 10**9, 0
            nodes.append((span.span_id, depth, begin, finish))
            span.name = rng.choice(names) if index else "GET /chat"
            span.kind = 2 if index == 0 else 1
            span.start_time_unix_nano, span.end_time_unix_nano = begin, finish
            if rng.random() < 0.01:
                span.status.code = 2
                span.status.message = "TimeoutError: the tool timed out"
            for key, value in (
                ("honeyhive.session_id", session_id),
                ("honeyhive.session_name", "ten-thousand-spans"),
                ("honeyhive.project", "render-bench"),
                ("honeyhive.source", "bench"),
                ("honeyhive_event_type", rng.choice(["model", "tool", "chain"])),
                ("honeyhive_inputs.query", "how do I trace a FastAPI app? " * 3),
                ("honeyhive_outputs.result", "Use the middleware and set HH_API_URL. " * 6),
                ("honeyhive_metadata.user", "u-123"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("llm.token_count.prompt", str(rng.randrange(10, 2000))),
                ("cached", "false"),
            ):
                span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request(
            "POST",
            TRACE_PATHS[0],
            body=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"storing the render session failed: {response.status}")
    return session_id


_STATS_JS = (
    "(() => { const e = document.getElementById('render-stats');"
    " return e && e.dataset.totalMs ? JSON.stringify(e.dataset) : ''; })()"
)


def _render(
    quick: bool, notes: list[str], checks: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.browser import BrowserError, DevTools, chromium_path

    if chromium_path() is None:
        row = Row(
            "collector",
            "render 10,000 spans (fetch + render)",
            None,
            status="skipped",
            note="chromium is not installed (apt-get install chromium)",
        )
        return [row], {}
    rounds = 3 if quick else 9
    work = tempfile.mkdtemp(prefix="hh-bench-render-")
    collector = _Process(
        [
            sys.executable,
            "-m",
            "honeyhive",
            "serve",
            "--port",
            "0",
            "--db",
            os.path.join(work, "r.db"),
        ]
    )
    totals: list[float] = []
    renders: list[float] = []
    fetches: list[float] = []
    try:
        session_id = _render_session(collector.url)
        with DevTools(timeout=60) as browser:
            for index in range(rounds + 1):  # the first load warms the caches up
                browser.navigate(f"{collector.url}/?session={session_id}&round={index}")
                stats = json.loads(browser.wait_for(_STATS_JS, timeout=60))
                checks["render_spans"] = int(stats["spans"])
                if index:
                    totals.append(float(stats["totalMs"]))
                    renders.append(float(stats["renderMs"]))
                    fetches.append(float(stats["fetchMs"]))
    except BrowserError as exc:
        row = Row(
            "collector", "render 10,000 spans (fetch + render)", None, status="error", note=str(exc)
        )
        return [row], {}
    finally:
        collector.stop()
        shutil.rmtree(work, ignore_errors=True)
    total = statistics.median(totals)
    notes.append(
        f"render: 10,000-span session in headless Chromium (DevTools, real time), {rounds} loads: "
        f"fetch {statistics.median(fetches):.0f} ms + render {statistics.median(renders):.0f} ms "
        f"(median); totals {', '.join(f'{t:.0f}' for t in totals)} ms"
    )
    rows = [
        Row(
            "collector",
            "render 10,000 spans: fetch + render",
            total,
            target=RENDER_TARGET_MS,
            status="PASS" if total <= RENDER_TARGET_MS else "MISS",
            unit="ms",
        ),
        Row(
            "collector",
            "render 10,000 spans: render only",
            statistics.median(renders),
            status="info",
            unit="ms",
        ),
    ]
    return rows, {"render_total_ms": totals, "render_ms": renders, "fetch_ms": fetches}


# -- memory: large bodies at once ----------------------------------------------------------------


def _large_otlp_json(megabytes: float) -> bytes:
    """An OTLP/JSON export of about ``megabytes`` MB: many spans of 13 short attributes, the
    shape that costs the most memory per byte once parsed."""
    trace = uuid.uuid4().hex
    spans: list[dict[str, Any]] = []
    size = 0
    while size < megabytes * 1e6:
        attributes = [
            {"key": f"honeyhive_inputs.k{j}", "value": {"stringValue": "some text value " * 2}}
            for j in range(12)
        ]
        attributes.append({"key": "honeyhive.session_id", "value": {"stringValue": "s-1"}})
        span = {
            "traceId": trace,
            "spanId": uuid.uuid4().hex[:16],
            "name": f"span-{len(spans)}",
            "kind": 1,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000005000000",
            "attributes": attributes,
        }
        size += len(json.dumps(span)) + 1
        spans.append(span)
    body = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}
    return json.dumps(body).encode()


def _peak_rss(pid: int) -> int:
    """Peak resident memory of ``pid`` plus that of its children (the collector parses big
    bodies in a child process), read before they exit."""
    total = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as children:
            for child in children.read().split():
                total += _peak_rss(int(child))
    return total


def _memory(
    quick: bool, notes: list[str], checks: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    """Peak RSS of ``honeyhive serve`` (a fresh process each) for one large body, then for
    ``at_once`` of them sent together: the body budget and the single ingest worker bound it."""
    if not os.path.exists("/proc/self/status"):
        return [Row("collector", "memory: large bodies at once", None, status="skipped")], {}
    megabytes, at_once = (8.0, 4) if quick else (31.0, 4)
    body = _large_otlp_json(megabytes)
    peaks: dict[int, int] = {}
    statuses: dict[int, list[int]] = {}
    for count in (1, at_once):
        work = tempfile.mkdtemp(prefix="hh-bench-memory-")
        server = _Process(
            [sys.executable, "-m", "honeyhive", "serve", "--port", "0", "--db", f"{work}/m.db"]
        )
        try:
            host, port = server.url.split("//", 1)[1].split(":")
            answers: list[int] = []

            def send(host: str = host, port: str = port, answers: list[int] = answers) -> None:
                connection = http.client.HTTPConnection(host, int(port), timeout=600)
                connection.request(
                    "POST", TRACE_PATHS[0], body=body, headers={"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                response.read()
                answers.append(response.status)
                connection.close()

            threads = [threading.Thread(target=send) for _ in range(count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            peaks[count] = _peak_rss(server.process.pid)
            statuses[count] = sorted(answers)
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)
    checks["memory_answers_200_or_503"] = all(
        status in (200, 503) for answers in statuses.values() for status in answers
    )
    notes.append(
        f"memory: {len(body) / 1e6:.0f} MB OTLP/JSON bodies: 1 alone peaks at "
        f"{peaks[1] / 1e6:.0f} MB, {at_once} at once at {peaks[at_once] / 1e6:.0f} MB "
        f"(answers {statuses[at_once]}; 503s are retried by clients)"
    )
    rows = [
        Row(
            "collector",
            f"memory: peak RSS, {at_once} large bodies at once vs 1",
            peaks[at_once] / 1e6,
            baseline="1 body alone",
            ratio=peaks[at_once] / peaks[1],
            status="info",
            unit="MB",
        )
    ]
    return rows, {"peak_rss_bytes": {str(k): v for k, v in peaks.items()}}


# -- search: latency over 100,000 spans ----------------------------------------------------------

SEARCH_TARGET_MS = 200.0
SEARCH_SPANS = 100_352  # 196 requests of 512


def _search_corpus(count: int, seed: int) -> tuple[list[bytes], list[str]]:
    """OTLP protobuf requests of 512 spans each with varied text: words drawn from a 3,000-word
    vocabulary with a long tail, so that queries have realistic selectivity; 2% errors, three
    event types, five models, durations from 1 ms to 3 s."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "du", "ba", "zo"]
    vocabulary = [
        "".join(rng.choice(syllables) for _ in range(rng.randrange(2, 5))) for _ in range(3000)
    ]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf-like
    names = ["answer", "retrieve_docs", "call_model", "charge_card", "rerank", "format_reply"]
    models = ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku", "acme-large", "gpt-4.1-mini"]
    now = time.time_ns() - 3600 * 10**9
    requests = []
    for number in range(count // BATCH):
        request = ExportTraceServiceRequest()
        scope_spans = request.resource_spans.add().scope_spans.add()
        for index in range(BATCH):
            span = scope_spans.spans.add()
            span.trace_id, span.span_id = os.urandom(16), os.urandom(8)
            span.name = rng.choice(names)
            span.start_time_unix_nano = now + (number * BATCH + index) * 10_000
            span.end_time_unix_nano = span.start_time_unix_nano + int(rng.expovariate(1 / 2e8))
            if rng.random() < 0.02:
                span.status.code = 2
                span.status.message = "TimeoutError: the tool timed out"
            kind = rng.choice(["model", "tool", "chain"])
            pairs: list[tuple[str, Any]] = [
                ("honeyhive.session_id", f"session-{number}"),
                ("honeyhive_event_type", kind),
                ("honeyhive_inputs.query", " ".join(rng.choices(vocabulary, weights, k=12))),
                ("honeyhive_outputs.result", " ".join(rng.choices(vocabulary, weights, k=30))),
            ]
            if kind == "model":
                pairs += [
                    ("gen_ai.request.model", rng.choice(models)),
                    ("llm.token_count.prompt", 100),
                ]
            for key, value in pairs:
                if isinstance(value, int):
                    span.attributes.append(KeyValue(key=key, value=AnyValue(int_value=value)))
                else:
                    span.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
        requests.append(request.SerializeToString())
    return requests, vocabulary


def _search_latency(
    quick: bool, notes: list[str], checks: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    """Store 100,000 spans in ``honeyhive serve``, then time ``GET /api/search`` for typical
    queries (each several times, over HTTP, as the viewer asks): the p95 of all of them."""
    spans = 20_480 if quick else SEARCH_SPANS
    repeats = 5 if quick else 20
    requests, vocabulary = _search_corpus(spans, 11)
    spans = len(requests) * BATCH
    work = tempfile.mkdtemp(prefix="hh-bench-search-")
    server = _Process(
        [sys.executable, "-m", "honeyhive", "serve", "--port", "0", "--db", f"{work}/s.db"]
    )
    host, port = server.url.split("//", 1)[1].split(":")
    samples: dict[str, list[float]] = {}
    try:
        result = _send_all(server.url, TRACE_PATHS[0], requests)
        if result["failures"]:
            raise RuntimeError(f"storing the search corpus failed: {result['failures'][:3]}")
        common, rare = vocabulary[0], vocabulary[2500]
        queries = {
            "a common word": {"q": common},
            "a rare word": {"q": rare},
            "two words": {"q": f"{vocabulary[3]} {vocabulary[40]}"},
            "a prefix": {"q": vocabulary[7][:3]},
            "a span name": {"q": "charge_card"},
            "errors only": {"errors": "1"},
            "type and duration": {"type": "model", "min_ms": "900"},
            "word and filters": {"q": vocabulary[5], "errors": "1", "type": "tool"},
            "model": {"model": "claude-3-5-haiku"},
            "no match": {"q": "qqqzzzxxx"},
        }
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        hits: dict[str, int] = {}
        for _ in range(repeats):
            for label, params in queries.items():
                path = "/api/search?" + urllib.parse.urlencode({**params, "limit": 50})
                started = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                samples.setdefault(label, []).append((time.perf_counter() - started) * 1e3)
                hits[label] = len(json.loads(body)["matches"])
        connection.close()
        stored = _get_json(server.url + "/api/stats")["spans"]
        checks["search_corpus_stored"] = stored == spans
        checks["search_found_matches"] = hits["a common word"] == 50 and hits["no match"] == 0
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    every = [value for values in samples.values() for value in values]
    p95 = quantile(every, 0.95)
    notes.append(
        f"search: {spans:,} spans, {len(queries)} queries x {repeats}: p50 "
        f"{quantile(every, 0.5):.1f} ms, p95 {p95:.1f} ms; slowest query by median: "
        + ", ".join(
            f"{label} {statistics.median(values):.1f} ms"
            for label, values in sorted(samples.items(), key=lambda i: -statistics.median(i[1]))[:3]
        )
    )
    row = Row(
        "collector",
        f"search p95 over {spans:,} spans (GET /api/search)",
        p95,
        target=SEARCH_TARGET_MS,
        status="PASS" if p95 <= SEARCH_TARGET_MS else "MISS",
        unit="ms",
    )
    return [row], {"search_ms": samples}


def run(quick: bool = False) -> Report:
    notes: list[str] = []
    checks: dict[str, Any] = {}
    ingest_rows, ingest_samples = _ingest(quick, notes, checks)
    memory_rows, memory_samples = _memory(quick, notes, checks)
    search_rows, search_samples = _search_latency(quick, notes, checks)
    render_rows, render_samples = _render(quick, notes, checks)
    failed = [name for name, ok in checks.items() if ok is False]
    notes.append("checks: " + ("all passed" if not failed else f"FAILED {', '.join(failed)}"))
    return Report(
        "collector",
        ingest_rows + memory_rows + search_rows + render_rows,
        notes=notes,
        checks=checks,
        settings={"batch": BATCH, "connections": CONNECTIONS, "quick": quick},
        samples={**ingest_samples, **memory_samples, **search_samples, **render_samples},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--asgi-sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-collector", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.sink:
        sink_main()
    elif args.asgi_sink:
        asgi_sink_main()
    elif args.bare_collector:
        bare_collector_main(args.bare_collector)
    elif args.load:
        load_main()
    else:
        report = run(quick=args.quick)
        for row in report.rows:
            print(row)
        for note in report.notes:
            print(note)


if __name__ == "__main__":
    main()
