"""Delivery under load: honeyhive against OpenTelemetry's own OTLP/HTTP exporter, end to end.

Every process here is separate, so no two of them share a GIL:

* the **sink** (``bench_delivery.py --sink``): a raw asyncio HTTP/1.1 server on 127.0.0.1 that
  takes POSTs on ``/v1/traces`` (OpenTelemetry) and ``/opentelemetry/v1/traces`` (ours), parses
  each body with ``ExportTraceServiceRequest.FromString`` (protobuf's upb C implementation) only
  to count spans and duplicate span ids, and answers 200 with an empty protobuf body; any other
  path (``/session/start``, ``/events``) gets 200 ``{}``. ``GET /__stats`` reports the counts
  (and the sink's own CPU time), ``POST /__reset`` clears them. The same process also listens on
  a second port that accepts connections, reads whatever arrives and never answers: the **hung**
  backend. The **down** backend is a port bound by the driver and never listened on
  (connections are refused).
* each **contender run** (``bench_delivery.py --contender ...``): a fresh interpreter that
  builds one tracer, creates spans as fast as it can (or paced), flushes, prints one JSON line
  and leaves with ``os._exit`` (no exit-time flush that could wait on a dead backend).

Contenders:

* ``otel``: ``TracerProvider`` + ``BatchSpanProcessor(OTLPSpanExporter(endpoint=SINK/v1/traces),
  max_queue_size=100000)`` (a queue large enough never to drop), flushed with
  ``provider.force_flush()``. The throughput baseline.
* ``otel_default``: the same with ``BatchSpanProcessor``'s defaults (``max_queue_size`` 2048):
  what a 20,000-span burst loses out of the box (informational).
* ``ours``: ``HoneyHiveTracer(server_url=SINK, project="bench")``, every other setting at its
  default, flushed with ``tracer.flush(timeout=60)``.

Three measurements:

1. **Throughput**: each run creates 20,000 spans, each with 10 attributes, then flushes; the
   figure is spans *received by the sink* per second from the first span to the flush
   returning (time per delivered span in the table). Rounds rotate the order of the
   contenders; the ratio is taken round by round. Target: ours >= 1.5x otel's spans/s, i.e.
   time per delivered span ours/otel <= 1/1.5. Each run also reports the CPU time of each of
   its threads (``/proc``): under the GIL that splits the work between the application thread
   and the export threads.
2. **Burst**: the throughput runs are 20,000-span bursts at default settings, so they are also
   the burst check: every one of ours must deliver all 20,000 (sink count, no duplicates),
   ``tracer.dropped`` all zeros and the flush acknowledged. ``otel_default``'s loss is shown.
3. **Application-thread cost with the backend healthy, down or hung**: per-span wall time of
   ``with tracer.trace("op"): pass`` (``perf_counter_ns`` around each span), spans paced in
   chunks, default settings except ``server_url``. p99 down/healthy and hung/healthy, paired
   within a round. Target <= 2 for ours; the same for otel as information. The sink checks
   that each run met its condition (healthy runs delivered, hung runs held a connection).

Run alone: ``.venv/bin/python benchmarks/bench_delivery.py [--quick]``; one contender by hand
(``--profile FILE`` writes a cProfile of its main thread plus a sampled profile of every thread):
``.venv/bin/python benchmarks/bench_delivery.py --solo ours [--profile /tmp/ours.prof]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from _harness import Report, Row, Timings, quantile, ratio_row

NAME = "delivery"
TARGET_THROUGHPUT = 1 / 1.5  # time per delivered span, ours / otel (= ours >= 1.5x spans/s)
TARGET_LATENCY = 2.0  # p99 per span, backend down (or hung) / healthy
OTEL_QUEUE = 100_000
OTEL_PATH = "/v1/traces"
OURS_PATH = "/opentelemetry/v1/traces"

THIS = Path(__file__).resolve()

#: Ten attributes per span (nine shared, one per span), the kind an LLM app records.
ATTRIBUTES: dict[str, Any] = {
    "http.request.method": "POST",
    "url.path": "/v1/chat/completions",
    "http.response.status_code": 200,
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.usage.input_tokens": 412,
    "gen_ai.usage.output_tokens": 128,
    "app.user.id": "user-48213",
}
INDEX_ATTRIBUTE = "app.request.index"


@dataclass(frozen=True)
class Plan:
    spans: int  # per throughput/burst run
    rounds: int  # throughput rounds
    warmup_rounds: int
    latency_spans: int
    latency_rounds: int
    latency_rate: float  # spans per second, paced in chunks
    latency_chunk: int
    latency_warmup: int  # spans before the timed ones (not recorded)


FULL = Plan(20_000, 7, 1, 15_000, 3, 5_000.0, 100, 1_000)
QUICK = Plan(20_000, 2, 0, 10_000, 1, 10_000.0, 100, 1_000)
CONTENDER_TIMEOUT = 90.0  # seconds; a run that takes longer is killed and reported


# =============================================================================================
# The sink: its own process (``--sink``)
# =============================================================================================


def _sink_main(lifetime: float) -> int:
    import asyncio
    import gzip
    import zlib

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    stats: dict[str, Any] = {}
    seen: set[bytes] = set()

    def reset() -> None:
        seen.clear()
        stats.clear()
        stats.update(
            spans=0,
            duplicates=0,
            trace_requests={},
            other_requests={},
            bad_requests=0,
            bytes=0,
            hung_connections=0,
        )

    reset()

    def count_protobuf(body: bytes) -> int:
        request = ExportTraceServiceRequest.FromString(body)
        count = 0
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    count += 1
                    key = span.trace_id + span.span_id
                    if key in seen:
                        stats["duplicates"] += 1
                    else:
                        seen.add(key)
        return count

    def count_json(body: bytes) -> int:
        count = 0
        for resource_spans in json.loads(body).get("resourceSpans", ()):
            for scope_spans in resource_spans.get("scopeSpans", ()):
                for span in scope_spans.get("spans", ()):
                    count += 1
                    key = (span.get("traceId", "") + span.get("spanId", "")).encode()
                    if key in seen:
                        stats["duplicates"] += 1
                    else:
                        seen.add(key)
        return count

    def bump(table: str, path: str) -> None:
        stats[table][path] = stats[table].get(path, 0) + 1

    def handle(method: str, path: str, headers: dict[bytes, bytes], body: bytes) -> bytes:
        if path == "/__stats":
            payload = json.dumps({**stats, "cpu_s": time.process_time()}).encode()
            return _response(200, b"application/json", payload)
        if path == "/__reset":
            reset()
            return _response(200, b"application/json", b"{}")
        if method == "POST" and path.endswith("/v1/traces"):
            encoding = headers.get(b"content-encoding", b"").lower()
            json_body = b"json" in headers.get(b"content-type", b"")
            try:
                if encoding == b"gzip":
                    body = gzip.decompress(body)
                elif encoding == b"deflate":
                    body = zlib.decompress(body)
                stats["spans"] += count_json(body) if json_body else count_protobuf(body)
            except Exception:
                stats["bad_requests"] += 1
                return _response(400, b"text/plain", b"cannot parse the request body")
            stats["bytes"] += len(body)
            bump("trace_requests", path)
            if json_body:
                return _response(200, b"application/json", b"{}")
            return _response(200, b"application/x-protobuf", b"")
        bump("other_requests", f"{method} {path}")
        return _response(200, b"application/json", b"{}")

    async def read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
        length = headers.get(b"content-length")
        if length is not None:
            return await reader.readexactly(int(length))
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            return b""
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, rest = head.partition(b"\r\n")
                method, target = request_line.split(b" ")[:2]
                headers: dict[bytes, bytes] = {}
                for line in rest.split(b"\r\n"):
                    name, sep, value = line.partition(b":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if headers.get(b"expect", b"").lower() == b"100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = await read_body(reader, headers)
                path = target.decode("latin-1").split("?", 1)[0]
                writer.write(handle(method.decode("latin-1"), path, headers, body))
                await writer.drain()
                if headers.get(b"connection", b"").lower() == b"close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        except ValueError:  # a malformed request line or length
            stats["bad_requests"] += 1
        finally:
            writer.close()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats["hung_connections"] += 1
        try:
            while await reader.read(1 << 16):
                pass  # read everything, answer nothing, until the client goes away
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def parent_gone() -> None:  # the driver closes our stdin (or dies): leave
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        threading.Thread(target=parent_gone, daemon=True).start()
        loop.call_later(lifetime, lambda: done.done() or done.set_result(None))
        sink = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=512)
        hung = await asyncio.start_server(hang, "127.0.0.1", 0, backlog=512)
        ports = {
            "sink": sink.sockets[0].getsockname()[1],
            "hung": hung.sockets[0].getsockname()[1],
        }
        print(json.dumps(ports), flush=True)
        await done

    asyncio.run(main())
    return 0


_REASONS = {200: b"OK", 400: b"Bad Request"}


def _response(status: int, content_type: bytes, payload: bytes) -> bytes:
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        _REASONS.get(status, b"OK"),
        content_type,
        len(payload),
        payload,
    )


# =============================================================================================
# A contender run: its own process (``--contender``)
# =============================================================================================


def _build(
    kind: str, url: str
) -> tuple[Callable[[str], Any], Callable[[], bool], Callable[[], Any]]:
    """(start_span, flush, dropped) for one contender pointed at ``url``."""
    if kind == "ours":
        from honeyhive import HoneyHiveTracer

        tracer = HoneyHiveTracer(server_url=url, project="bench")
        return tracer.trace, lambda: tracer.flush(timeout=60), lambda: dict(tracer.dropped)

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(endpoint=url + OTEL_PATH)
    if kind == "otel":
        processor = BatchSpanProcessor(exporter, max_queue_size=OTEL_QUEUE)
    elif kind == "otel_default":
        processor = BatchSpanProcessor(exporter)
    else:
        raise ValueError(f"unknown contender {kind!r}")
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    otel_tracer = provider.get_tracer("bench")
    return otel_tracer.start_as_current_span, lambda: provider.force_flush(60_000), lambda: None


def _thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each live thread, by name (Linux ``/proc``; else empty).

    Under the GIL a thread waiting for it is not on the CPU, so this splits a run's work
    between the application thread and the background threads exactly."""
    try:
        ticks = float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return {}
    found: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # fields 14 and 15: utime, stime
        name = thread.name
        while name in found:
            name += "+"
        found[name] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def _throughput(kind: str, url: str, spans: int, profiler: Optional[_Profiler]) -> dict:
    start_span, flush, dropped = _build(kind, url)
    attributes = dict(ATTRIBUTES)
    if profiler is not None:
        profiler.start()
    threads_before = _thread_cpu()
    cpu = time.process_time()
    start = time.perf_counter()
    for index in range(spans):
        with start_span("op") as span:
            span.set_attributes(attributes)
            span.set_attribute(INDEX_ATTRIBUTE, index)
    created = time.perf_counter()
    flushed = flush()
    end = time.perf_counter()
    cpu = time.process_time() - cpu
    threads = {
        name: round(seconds - threads_before.get(name, 0.0), 3)
        for name, seconds in _thread_cpu().items()
    }
    if profiler is not None:
        profiler.stop()
    return {
        "kind": kind,
        "created": spans,
        "elapsed_s": end - start,
        "loop_s": created - start,
        "flush_s": end - created,
        "flush_ok": bool(flushed),
        "dropped": dropped(),
        "cpu_s": cpu,
        "threads_cpu_s": threads,
    }


def _latency(kind: str, url: str, spans: int, rate: float, chunk: int, warmup: int) -> dict:
    start_span, _, dropped = _build(kind, url)
    for _ in range(warmup):
        with start_span("op"):
            pass
    clock = time.perf_counter_ns
    samples = [0] * spans
    begin = time.perf_counter()
    for first in range(0, spans, chunk):
        for index in range(first, min(spans, first + chunk)):
            t0 = clock()
            with start_span("op"):
                pass
            samples[index] = clock() - t0
        delay = begin + (first + chunk) / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.perf_counter() - begin
    samples.sort()

    def pick(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))] / 1000.0

    return {
        "kind": kind,
        "spans": spans,
        "elapsed_s": elapsed,
        "p50_us": pick(0.50),
        "p90_us": pick(0.90),
        "p99_us": pick(0.99),
        "p999_us": pick(0.999),
        "max_us": samples[-1] / 1000.0,
        "mean_us": sum(samples) / len(samples) / 1000.0,
        "dropped": dropped(),
    }


def _contender_main(args: argparse.Namespace) -> int:
    if args.mode == "throughput":
        profiler = _Profiler(args.profile) if args.profile else None
        result = _throughput(args.contender, args.url, args.spans, profiler)
    else:
        result = _latency(args.contender, args.url, args.spans, args.rate, args.chunk, args.warmup)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no exit-time flush: the backend may be down or hung on purpose


class _Profiler:
    """cProfile of the main thread plus a stack sampler (every 5 ms) over every thread.

    Diagnosis only: both slow the process down, so timings taken under them are inflated. A
    sampled frame is where a thread is, running or waiting for the GIL.
    """

    def __init__(self, path: str) -> None:
        import cProfile

        self.path = path
        self.profile = cProfile.Profile()
        self.samples: dict[str, dict[str, int]] = {}
        self.totals: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.profile.enable()

    def stop(self) -> None:
        self.profile.disable()
        self._stop.set()
        self._thread.join(5)
        self.profile.dump_stats(self.path)
        lines = []
        for thread, total in sorted(self.totals.items(), key=lambda item: -item[1]):
            lines.append(f"== thread {thread}: {total} samples (inclusive, top 25)")
            table = self.samples[thread]
            for where, count in sorted(table.items(), key=lambda item: -item[1])[:25]:
                lines.append(f"{count:7d} {100.0 * count / total:5.1f}%  {where}")
        Path(self.path + ".threads.txt").write_text("\n".join(lines) + "\n")

    def _sample(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(0.005):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                name = names.get(ident, str(ident))
                self.totals[name] = self.totals.get(name, 0) + 1
                table = self.samples.setdefault(name, {})
                seen: set[str] = set()
                current: Any = frame
                while current is not None:
                    code = current.f_code
                    where = f"{Path(code.co_filename).name}:{code.co_name}"
                    if where not in seen:
                        seen.add(where)
                        table[where] = table.get(where, 0) + 1
                    current = current.f_back


# =============================================================================================
# The driver (``run()``, in run.py's process)
# =============================================================================================


def _child_env() -> dict[str, str]:
    """The environment without HH_*/OTEL_* settings or proxies: defaults are defaults."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("HH_", "HONEYHIVE_", "OTEL_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.pop("PYTHONPATH", None)
    return env


class Sink:
    """The sink process: start, stats, reset, stop."""

    def __init__(self, workdir: str) -> None:
        self._stderr = open(os.path.join(workdir, "sink.stderr"), "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(THIS), "--sink"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=workdir,
            env=_child_env(),
        )
        lines: queue.Queue[bytes] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            ports = json.loads(lines.get(timeout=30))
        except (queue.Empty, ValueError):
            self.close()
            raise RuntimeError(f"the sink did not start: {self.stderr()}") from None
        self.port: int = ports["sink"]
        self.hung_port: int = ports["hung"]
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(method, path, body=b"" if method == "POST" else None)
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"sink {method} {path}: HTTP {response.status}")
            result: dict[str, Any] = json.loads(data)
            return result
        finally:
            connection.close()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/__stats")

    def reset(self) -> None:
        self._call("POST", "/__reset")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the sink leaves when its stdin closes
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._stderr.close()


def _refused_port() -> socket.socket:
    """A socket bound to a loopback port and never listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _run_contender(args: Sequence[str], workdir: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, str(THIS), "--contender", *args],
            capture_output=True,
            text=True,
            timeout=CONTENDER_TIMEOUT,
            cwd=workdir,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CONTENDER_TIMEOUT:.0f}s: {' '.join(args)}"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    return {"error": f"exit {done.returncode}: {done.stderr.strip()[-1500:]}"}


def _rotate(items: list[str], round_number: int) -> list[str]:
    shift = round_number % len(items)
    return items[shift:] + items[:shift]


def _throughput_rounds(
    sink: Sink, plan: Plan, workdir: str, log: Callable[[str], None]
) -> dict[str, list[dict[str, Any]]]:
    kinds = ["otel", "ours", "otel_default"]
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for round_number in range(plan.warmup_rounds + plan.rounds):
        for kind in _rotate(kinds, round_number):
            sink.reset()
            before = sink.stats()
            result = _run_contender(
                [kind, "--mode", "throughput", "--url", sink.url, "--spans", str(plan.spans)],
                workdir,
            )
            after = sink.stats()
            result["sink"] = after
            result["sink_cpu_s"] = after["cpu_s"] - before["cpu_s"]
            if round_number >= plan.warmup_rounds:
                runs[kind].append(result)
        if round_number >= plan.warmup_rounds:
            log(f"throughput round {round_number - plan.warmup_rounds + 1}/{plan.rounds}")
    return runs


def _latency_rounds(
    sink: Sink, plan: Plan, workdir: str, log: Callable[[str], None]
) -> dict[str, list[dict[str, Any]]]:
    refused = _refused_port()
    try:
        urls = {
            "healthy": sink.url,
            "down": f"http://127.0.0.1:{refused.getsockname()[1]}",
            "hung": f"http://127.0.0.1:{sink.hung_port}",
        }
        names = [f"{kind}_{cond}" for kind in ("ours", "otel") for cond in urls]
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for round_number in range(plan.latency_rounds):
            for name in _rotate(names, round_number):
                kind, cond = name.split("_", 1)
                sink.reset()
                result = _run_contender(
                    [
                        kind,
                        "--mode",
                        "latency",
                        "--url",
                        urls[cond],
                        "--spans",
                        str(plan.latency_spans),
                        "--rate",
                        str(plan.latency_rate),
                        "--chunk",
                        str(plan.latency_chunk),
                        "--warmup",
                        str(plan.latency_warmup),
                    ],
                    workdir,
                )
                stats = sink.stats()  # did the run reach the backend it was meant to?
                result["sink_spans"] = stats["spans"]
                result["hung_connections"] = stats["hung_connections"]
                runs[name].append(result)
            log(f"latency round {round_number + 1}/{plan.latency_rounds}")
        return runs
    finally:
        refused.close()


def _errors(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [f"{name}: {r['error']}" for name, rs in runs.items() for r in rs if "error" in r]


def measure(plan: Plan, log: Callable[[str], None] = lambda _: None) -> Report:
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as workdir:
        sink = Sink(workdir)
        try:
            throughput = _throughput_rounds(sink, plan, workdir, log)
            latency = _latency_rounds(sink, plan, workdir, log)
        finally:
            sink.close()
    return _report(plan, throughput, latency)


def _report(
    plan: Plan,
    throughput: dict[str, list[dict[str, Any]]],
    latency: dict[str, list[dict[str, Any]]],
) -> Report:
    errors = _errors(throughput) + _errors(latency)
    if errors:
        rows = [Row(NAME, "(contender failed)", None, status="error", note=errors[0])]
        return Report(NAME, rows, [f"error: {e}" for e in errors], {"errors": errors})

    rows: list[Row] = []
    notes: list[str] = []
    checks: dict[str, Any] = {}

    # -- 1. throughput: seconds per delivered span ----------------------------------------
    def per_span(run: dict[str, Any]) -> float:
        return float(run["elapsed_s"]) / max(1, int(run["sink"]["spans"]))

    def rate(run: dict[str, Any]) -> float:
        return int(run["sink"]["spans"]) / float(run["elapsed_s"])

    tp = Timings(
        {kind: [per_span(r) for r in rs] for kind, rs in throughput.items()},
        {kind: [0.0] * len(rs) for kind, rs in throughput.items()},
        plan.rounds,
        plan.spans,
    )

    def complete(run: dict[str, Any], path: str) -> bool:
        sink = run["sink"]
        return bool(
            sink["spans"] == run["created"]
            and sink["duplicates"] == 0
            and sink["bad_requests"] == 0
            and set(sink["trace_requests"]) == {path}
            and run["flush_ok"]
        )

    otel_complete = all(complete(r, OTEL_PATH) for r in throughput["otel"])
    ours_complete = all(
        complete(r, OURS_PATH) and not any(r["dropped"].values()) for r in throughput["ours"]
    )
    base = Row(NAME, "throughput: otel OTLP/HTTP (Batch, queue 100k)", tp.median_us("otel"))
    base.status = "baseline"
    base.extra.update(
        contender_id="otel", spans_per_s=statistics.median(map(rate, throughput["otel"]))
    )
    ours_rate = statistics.median(map(rate, throughput["ours"]))
    otel_rate = base.extra["spans_per_s"]
    speedups = [1.0 / r for r in tp.ratios("ours", "otel")]
    ours_row = ratio_row(
        NAME,
        tp,
        "ours",
        "otel",
        label="throughput: ours (defaults)",
        target=TARGET_THROUGHPUT,
        note="time per span delivered at the sink, first span to flush returned",
    )
    ours_row.extra.update(spans_per_s=ours_rate, speedup=statistics.median(speedups))
    if not ours_complete:
        ours_row.status = "MISS"
        ours_row.note = "spans were lost, duplicated or the flush failed (see checks)"
    rows += [base, ours_row]
    notes.append(
        f"throughput ({plan.rounds} rounds x {plan.spans} spans of 10 attributes, "
        f"+{plan.warmup_rounds} warm-up round, each run a fresh process): ours "
        f"{ours_rate:,.0f} spans/s, otel {otel_rate:,.0f} spans/s; ours/otel spans/s "
        f"{statistics.median(speedups):.2f}x [IQR {quantile(speedups, 0.25):.2f}-"
        f"{quantile(speedups, 0.75):.2f}] (target >= 1.5x)"
    )
    for kind in ("ours", "otel"):
        rs = throughput[kind]
        notes.append(
            f"  {kind}: median loop {statistics.median(r['loop_s'] for r in rs):.2f}s "
            f"+ flush {statistics.median(r['flush_s'] for r in rs):.2f}s, process CPU "
            f"{statistics.median(r['cpu_s'] for r in rs):.2f}s, sink CPU "
            f"{statistics.median(r['sink_cpu_s'] for r in rs):.2f}s, "
            f"{statistics.median(sum(r['sink']['trace_requests'].values()) for r in rs):.0f} "
            f"requests, {statistics.median(r['sink']['bytes'] for r in rs) / 1e6:.1f} MB"
        )
    for kind in ("ours", "otel"):
        rs = throughput[kind]
        names = sorted({name for r in rs for name in r.get("threads_cpu_s", {})})
        if names:
            per_thread = {
                name: statistics.median(
                    r.get("threads_cpu_s", {}).get(name, 0.0) / r["created"] * 1e6 for r in rs
                )
                for name in names
            }
            notes.append(
                f"  {kind}: CPU per span by thread (us, median): "
                + ", ".join(
                    f"{name} {us:.1f}"
                    for name, us in sorted(per_thread.items(), key=lambda item: -item[1])
                )
            )
    notes.append(
        "delivered: "
        + ("all" if otel_complete else "NOT all")
        + f" of otel's spans; {'all' if ours_complete else 'NOT all'} of ours "
        + "(sink count = spans created, no duplicate span id, flush acknowledged"
        + ", tracer.dropped all zeros)"
    )

    # -- 2. burst: the same runs, 20,000 spans at default settings --------------------------
    def lost(run: dict[str, Any]) -> int:
        return int(run["created"]) - int(run["sink"]["spans"])

    ours_lost = [lost(r) for r in throughput["ours"]]
    ours_dropped: dict[str, int] = {}
    for r in throughput["ours"]:
        for reason, count in r["dropped"].items():
            ours_dropped[reason] = ours_dropped.get(reason, 0) + count
    burst_ok = ours_complete and max(ours_lost) == 0 and not any(ours_dropped.values())
    burst = Row(
        NAME,
        f"burst {plan.spans}, defaults: ours lost",
        float(max(ours_lost)),
        ratio=max(ours_lost) / plan.spans,
        target=0.0,
        status="PASS" if burst_ok else "MISS",
        unit="spans",
        note=f"worst of {len(ours_lost)} runs; tracer.dropped summed: {ours_dropped}",
    )
    otel_lost = [lost(r) for r in throughput["otel_default"]]
    otel_burst = Row(
        NAME,
        f"burst {plan.spans}, defaults: otel lost",
        float(statistics.median(otel_lost)),
        ratio=statistics.median(otel_lost) / plan.spans,
        status="info",
        unit="spans",
        note="BatchSpanProcessor defaults (max_queue_size 2048); median of "
        f"{len(otel_lost)} runs, lost = created - received at the sink: {otel_lost}",
    )
    rows += [burst, otel_burst]
    notes.append(
        "burst rows: the throughput runs themselves (20,000 spans at default settings); "
        "median/op = spans lost (created - received at the sink), ratio = lost / created"
    )

    # -- 3. per-span cost on the application thread: healthy, down, hung --------------------
    p99 = Timings(
        {name: [r["p99_us"] / 1e6 for r in rs] for name, rs in latency.items()},
        {name: [0.0] * len(rs) for name, rs in latency.items()},
        plan.latency_rounds,
        plan.latency_spans,
    )
    for kind, target in (("ours", TARGET_LATENCY), ("otel", None)):
        healthy = Row(NAME, f"p99 span, backend healthy: {kind}", p99.median_us(f"{kind}_healthy"))
        healthy.status = "baseline"
        healthy.extra["contender_id"] = f"{kind}_healthy"
        rows.append(healthy)
        for cond in ("down", "hung"):
            rows.append(
                ratio_row(
                    NAME,
                    p99,
                    f"{kind}_{cond}",
                    f"{kind}_healthy",
                    label=f"p99 span, backend {cond}: {kind}",
                    target=target,
                )
            )
    notes.append(
        f"per-span wall time ({plan.latency_rounds} rounds x {plan.latency_spans} spans "
        f"paced at {plan.latency_rate:,.0f}/s in chunks of {plan.latency_chunk}, after "
        f"{plan.latency_warmup} warm-up spans), median over rounds, p50/p99/p99.9 us:"
    )
    for kind in ("ours", "otel"):
        parts = []
        for cond in ("healthy", "down", "hung"):
            rs = latency[f"{kind}_{cond}"]
            p50 = statistics.median(r["p50_us"] for r in rs)
            p99_ = statistics.median(r["p99_us"] for r in rs)
            p999 = statistics.median(r["p999_us"] for r in rs)
            parts.append(f"{cond} {p50:.1f}/{p99_:.1f}/{p999:.1f}")
        notes.append(f"  {kind}: " + ", ".join(parts))
    # The healthy runs reached the sink, the hung ones held connections to the silent port,
    # the down ones reached neither.
    conditions_ok = all(
        (r["sink_spans"] > 0) == name.endswith("_healthy")
        and (r["hung_connections"] > 0) == name.endswith("_hung")
        for name, rs in latency.items()
        for r in rs
    )
    if not conditions_ok:
        notes.append("WARNING: a latency run did not meet the backend condition it was meant to")
    lat_dropped = {
        name: [r["dropped"] for r in rs] for name, rs in latency.items() if name.startswith("ours")
    }

    checks.update(
        otel_all_delivered=otel_complete,
        ours_all_delivered=ours_complete,
        ours_burst_lost=ours_lost,
        ours_burst_dropped=ours_dropped,
        otel_default_burst_lost=otel_lost,
        ours_latency_dropped=lat_dropped,
        latency_conditions_ok=conditions_ok,
        ok=otel_complete and ours_complete and burst_ok and conditions_ok,
    )
    samples: dict[str, list[float]] = {
        f"throughput_{kind}_spans_per_s": [rate(r) for r in rs] for kind, rs in throughput.items()
    }
    samples.update(
        {f"latency_{name}_p99_us": [r["p99_us"] for r in rs] for name, rs in latency.items()}
    )
    samples.update(
        {f"latency_{name}_p50_us": [r["p50_us"] for r in rs] for name, rs in latency.items()}
    )
    settings = {
        "plan": plan.__dict__,
        "otel_queue": OTEL_QUEUE,
        "runs": {"throughput": throughput, "latency": latency},
    }
    return Report(NAME, rows, notes, checks, settings, samples)


def run(quick: bool = False) -> Report:
    return measure(QUICK if quick else FULL)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lifetime", type=float, default=900.0, help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=("ours", "otel", "otel_default"))
    parser.add_argument(
        "--solo",
        choices=("ours", "otel", "otel_default"),
        help="one throughput run of this contender against a fresh sink",
    )
    parser.add_argument("--mode", choices=("throughput", "latency"), default="throughput")
    parser.add_argument("--url")
    parser.add_argument("--spans", type=int, default=FULL.spans)
    parser.add_argument("--rate", type=float, default=FULL.latency_rate)
    parser.add_argument("--chunk", type=int, default=FULL.latency_chunk)
    parser.add_argument("--warmup", type=int, default=FULL.latency_warmup)
    parser.add_argument("--profile", help="write a cProfile here (and FILE.threads.txt)")
    args = parser.parse_args(argv)
    if args.sink:
        return _sink_main(args.lifetime)
    if args.contender:
        return _contender_main(args)
    if args.solo:
        return _solo(args)
    report = measure(QUICK if args.quick else FULL, log=lambda text: print(text, file=sys.stderr))
    for row in report.rows:
        median = "-" if row.median is None else f"{row.median:10.2f} {row.unit}"
        ratio = "" if row.ratio is None else f"  ratio {row.ratio:.3f}"
        print(f"{row.contender:48s} {median}{ratio} {row.status}")
    for note in report.notes:
        print(" ", note)
    return 0


def _solo(args: argparse.Namespace) -> int:
    """One throughput run, by hand (with ``--profile`` for a diagnosis)."""
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as workdir:
        sink = Sink(workdir)
        try:
            extra = ["--profile", os.path.abspath(args.profile)] if args.profile else []
            result = _run_contender(
                [
                    args.solo,
                    "--mode",
                    "throughput",
                    "--url",
                    sink.url,
                    "--spans",
                    str(args.spans),
                    *extra,
                ],
                workdir,
            )
            result["sink"] = sink.stats()
        finally:
            sink.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
